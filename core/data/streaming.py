"""Reading a labelled-text file of any size in batches: pyarrow's streaming readers (Parquet
row groups through ``ParquetFile.iter_batches``, ``pyarrow.csv.open_csv``,
JSON Lines in line batches), at most ``batch_size`` rows at a time, so memory depends on the
batch, never on the file. Columns are detected on the first batch with the loader's own
``detect_columns``, and every row is cleaned as the loader cleans it (empty texts and
missing labels dropped, texts cut at ``max_text_tokens`` words).

``core.data.mapped`` writes what this yields into a memory-mapped corpus.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.common.checks import bounded, check_fields
from core.data.loading import LoadConfig, as_label, as_text, cut_text, detect_columns
from core.errors import DataError

# Formats with a streaming reader; the others (xlsx, fastText, a JSON array) are read whole,
# within the upload caps, by ``core.data.loading``.
STREAM_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv",
                  ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_BLOCK_BYTES = 4 * 2**20  # most CSV/JSON text per pyarrow block
_ROW_BYTES = 512  # block bytes per row of the batch: a block holds about one batch


def _block_bytes(batch_size: int) -> int:
    return min(_BLOCK_BYTES, max(1 << 16, batch_size * _ROW_BYTES))


def _as_loader(name: str):
    """A field with the default and range of ``LoadConfig``'s (declared there once)."""
    f = {f.name: f for f in dataclasses.fields(LoadConfig)}[name]
    return dataclasses.field(default=f.default, metadata=f.metadata)


@dataclass(frozen=True)
class StreamConfig:
    """How a large file is streamed; ``None`` columns are detected on the first batch."""

    text_column: str | None = None
    label_column: str | None = None
    batch_size: int = bounded(65_536, 1, 1_000_000)  # rows per batch (memory per batch)
    max_classes: int = _as_loader("max_classes")
    max_text_tokens: int = _as_loader("max_text_tokens")  # words kept of each text
    max_text_chars: int = _as_loader("max_text_chars")

    def __post_init__(self) -> None:
        for name in ("text_column", "label_column"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"{name} must be None (detect) or a non-empty column name")
        check_fields(self)


@dataclass(frozen=True)
class Batch:
    """Usable rows of one batch: texts and label strings, and how many rows were read."""

    texts: list[str]
    labels: list[str]
    n_read: int


def stream_format(path: Path) -> str:
    """The streaming format of ``path`` from its extension (DataError for any other)."""
    fmt = STREAM_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise DataError(f"'{Path(path).name}' cannot be streamed: a large data set must be "
                        f"one of {', '.join(sorted(STREAM_FORMATS))}")
    return fmt


def _csv_batches(path: Path, delimiter: str, block: int) -> Iterator:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    parse = pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    read = pcsv.ReadOptions(block_size=block, use_threads=False)  # no read-ahead
    with pcsv.open_csv(path, read_options=read, parse_options=parse) as probe:
        names = probe.schema.names  # every column read as text: a block's guess can be wrong
    convert = pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                  strings_can_be_null=True)
    with pcsv.open_csv(path, read_options=read, parse_options=parse,
                       convert_options=convert) as reader:
        yield from reader


def _json_batches(path: Path, batch_size: int) -> Iterator:
    """JSON Lines in line batches: pyarrow's JSON reader fixes a column's type on its first
    block and fails on a label that is a number in one row and a string in another."""
    import pandas as pd

    records: list = []
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError(f"line {number} is not a JSON object")
            records.append(record)
            if len(records) == batch_size:
                yield pd.DataFrame.from_records(records)
                records = []
    if records:
        yield pd.DataFrame.from_records(records)


def _parquet_batches(path: Path, batch_size: int) -> Iterator:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as pf:
        yield from pf.iter_batches(batch_size=batch_size)


def record_batches(path: Path, fmt: str, batch_size: int) -> Iterator:
    """Frames of at most ``batch_size`` rows (CSV blocks are sliced)."""
    if fmt == "parquet":
        source = _parquet_batches(path, batch_size)
    elif fmt == "jsonl":
        source = _json_batches(path, batch_size)
    else:
        source = _csv_batches(path, "\t" if fmt == "tsv" else ",", _block_bytes(batch_size))
    try:
        for batch in source:
            frame = batch if fmt == "jsonl" else batch.to_pandas()
            for start in range(0, len(frame), batch_size):
                yield frame.iloc[start: start + batch_size]
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # ArrowInvalid is a ValueError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"'{Path(path).name}' could not be read as {fmt}: {first}") from None


def _columns(frame, config: StreamConfig) -> tuple[str, str]:
    return detect_columns(frame, config.max_classes, text_column=config.text_column,
                          label_column=config.label_column)


def batches(path: Path | str, config: StreamConfig = StreamConfig()
            ) -> tuple[tuple[str, str], Iterator[Batch]]:
    """``((text_column, label_column), batches)``: the columns detected on the first batch
    and an iterator over every batch's usable rows (the first batch included)."""
    path = Path(path)
    source = record_batches(path, stream_format(path), config.batch_size)
    first = next(source, None)
    if first is None or len(first) == 0:
        raise DataError(f"'{path.name}' holds no rows")
    columns = _columns(first, config)

    def rows() -> Iterator[Batch]:
        yield _clean(first, columns, config)
        for batch in source:
            yield _clean(batch, columns, config)

    return columns, rows()


def _clean(frame, columns: tuple[str, str], config: StreamConfig) -> Batch:
    if columns[0] not in frame.columns and columns[1] not in frame.columns:
        raise DataError(f"columns '{columns[0]}' and '{columns[1]}' are missing from a later "
                        "part of the file")
    # a JSON line without the key is a row without a value (dropped), as in the loader
    texts, labels = (frame[c].tolist() if c in frame.columns else [None] * len(frame)
                     for c in columns)
    kept_t, kept_l = [], []
    for raw_t, raw_l in zip(texts, labels):
        text, label = as_text(raw_t), as_label(raw_l)
        if text and label is not None:
            kept_t.append(cut_text(text, config.max_text_tokens, config.max_text_chars))
            kept_l.append(label)
    return Batch(kept_t, kept_l, len(frame))
