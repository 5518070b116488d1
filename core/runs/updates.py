"""How many optimiser steps touched each vocabulary row (contract A, issue 14).

The trainer saves ``snapshots/updates_<idx>`` with every snapshot: per row, the number of
steps since the previous snapshot whose batch contained it (once per step, however often the
row occurs in the batch; padding never; a frozen table all zeros; snapshot 0 all zeros).
Readers here add the intervals up. Runs without them (trained before the counts existed,
tracked runs that do not know their batches) give None, never zeros: "no record" and
"never updated" are different answers.
"""
from __future__ import annotations

import numpy as np

from core.store.runstore import RunStore


def _name(idx: int) -> str:
    return f"snapshots/updates_{int(idx):04d}"


def has_update_counts(store: RunStore, run_id: str) -> bool:
    """Whether the run recorded per-row update counts (checked on its first snapshot)."""
    snapshots = store.get_run(run_id).snapshots
    return bool(snapshots) and store.has_array(run_id, _name(snapshots[0]["idx"]))


def updates_received(store: RunStore, run_id: str, idx: int) -> np.ndarray | None:
    """Per vocabulary row, the optimiser steps whose batch held it, from the start up to
    snapshot ``idx`` (int64); None when the run has no counts for every snapshot up to it."""
    indices = [s["idx"] for s in store.get_run(run_id).snapshots if s["idx"] <= int(idx)]
    if not indices or indices[-1] != int(idx):
        raise ValueError(f"run {run_id} has no snapshot {idx}")
    total = None
    for i in indices:
        if not store.has_array(run_id, _name(i)):
            return None
        counts = np.asarray(store.load_array(run_id, _name(i)), dtype=np.int64)
        total = counts.copy() if total is None else total + counts
    return total


def word_updates(store: RunStore, run_id: str, idx: int, words) -> np.ndarray | None:
    """``updates_received`` at snapshot ``idx`` for ``words`` (vocabulary words, in that
    order); None when the run has no counts."""
    counts = updates_received(store, run_id, idx)
    if counts is None:
        return None
    tokens = store.load_vocab(run_id)["token"].astype(str).tolist()
    row = {w: i for i, w in enumerate(tokens)}
    return counts[np.array([row[w] for w in words], dtype=np.int64)]
