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


def _intervals(store: RunStore, run_id: str, indices: list[int]) -> list[np.ndarray] | None:
    """The per-interval counts of snapshots ``indices``, each read once; None when any is
    missing (or there are none)."""
    names = [_name(i) for i in indices]
    if not names or not all(store.has_array(run_id, name) for name in names):
        return None
    return [np.asarray(store.load_array(run_id, name), dtype=np.int64) for name in names]


def updates_received(store: RunStore, run_id: str, idx: int) -> np.ndarray | None:
    """Per vocabulary row, the optimiser steps whose batch held it, from the start up to
    snapshot ``idx`` (int64); None when the run has no counts for every snapshot up to it."""
    indices = [s["idx"] for s in store.get_run(run_id).snapshots if s["idx"] <= int(idx)]
    if not indices or indices[-1] != int(idx):
        raise ValueError(f"run {run_id} has no snapshot {idx}")
    intervals = _intervals(store, run_id, indices)
    return None if intervals is None else np.sum(intervals, axis=0)


def updates_per_frame(store: RunStore, run_id: str, rows,
                      n_frames: int | None = None) -> np.ndarray | None:
    """The "updates received" of ``rows`` at every snapshot (frame t = t-th snapshot; the
    first ``n_frames``): T x len(rows) int64, cumulative. None when the run recorded no
    counts. Each interval is read once (``updates_received`` per frame would re-read every
    earlier one: T^2 / 2 reads)."""
    indices = [s["idx"] for s in store.get_run(run_id).snapshots]
    intervals = _intervals(store, run_id,
                           indices if n_frames is None else indices[: int(n_frames)])
    if intervals is None:
        return None
    rows = np.asarray(rows, dtype=np.int64)
    return np.cumsum([counts[rows] for counts in intervals], axis=0)
