"""The real clickbait data for benchmarks, read in place from ../shared (never copied)."""
from __future__ import annotations

import gzip
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "clickbait"
FILES = (("clickbait_data.gz", "clickbait"), ("non_clickbait_data.gz", "news"))


def load_rows() -> tuple[list[str], list[str]]:
    """All headlines and their labels, non-empty lines only."""
    texts, labels = [], []
    for fname, label in FILES:
        with gzip.open(DATA / fname, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    texts.append(line.strip())
                    labels.append(label)
    return texts, labels


def load_dataset():
    """The headlines as a core ``Dataset`` (two classes: clickbait, news)."""
    from core.data.dataset import Dataset

    return Dataset.from_lists(*load_rows())


def median_time(fn, reps: int) -> float:
    """Median wall-clock seconds of ``reps`` calls of ``fn``."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
