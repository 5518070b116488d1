"""Which snapshot stands for a finished run when it is used whole (as another run's start,
or as one of the three spaces): the best epoch's (lowest validation loss), else the last
(a word2vec run or a tracked run has no validation loss)."""
from __future__ import annotations

from core.store.records import RunInfo


def best_or_last(run: RunInfo) -> int:
    """The snapshot index; ValueError for a run without snapshots."""
    if not run.n_snapshots:
        raise ValueError(f"run {run.run_id} has no snapshot")
    best = run.best()
    if best and best.get("snapshot") is not None:
        return int(best["snapshot"])
    return int(run.snapshots[-1]["idx"])
