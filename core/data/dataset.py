"""The dataset types: how to read a file (``LoadConfig``), what reading it did
(``LoadReport``) and the validated result (``Dataset``)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common.checks import bounded, check_fields, check_int
from core.errors import DataError


NO_LABEL = "(no label)"  # the one class of a text-only file (LoadConfig.require_labels)


@dataclass(frozen=True)
class LoadConfig:
    """How to read a labelled-text file; ``None`` columns are detected."""

    text_column: str | None = None
    label_column: str | None = None
    max_bytes: int = bounded(200 * 1024 * 1024, 1, 2**40)
    max_rows: int = bounded(1_000_000, 1, 100_000_000)
    # Texts are cut at a number of words, so reviews and speeches stay whole; the character
    # cap only bounds a text without spaces (memory), far above any real document.
    max_text_tokens: int = bounded(20_000, 1, 10_000_000)
    max_text_chars: int = bounded(1_000_000, 1, 100_000_000)
    max_classes: int = bounded(100, 2, 10_000)
    min_rows: int = bounded(10, 2, 100_000_000)
    drop_duplicates: bool = False
    # False: a file with only a text column is a data set of one class, NO_LABEL (the
    # word2vec objective needs no labels; a classifier refuses one class)
    require_labels: bool = True
    # What a file may decode to, checked before the table is built: a few KB of Parquet,
    # Excel, CSV or JSON can describe gigabytes (repeated dictionary values, one far cell,
    # a wide header over short rows, a new key on every line).
    max_columns: int = bounded(1_000, 2, 100_000)
    max_cells: int = bounded(30_000_000, 1, 10**10)  # rows x columns (nested values count)
    max_text_bytes: int = bounded(256 * 2**20, 1, 2**40)  # text a Parquet/Excel file unpacks to

    def __post_init__(self) -> None:
        for name in ("text_column", "label_column"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"{name} must be None (detect) or a non-empty column name")
        if self.text_column is not None and self.text_column == self.label_column:
            raise ValueError("text_column and label_column must name different columns")
        check_fields(self)
        check_int("min_rows", self.min_rows, 2, self.max_rows)
        for name in ("drop_duplicates", "require_labels"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False")


@dataclass(frozen=True)
class LoadReport:
    """What loading did: format, encoding, columns used, rows read/dropped, class balance."""

    fmt: str
    encoding: str
    text_column: str
    label_column: str
    n_rows_read: int
    dropped: dict[str, int]
    class_counts: dict[str, int]
    n_truncated: int
    columns: tuple[str, ...]
    notes: tuple[str, ...] = ()  # human-readable remarks, e.g. "read only the first of 3 sheets"


@dataclass(frozen=True, eq=False)
class Dataset:
    """Texts with int64 label codes into ``classes``; ``labels`` is read-only."""

    texts: tuple[str, ...]
    labels: np.ndarray
    classes: tuple[str, ...]
    report: LoadReport

    def __post_init__(self) -> None:
        labels = np.array(self.labels, dtype=np.int64)  # copy: callers keep no writable alias
        labels.setflags(write=False)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "texts", tuple(self.texts))
        object.__setattr__(self, "classes", tuple(self.classes))
        if labels.ndim != 1 or len(labels) != len(self.texts):
            raise DataError(f"{len(self.texts)} texts but {labels.size} labels: they must match")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise DataError(f"label codes must lie in [0, {len(self.classes) - 1}]")

    def __setstate__(self, state: dict) -> None:
        # st.cache_data pickles datasets; unpickled arrays come back writable otherwise
        self.__dict__.update(state)
        self.labels.setflags(write=False)

    def __len__(self) -> int:
        return len(self.texts)

    def fingerprint(self) -> str:
        """sha256 hex over texts, labels and classes (identifies the data a run trained on)."""
        h = hashlib.sha256()
        # JSON framing keeps ("ab", "c") and ("a", "bc") apart
        h.update(json.dumps(self.texts, ensure_ascii=False).encode("utf-8"))
        h.update(self.labels.astype("<i8").tobytes())
        h.update(json.dumps(self.classes, ensure_ascii=False).encode("utf-8"))
        return h.hexdigest()

    @classmethod
    def from_lists(cls, texts: list[str], labels: list) -> Dataset:
        """Build a dataset in memory (tests, demos); labels become strings, classes sorted."""
        texts = [str(t) for t in texts]
        if len(texts) != len(labels):
            raise DataError(f"{len(texts)} texts but {len(labels)} labels: they must match")
        names = [str(x) for x in labels]
        classes, codes = encode_labels(names)
        counts = {c: int(n) for c, n in zip(classes, np.bincount(codes, minlength=len(classes)))}
        report = LoadReport("lists", "n/a", "text", "label", len(texts), {}, counts, 0,
                            ("text", "label"))
        return cls(tuple(texts), codes, classes, report)


def encode_labels(labels: list[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """Classes in sorted order and each label's code."""
    codes, classes = pd.factorize(np.asarray(labels, dtype=object), sort=True)
    return tuple(str(c) for c in classes), codes.astype(np.int64)
