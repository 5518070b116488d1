"""Column detection: which column holds the texts and which the labels, when the user did
not say (text: long, varied strings; label: few distinct values, a name like "label")."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import DataError

LABEL_NAMES = ("label", "labels", "class", "category", "target", "y", "sentiment", "tag")


def missing(value: object) -> bool:
    """True for None/NaN/NA/NaT; False for anything else, including lists from JSON."""
    try:
        result = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(result) if isinstance(result, (bool, np.bool_)) else False


def _sample(s: pd.Series, n: int = 2_000) -> list:
    # detection only needs a feel for the column; the first rows keep it deterministic and cheap
    return [v for v in s.iloc[:n].tolist() if not missing(v)]


def is_textlike(s: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return False
    values = _sample(s)
    return bool(values) and sum(isinstance(v, str) for v in values) >= 0.9 * len(values)


def _nunique(s: pd.Series) -> int:
    try:
        return int(s.nunique(dropna=True))
    except TypeError:  # unhashable cells (lists/dicts from JSON or Parquet)
        return int(s.astype(str).nunique(dropna=True))


def _text_score(s: pd.Series) -> tuple[bool, float]:
    """(mostly distinct, mean length): free text is long and rarely repeats."""
    values = [str(v) for v in _sample(s)]
    distinct = len(set(values)) >= 0.5 * len(values)
    return distinct, sum(map(len, values)) / len(values)


def _label_score(s: pd.Series, name: str, max_classes: int) -> tuple[bool, bool, float]:
    """(usable class count, label-like name, -distinct share): few repeated values win."""
    n = _nunique(s)
    usable = 2 <= n <= max_classes
    return usable, name.strip().lower() in LABEL_NAMES, -n / max(len(s), 1)


def detect_columns(df: pd.DataFrame, max_classes: int = 100, *, text_column: str | None = None,
                   label_column: str | None = None) -> tuple[str, str]:
    """Pick ``(text_col, label_col)``; given names are checked and kept, the rest detected."""
    cols = [str(c) for c in df.columns]
    for given in (text_column, label_column):
        if given is not None and given not in cols:
            raise DataError(f"column '{given}' not found; available columns: "
                            + ", ".join(repr(c) for c in cols))
    if len(cols) < 2:
        raise DataError(f"need a text column and a label column, but found only one column "
                        f"({', '.join(repr(c) for c in cols)})")
    text = text_column or _detect_text(df, exclude=label_column)
    label = label_column or _detect_label(df, exclude=text, max_classes=max_classes)
    return text, label


def _detect_text(df: pd.DataFrame, exclude: str | None) -> str:
    candidates = [c for c in df.columns if c != exclude and is_textlike(df[c])]
    if not candidates:
        raise DataError("no text column found: every column holds numbers, dates or is empty "
                        f"(columns: {', '.join(repr(c) for c in df.columns)})")
    return max(candidates, key=lambda c: _text_score(df[c]))


def _detect_label(df: pd.DataFrame, exclude: str, max_classes: int) -> str:
    candidates = [c for c in df.columns if c != exclude]
    if not candidates:
        raise DataError(f"no label column found besides the text column '{exclude}'")
    # an unusable best pick is kept on purpose: the class checks then say what is wrong with it
    return max(candidates, key=lambda c: _label_score(df[c], c, max_classes))
