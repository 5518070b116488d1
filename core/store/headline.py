"""A stored run's headline: its chosen epoch (``RunInfo.best``), that epoch's accuracy and on
which texts the epoch was chosen and scored. One rule for the Train page, the Runs list and the
CLI; ``core.training.reporting`` writes the texts' names into the run's epochs and info."""
from __future__ import annotations

import math
from typing import Any

CHOSEN_ON = "lowest validation loss"
CHOSEN_ON_STOP = "lowest loss on the stopping part of validation"
SCORED_ON_SAME = "validation (used to choose the epoch)"
SCORED_ON_REPORT = "reporting part of validation (held apart from choosing the epoch)"


def epoch_score(row: dict[str, Any] | None) -> float:
    """An epoch row's headline accuracy: the reporting part's when measured, else the
    validation accuracy; NaN when the row has neither."""
    if not row:
        return math.nan
    value = row.get("report_accuracy", row.get("val_accuracy"))
    return math.nan if value is None else float(value)


def headline(run) -> dict[str, Any]:
    """What a run's headline says: its chosen epoch (``RunInfo.best``; the last epoch when no
    epoch has a validation loss, e.g. a tracked run that logged none), that epoch's accuracy,
    and on which texts the epoch was chosen and scored (accuracy None when that epoch logged
    none). Empty before the first epoch."""
    if not run.epochs:
        return {}
    rows = {e["epoch"]: e for e in run.epochs}
    best = run.best()
    epoch = best["epoch"] if best else run.epochs[-1]["epoch"]
    report, accuracy = "report_accuracy" in rows[epoch], epoch_score(rows[epoch])
    return {"epoch": int(epoch), "accuracy": None if math.isnan(accuracy) else accuracy,
            "chosen_on": (CHOSEN_ON_STOP if report else CHOSEN_ON) if best else "last epoch",
            "scored_on": SCORED_ON_REPORT if report else SCORED_ON_SAME}
