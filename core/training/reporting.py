"""On which texts a run's epoch is chosen and on which it is scored: one rule for the trainer,
experiments, the CLI and the pages.

Early stopping keeps the epoch with the lowest validation loss. Scoring that epoch on the same
texts is optimistic (the choice peeked at them): on 40 seeds with 50-text validation sets the
optimism was +1.4 points on average. Experiments therefore split their fixed validation set
into a *stopping* part (chooses the epoch) and a *reporting* part (scores it), both fixed
across inits and seeds. A plain run has no reporting part: its headline is labelled
"validation (used to choose the epoch)". A run's headline is always its chosen epoch, the
same number on the Train page, in the Runs list and in the CLI (``core.store.headline``, the
rule read from a stored run, below the layers that show it).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.errors import DataError
from core.store.headline import CHOSEN_ON, CHOSEN_ON_STOP, SCORED_ON_REPORT, SCORED_ON_SAME


def split_reporting(labels: np.ndarray, val_idx: np.ndarray, fraction: float,
                    seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(stopping rows, reporting rows) of the validation rows ``val_idx``: ``fraction`` of
    each class (rounded, at least one row in each part) held apart for reporting, drawn with
    ``seed``; both sorted. A DataError when the set is too small to hold both parts."""
    val_idx = np.asarray(val_idx)
    if len(val_idx) < 2:
        raise DataError(f"The validation set has {len(val_idx)} text(s): too few to hold "
                        f"apart a reporting part (report_fraction {fraction}); use 0 or more "
                        f"validation texts.")
    rng = np.random.default_rng([seed, 0xBE9])
    report = []
    for c in np.unique(labels[val_idx]):
        rows = rng.permutation(val_idx[labels[val_idx] == c])
        report.extend(rows[: int(round(fraction * len(rows)))])
    report = np.array(sorted(report), dtype=val_idx.dtype)
    if len(report) == 0:
        report = np.sort(rng.choice(val_idx, 1))
    if len(report) == len(val_idx):
        report = report[1:]
    return np.setdiff1d(val_idx, report), report


def validation_parts(report_mask: np.ndarray | None) -> dict[str, Any]:
    """The run.info keys saying how the validation set was used (sizes, chosen on, scored
    on); ``report_mask`` marks the validation rows held apart, or None."""
    if report_mask is None:
        return {"chosen_on": CHOSEN_ON, "scored_on": SCORED_ON_SAME}
    n_report = int(np.sum(report_mask))
    return {"n_stop": int(len(report_mask) - n_report), "n_report": n_report,
            "chosen_on": CHOSEN_ON_STOP, "scored_on": SCORED_ON_REPORT}


def validation_scores(losses: np.ndarray, hit: np.ndarray, report_mask: np.ndarray | None
                      ) -> tuple[float, float, dict[str, float]]:
    """From each validation row's loss and hit: the loss and accuracy on the rows that choose
    the epoch (all of them without a reporting part), and ``{"report_accuracy": ...}`` for the
    rows held apart (empty without)."""
    stop = ~report_mask if report_mask is not None else np.ones(len(hit), dtype=bool)
    n = max(int(stop.sum()), 1)
    extra = {} if report_mask is None else {"report_accuracy": float(hit[report_mask].mean())}
    return float(losses[stop].sum()) / n, float(hit[stop].sum()) / n, extra


def scored_rows(predictions: pd.DataFrame) -> pd.DataFrame:
    """The stored validation predictions that may score the run: its reporting part when it
    has one, else all of them."""
    if "report" in predictions:
        return predictions[predictions["report"].to_numpy(dtype=bool)]
    return predictions


def experiment_scoring(results: pd.DataFrame) -> str:
    """How an experiment's accuracies were measured, for a caption: on the reporting part
    (with its size) when held apart, else on the texts that chose the epoch."""
    n_report = (pd.to_numeric(results["n_report"], errors="coerce").dropna()
                if "n_report" in results else pd.Series(dtype=float))
    if len(n_report) and n_report.iloc[0] > 0:
        return (f"chosen on the stopping part of the validation set and measured on the "
                f"{int(n_report.iloc[0]):,} validation texts held apart from that choice")
    return "chosen and measured on the same validation texts (no reporting part held apart)"
