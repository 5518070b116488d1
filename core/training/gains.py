"""Paired gains of a few-shot experiment, and the rule that judges them.

The product's claim is a *difference*: "starting from pretrained vectors helps with few
examples". Within one experiment, runs with the same (size, seed) train on the same rows and
are scored on the same texts whatever their init, so they are *paired*: the gain of an init
over a baseline is the mean of the per-seed differences, with a Student-t interval over those
differences. Comparing each init's own interval (do they overlap?) is the wrong test: two
overlapping intervals can hide a paired difference far from zero.

Used by the Experiments page (sentences and a CSV), the CLI's JSON (``gains``) and the tests.
Accuracies are fractions; the sentence speaks in points (hundredths).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

# Which results column each gain is computed on (experiments.RESULT_COLUMNS).
GAIN_METRICS = {"accuracy": "best_epoch_accuracy", "unseen": "unseen_accuracy"}
GAIN_COLUMNS = ["metric", "init", "baseline", "size", "n_train", "mean", "low", "high",
                "n_seeds"]
DEFAULT_BASELINE = "random"


def _per_seed(done: pd.DataFrame, init: str, size: str, column: str) -> pd.Series:
    rows = done[(done["init"] == init) & (done["size"] == size)]
    return pd.Series(rows[column].to_numpy(dtype=float), index=rows["seed"].astype(int))


def _gain(base: pd.Series, other: pd.Series) -> tuple[float, float, float, int]:
    """Mean of the per-seed differences (seeds both have, finite), its 95 % t-interval, n."""
    from core.analysis.measures import mean_interval

    diff = (other - base).dropna()
    diff = diff[np.isfinite(diff)]
    n = len(diff)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(diff.mean())
    low, high = mean_interval(mean, float(diff.std(ddof=1)) if n > 1 else math.nan, n)
    return mean, low, high, n


def paired_gains(results: pd.DataFrame, metric: str = "accuracy",
                 baseline: str = DEFAULT_BASELINE) -> pd.DataFrame:
    """For each size and each init other than ``baseline``: the mean over seeds of (init's
    score - baseline's score, same size and seed), its 95 % interval and the seeds counted.
    ``metric`` is a key of ``GAIN_METRICS``; finished runs only; sizes in the order run.
    Empty when the baseline was not run."""
    column = GAIN_METRICS[metric]
    done = results[results["status"] == "done"]
    rows = []
    if baseline in set(done["init"]):
        for size in pd.unique(done["size"]):
            base = _per_seed(done, baseline, size, column)
            n_train = done.loc[done["size"] == size, "n_train"].iloc[0]
            for init in pd.unique(done["init"]):
                if init == baseline:
                    continue
                mean, low, high, n = _gain(base, _per_seed(done, init, size, column))
                rows.append([metric, init, baseline, str(size), int(n_train), mean, low, high, n])
    return pd.DataFrame(rows, columns=GAIN_COLUMNS)


def all_gains(results: pd.DataFrame, baseline: str = DEFAULT_BASELINE) -> pd.DataFrame:
    """``paired_gains`` of every metric in ``GAIN_METRICS``, one frame (the CSV export)."""
    return pd.concat([paired_gains(results, m, baseline) for m in GAIN_METRICS],
                     ignore_index=True)


def gain_is_real(low: float, high: float) -> bool:
    """The rule: a gain is real when its 95 % interval excludes zero (either side)."""
    return bool(np.isfinite(low) and np.isfinite(high) and (low > 0 or high < 0))


def gain_verdict(mean: float, low: float, high: float, n_seeds: int) -> str:
    """'+8.1 points, 95 % interval +4.0 to +12.2, 3 seeds: a real gain.' (or loss), or
    '...: with these seeds it may be chance.'; accuracies as fractions."""
    if not np.isfinite(mean):
        return "no paired runs to compare."
    if n_seeds < 2 or not np.isfinite(low):
        return (f"{100 * mean:+.1f} points from {n_seeds} seed: no interval, so it may be "
                f"chance.")
    said = (f"{100 * mean:+.1f} points, 95 % interval {100 * low:+.1f} to {100 * high:+.1f}, "
            f"{n_seeds} seeds")
    if gain_is_real(low, high):
        return f"{said}: a real {'gain' if mean > 0 else 'loss'}."
    return f"{said}: with these seeds it may be chance."


def gain_sentences(gains: pd.DataFrame, name=str) -> list[str]:
    """One sentence per row of ``paired_gains``: 'With 100 training texts, glove vs random:
    +8.1 points, ...'. ``name`` renders an init (the page escapes and bolds it)."""
    return [f"With {row.n_train:,} training texts, {name(row.init)} vs {name(row.baseline)}: "
            + gain_verdict(row.mean, row.low, row.high, row.n_seeds)
            for row in gains.itertuples(index=False)]


def gains_records(gains: pd.DataFrame) -> list[dict]:
    """The rows as plain dicts (NaN -> None) for JSON, each with its verdict: ``real`` (the
    interval excludes zero) and the sentence's ``verdict``."""
    out = []
    for row in gains.to_dict("records"):
        plain = {k: (None if isinstance(v, float) and not math.isfinite(v)
                     else v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        out.append({**plain, "real": gain_is_real(row["low"], row["high"]),
                    "verdict": gain_verdict(row["mean"], row["low"], row["high"],
                                            row["n_seeds"])})
    return out
