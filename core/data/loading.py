"""Labelled-text loading: one file (or uploaded bytes) in, one validated ``Dataset`` out.

Reads CSV, TSV, JSON Lines (and a JSON array of objects), Parquet, Excel (.xlsx, first sheet
only) and the fastText format (``__label__x some text``). The format comes from the file name's
extension; content sniffing decides when the extension is missing, unknown or ``.txt``.
Every problem a user can cause surfaces as a ``DataError`` whose message names the problem.

This module is the dispatch and the last step (rows to ``Dataset``); the pieces live beside it:
``dataset`` (the types), ``sniffing`` (format and encoding), ``readers`` (one per format),
``limits`` (the caps and bomb guards), ``columns`` (text/label column detection).
"""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from core.data.columns import detect_columns, is_textlike, missing
from core.data.dataset import NO_LABEL, Dataset, LoadConfig, LoadReport, encode_labels
from core.data.limits import check_size, check_unique, too_many_rows
from core.data.readers import read_parquet, read_text, read_xlsx
from core.data.sniffing import EXTENSIONS, decode, magic, sniff_binary_format, sniff_text_format
from core.errors import DataError


class _Parsed(NamedTuple):
    df: pd.DataFrame
    fmt: str
    encoding: str
    notes: tuple[str, ...]


# ---------------------------------------------------------------- bytes in, text or frame out


def _read_bytes(source: Path | str | bytes, filename: str | None,
                max_bytes: int) -> tuple[bytes, str]:
    """The raw bytes and a display name, refusing oversized input before reading it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = filename or "uploaded file"
        check_size(len(data), name, max_bytes)
        return data, name
    if not isinstance(source, (str, Path)):
        raise DataError(f"cannot read from a {type(source).__name__}: give a path or bytes")
    path = Path(source)
    name = filename or path.name
    try:
        check_size(path.stat().st_size, name, max_bytes)
        if not path.is_file():
            raise DataError(f"'{path}' is not a file")
        return path.read_bytes(), name
    except FileNotFoundError:
        raise DataError(f"file not found: '{path}'") from None
    except OSError as exc:
        raise DataError(f"cannot read '{path}': {exc.strerror or exc}") from None




def _parse(data: bytes, name: str, config: LoadConfig) -> _Parsed:
    """Pick the format (extension, then content) and parse ``data`` into a raw frame."""
    if not data.strip():
        raise DataError(f"'{name}' is empty")
    ext = Path(name).suffix.lower()
    if ext == ".xls":
        raise DataError(f"'{name}' is an old .xls workbook: save it as .xlsx or CSV")
    fmt = EXTENSIONS.get(ext)
    if fmt is None and ext not in EXTENSIONS:
        fmt = sniff_binary_format(data)
    if fmt == "parquet":
        return _Parsed(read_parquet(data, name, config), "parquet", "binary", ())
    if fmt == "xlsx":
        df, notes = read_xlsx(data, name, config)
        return _Parsed(df, "xlsx", "binary", notes)
    what = magic(data)
    if what:
        raise DataError(f"'{name}' is not a text file: it looks like {what}")
    text, encoding = decode(data, name)
    if not text.strip():
        raise DataError(f"'{name}' is empty")
    fmt = fmt or sniff_text_format(text) or (None if config.require_labels else "lines")
    if fmt is None:
        shown = ext or "no extension"
        raise DataError(f"'{name}' has an unknown format ({shown}) and its content is not "
                        f"recognisable as CSV, TSV, JSON Lines or fastText (plain text, one "
                        f"text per line, is read for word2vec runs, which need no labels)")
    df, notes = read_text(text, fmt, name, config)
    return _Parsed(df, fmt, encoding, notes)


def _check_frame(df: pd.DataFrame, name: str, max_rows: int) -> pd.DataFrame:
    """Checks every format shares: string column names, unique, some rows, not too many."""
    df = df.copy(deep=False)
    df.columns = [str(c) for c in df.columns]
    check_unique(list(df.columns), name)
    if len(df.columns) == 0:
        raise DataError(f"'{name}' has no columns")
    if len(df) == 0:
        raise DataError(f"'{name}' has a header but no data rows")
    if len(df) > max_rows:
        too_many_rows(name, max_rows)
    return df


def read_frame(source: Path | str | bytes, filename: str | None = None,
               config: LoadConfig = LoadConfig()) -> tuple[pd.DataFrame, str, str]:
    """Read a file or bytes into a DataFrame; returns ``(df, fmt, encoding)``."""
    parsed = _read_parsed(source, filename, config)
    return parsed.df, parsed.fmt, parsed.encoding


def _read_parsed(source: Path | str | bytes, filename: str | None,
                 config: LoadConfig) -> _Parsed:
    data, name = _read_bytes(source, filename, config.max_bytes)
    parsed = _parse(data, name, config)
    return parsed._replace(df=_check_frame(parsed.df, name, config.max_rows))



def as_label(value: object) -> str | None:
    """Labels as strings; 1.0 (ints read next to a blank cell become floats) reads as "1"."""
    if missing(value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def as_text(value: object) -> str:
    """A text cell as a stripped string ("" when missing); the streamed reader shares it."""
    return "" if missing(value) else str(value).strip()


def _clean(texts: pd.Series, labels: pd.Series,
           drop_duplicates: bool) -> tuple[list[str], list[str], dict[str, int]]:
    """Drop unusable rows; each dropped row is counted once under its first reason."""
    dropped = {"empty text": 0, "missing label": 0}
    if drop_duplicates:
        dropped["duplicate"] = 0
    kept_t, kept_l, seen = [], [], set()
    for raw_t, raw_l in zip(texts.tolist(), labels.tolist()):
        text, label = as_text(raw_t), as_label(raw_l)
        if not text:
            dropped["empty text"] += 1
        elif label is None:
            dropped["missing label"] += 1
        elif drop_duplicates and (text, label) in seen:
            dropped["duplicate"] += 1
        else:
            if drop_duplicates:
                seen.add((text, label))
            kept_t.append(text)
            kept_l.append(label)
    return kept_t, kept_l, dropped


_WORD = re.compile(r"\S+")


def cut_text(text: str, max_words: int, max_chars: int) -> str:
    text = text[:max_chars]
    if len(text) <= max_words:  # fewer characters than the cap: fewer words too
        return text
    for n, match in enumerate(_WORD.finditer(text), start=1):
        if n == max_words:
            return text[: match.end()]
    return text


def _truncate(texts: list[str], max_words: int, max_chars: int) -> tuple[list[str], int]:
    """Texts cut after ``max_words`` whitespace-separated words (and ``max_chars``
    characters), and how many were cut."""
    cut = [cut_text(t, max_words, max_chars) for t in texts]
    n = sum(len(a) != len(b) for a, b in zip(cut, texts))
    return (cut if n else texts), n


def _check_rows(n_kept: int, n_read: int, dropped: dict[str, int], classes: tuple[str, ...],
                label_col: str, config: LoadConfig) -> None:
    if n_kept < config.min_rows:
        why = ", ".join(f"{k}: {v}" for k, v in dropped.items() if v) or "none dropped"
        raise DataError(f"too few rows: {n_kept} usable of {n_read} read ({why}); "
                        f"need at least {config.min_rows} (min_rows)")
    if len(classes) < 2 and config.require_labels:
        raise DataError(f"label column '{label_col}' has a single class ({classes[0]!r}); "
                        f"a classifier needs at least 2 classes")
    if len(classes) > config.max_classes:
        raise DataError(f"label column '{label_col}' has too many classes: {len(classes)}, "
                        f"the limit is {config.max_classes} (max_classes)")


def _choose_columns(parsed: _Parsed, config: LoadConfig) -> tuple[str, str]:
    # fastText has fixed columns; detection there could only go wrong
    if parsed.fmt == "fasttext" and config.text_column is None and config.label_column is None:
        return "text", "label"
    text, label = detect_columns(parsed.df, config.max_classes, text_column=config.text_column,
                                 label_column=config.label_column)
    if config.text_column and not is_textlike(parsed.df[text]):
        raise DataError(f"column '{text}' does not hold text (it holds numbers, dates or "
                        f"nothing); choose another text column")
    return text, label


def load_dataset(source: Path | str | bytes, filename: str | None = None,
                 config: LoadConfig = LoadConfig()) -> Dataset:
    """Read, pick columns, drop unusable rows, truncate long texts and encode labels."""
    parsed = _read_parsed(source, filename, config)
    if not config.require_labels and len(parsed.df.columns) == 1:  # texts only: one class
        parsed.df[NO_LABEL] = NO_LABEL
        config = replace(config, label_column=NO_LABEL)
    text_col, label_col = _choose_columns(parsed, config)
    texts, labels, dropped = _clean(parsed.df[text_col], parsed.df[label_col],
                                    config.drop_duplicates)
    texts, n_truncated = _truncate(texts, config.max_text_tokens, config.max_text_chars)
    classes, codes = encode_labels(labels)
    n_read = len(parsed.df)
    _check_rows(len(texts), n_read, dropped, classes, label_col, config)
    counts = np.bincount(codes, minlength=len(classes))
    report = LoadReport(
        fmt=parsed.fmt, encoding=parsed.encoding, text_column=text_col, label_column=label_col,
        n_rows_read=n_read, dropped=dropped,
        class_counts={c: int(n) for c, n in zip(classes, counts)},
        n_truncated=n_truncated, columns=tuple(parsed.df.columns), notes=parsed.notes)
    return Dataset(tuple(texts), codes, classes, report)


def dataset_summary(ds: Dataset) -> pd.DataFrame:
    """Class balance for display: one row per class with ``class``, ``count``, ``share``."""
    counts = np.bincount(ds.labels, minlength=len(ds.classes))
    total = max(int(counts.sum()), 1)
    return pd.DataFrame({"class": list(ds.classes), "count": counts.astype(np.int64),
                         "share": counts / total})
