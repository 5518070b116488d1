"""Labelled-text loading: one file (or uploaded bytes) in, one validated ``Dataset`` out.

Reads CSV, TSV, JSON Lines (and a JSON array of objects), Parquet, Excel (.xlsx, first sheet
only) and the fastText format (``__label__x some text``). The format comes from the file name's
extension; content sniffing decides when the extension is missing, unknown or ``.txt``.
Every problem a user can cause surfaces as a ``DataError`` whose message names the problem.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from core.common.checks import bounded, check_fields, check_int
from core.common.expansion import expansion_limit
from core.errors import DataError

_EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
    ".parquet": "parquet", ".pq": "parquet",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".ft": "fasttext", ".fasttext": "fasttext",
    ".txt": None,  # plain text: sniff between fastText and delimited
}
_BINARY_FORMATS = {"parquet", "xlsx"}
# Leading bytes of common binary files; a "text" upload that starts with one of these is refused
# before any parser (or decompressor) touches it.
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (or an Excel workbook)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"PAR1", "a Parquet file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls/.doc)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
)
_DELIMITERS = ("\t", ",", ";", "|")
_FT_PREFIX = "__label__"
_LABEL_NAMES = ("label", "labels", "class", "category", "target", "y", "sentiment", "tag")
# zipfile reports damaged archives through all of these (unknown versions, encryption, ...)
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
               RuntimeError)


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
        if not isinstance(self.drop_duplicates, bool):
            raise ValueError("drop_duplicates must be True or False")


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
        classes, codes = _encode(names)
        counts = {c: int(n) for c, n in zip(classes, np.bincount(codes, minlength=len(classes)))}
        report = LoadReport("lists", "n/a", "text", "label", len(texts), {}, counts, 0,
                            ("text", "label"))
        return cls(tuple(texts), codes, classes, report)


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
        _check_size(len(data), name, max_bytes)
        return data, name
    if not isinstance(source, (str, Path)):
        raise DataError(f"cannot read from a {type(source).__name__}: give a path or bytes")
    path = Path(source)
    name = filename or path.name
    try:
        _check_size(path.stat().st_size, name, max_bytes)
        if not path.is_file():
            raise DataError(f"'{path}' is not a file")
        return path.read_bytes(), name
    except FileNotFoundError:
        raise DataError(f"file not found: '{path}'") from None
    except OSError as exc:
        raise DataError(f"cannot read '{path}': {exc.strerror or exc}") from None


def _check_size(n_bytes: int, name: str, max_bytes: int) -> None:
    if n_bytes > max_bytes:
        raise DataError(f"'{name}' is too large: {n_bytes:,} bytes, the limit is "
                        f"{max_bytes:,} bytes (max_bytes)")


def _magic(data: bytes) -> str | None:
    """A description of the binary file type ``data`` starts with, or None."""
    for prefix, what in _MAGIC:
        if data.startswith(prefix):
            return what
    return None


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode text: BOMs first, then UTF-8, cp1252, latin-1 (which accepts any byte)."""
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                     (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError as exc:
                raise DataError(f"'{name}' starts with a {enc} byte-order mark but cannot be "
                                f"decoded as {enc} (bad bytes at position {exc.start}); "
                                f"re-save it as UTF-8") from None
    if b"\x00" in data:
        # NUL never occurs in real text files outside UTF-16/32, which carry a BOM
        raise DataError(f"'{name}' is not a text file: it contains NUL bytes (binary data, "
                        f"or UTF-16 without a byte-order mark); save it as UTF-8 CSV")
    for enc in ("utf-8", "cp1252"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def _sniff_delimiter(text: str) -> tuple[str | None, int]:
    """The delimiter giving the most consistent field count (>1) over the first records."""
    best, best_score = None, (0.0, 0)
    sample = text[:64_000]
    for delim in _DELIMITERS:
        try:
            rows = [r for _, r in zip(range(50), csv.reader(io.StringIO(sample), delimiter=delim))]
        except csv.Error:
            continue
        rows = [r for r in rows[:-1] or rows if r]  # the last record may be cut mid-way
        widths = [len(r) for r in rows]
        if not widths:
            continue
        mode = max(set(widths), key=widths.count)
        score = (widths.count(mode) / len(widths), mode)
        if mode > 1 and score > best_score:
            best, best_score = delim, score
    return best, best_score[1]


def _sniff_text_format(text: str) -> str | None:
    """Guess fasttext / jsonl / json / csv / tsv from decoded content, or None."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first.startswith(_FT_PREFIX):
        return "fasttext"
    if first.startswith("{"):
        return "jsonl"
    if first.startswith("["):
        return "json"
    delim, _ = _sniff_delimiter(text)
    return None if delim is None else ("tsv" if delim == "\t" else "csv")


def _sniff_binary_format(data: bytes) -> str | None:
    if data.startswith(b"PAR1"):
        return "parquet"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return "xlsx" if "xl/workbook.xml" in zf.namelist() else None
        except _ZIP_ERRORS:
            return None
    return None


# ---------------------------------------------------------------- one reader per format


def _read_delimited(text: str, delim: str, name: str, config: LoadConfig) -> pd.DataFrame:
    """CSV/TSV via pandas; only empty cells count as missing (a class named "NA" is kept)."""
    width = _check_header(text, delim, name)
    _check_columns(name, width, config, f"has {width:,} columns in its header")
    # pandas gives every row the header's width (short rows are filled), so a wide header
    # over many short lines is a table of width x lines cells
    rows = min(_count_lines(text), config.max_rows + 1)
    _check_cells(name, width * rows, config, f"has {width:,} columns x {rows:,} lines")
    try:
        return pd.read_csv(io.StringIO(text), sep=delim, keep_default_na=False, na_values=[""],
                           nrows=config.max_rows + 1, skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"'{name}' is empty: no header and no rows") from None
    except (ValueError, csv.Error, OverflowError, MemoryError) as exc:
        # pandas' ParserError is a ValueError and names the offending line
        raise DataError(f"'{name}' could not be read as delimited text: {_first_line(exc)}") \
            from None


def _check_header(text: str, delim: str, name: str) -> int:
    """Refuse repeated column names, which pandas would silently rename to 'x.1'; returns
    the header's width (of its first MB: enough to tell a header too wide)."""
    try:
        header = next(csv.reader(io.StringIO(text[:1_000_000]), delimiter=delim), [])
    except csv.Error:
        return 1  # pandas reports the parse problem with a line number
    _check_unique([h.strip() for h in header], name)
    return max(len(header), 1)


def _count_lines(text: str) -> int:
    """Line count for \n, \r\n and lone \r endings (an upper bound on the records)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n") + 1


def _check_unique(names: list[str], name: str) -> None:
    seen, dupes = set(), []
    for col in names:
        if col in seen and col not in dupes:
            dupes.append(col)
        seen.add(col)
    if dupes:
        listed = ", ".join(repr(d) for d in dupes)
        raise DataError(f"'{name}' has duplicate column names: {listed}; rename them")


def _read_jsonl(text: str, name: str, config: LoadConfig) -> pd.DataFrame:
    """JSON Lines parsed line by line (pandas' reader cannot say which line is broken)."""
    records: list[dict] = []
    keys: set = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:
            # ValueError besides JSONDecodeError: integers over Python's 4300-digit limit
            msg = getattr(exc, "msg", None) or ("nested too deeply" if isinstance(
                exc, RecursionError) else "a number is too long")
            raise DataError(f"'{name}' line {lineno} is not valid JSON ({msg})") from None
        if not isinstance(record, dict):
            raise DataError(f"'{name}' line {lineno} is not a JSON object like "
                            f'{{"text": ..., "label": ...}}')
        # every distinct key is a column of every row: count them before pandas builds them
        keys.update(record)
        _check_columns(name, len(keys), config, f"line {lineno} brings the number of keys "
                       f"(columns) to {len(keys):,}")
        records.append(record)
        if len(records) > config.max_rows:
            _too_many_rows(name, config.max_rows)
    return _records_frame(records, len(keys), name, config)


def _records_frame(records: list[dict], n_keys: int, name: str,
                   config: LoadConfig) -> pd.DataFrame:
    """JSON objects as a frame, once rows x distinct keys is known to fit max_cells."""
    _check_cells(name, len(records) * n_keys, config,
                 f"has {len(records):,} records x {n_keys:,} distinct keys")
    return pd.DataFrame.from_records(records)


def _read_json_array(text: str, name: str, config: LoadConfig) -> pd.DataFrame:
    """A JSON array of objects (a common export next to JSON Lines)."""
    try:
        records = json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError: integers over 4300 digits
        where = f"line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "somewhere"
        raise DataError(f"'{name}' is not valid JSON ({where})") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise DataError(f"'{name}' must be JSON Lines or a JSON array of objects")
    if len(records) > config.max_rows:
        _too_many_rows(name, config.max_rows)
    keys = set().union(*records)
    _check_columns(name, len(keys), config, f"has {len(keys):,} distinct keys (columns)")
    return _records_frame(records, len(keys), name, config)


def _read_fasttext(text: str, name: str, max_rows: int) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """``__label__a [__label__b ...] text``: the first label is kept, the others are ignored."""
    rows, n_multi = [], 0
    for line in text.splitlines():
        tokens = line.split()
        if not tokens:
            continue
        labels = []
        while tokens and tokens[0].startswith(_FT_PREFIX):
            labels.append(tokens.pop(0)[len(_FT_PREFIX):])
        n_multi += len(labels) > 1
        rows.append((labels[0] if labels and labels[0] else None, " ".join(tokens)))
        if len(rows) > max_rows:
            _too_many_rows(name, max_rows)
    notes = ()
    if n_multi:
        notes = (f"{n_multi} fastText lines had several __label__ tokens; "
                 f"the first one was used as the label",)
    return pd.DataFrame(rows, columns=["label", "text"]), notes


def _read_parquet(data: bytes, name: str, config: LoadConfig) -> pd.DataFrame:
    """Parquet via pyarrow. Rows, columns, values and unpacked size come from the footer and
    the decoded text size from a dictionary-preserving read, all before the table is built."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(pa.BufferReader(data))
        _check_parquet_footer(pf, len(data), name, config)
        _check_parquet_text(data, pf, name, config)
        return pf.read().to_pandas()
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises many types (ArrowInvalid, OSError, ...) on corruption
        raise DataError(f"'{name}' is not a readable Parquet file: {_first_line(exc)}") from None


def _check_parquet_footer(pf, n_bytes: int, name: str, config: LoadConfig) -> None:
    """What the footer declares: rows, top-level columns, values (cells) and unpacked bytes."""
    meta = pf.metadata
    if meta.num_rows > config.max_rows:
        _too_many_rows(name, config.max_rows)
    _check_columns(name, len(pf.schema_arrow.names), config)
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    values = sum(g.column(j).num_values for g in groups for j in range(g.num_columns))
    _check_cells(name, values, config, "holds values (cells, nested items included)")
    unpacked = sum(g.total_byte_size for g in groups)
    if unpacked > expansion_limit(n_bytes):
        _bomb(name, unpacked, expansion_limit(n_bytes))


def _check_parquet_text(data: bytes, pf, name: str, config: LoadConfig) -> None:
    """Refuse a file whose strings decode to more than max_text_bytes.

    A dictionary page lets one value stand for any number of rows, so the footer's unpacked
    size says nothing about the decoded text. Reading the string columns as dictionaries
    costs only the dictionary plus 4 bytes per value (bounded by max_cells); the decoded
    size is then each value's length summed over the rows that use it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pf.schema
    paths = [schema.column(i).path for i in range(pf.metadata.num_columns)
             if schema.column(i).physical_type == "BYTE_ARRAY"]
    if not paths:
        return
    as_dict = pq.ParquetFile(pa.BufferReader(data), read_dictionary=paths)
    total = 0
    for i in range(as_dict.metadata.num_row_groups):
        table = as_dict.read_row_group(i, columns=paths)
        total += sum(_text_bytes(chunk) for col in table.columns for chunk in col.chunks)
        _check_text_bytes(name, total, config, more=i + 1 < as_dict.metadata.num_row_groups)


def _text_bytes(arr) -> int:
    """Bytes of the strings in an Arrow array once decoded (dictionaries expanded), nested
    lists, maps and structs included."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = arr.type
    if pa.types.is_dictionary(kind):
        lengths = pc.take(pc.binary_length(arr.dictionary), arr.indices)
        return int(pc.sum(lengths).as_py() or 0)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or \
            pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return int(pc.sum(pc.binary_length(arr)).as_py() or 0)
    if pa.types.is_map(kind):
        return _text_bytes(arr.keys) + _text_bytes(arr.items)
    if pa.types.is_struct(kind):
        return sum(_text_bytes(field) for field in arr.flatten())
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or \
            pa.types.is_fixed_size_list(kind):
        return _text_bytes(arr.flatten())
    return 0


def _read_xlsx(data: bytes, name: str,
               config: LoadConfig) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The first sheet of a workbook; the header row is checked for duplicates before use."""
    from pandas.io.parsers import TextParser

    _check_zip_expansion(data, name)
    sheets, rows = _xlsx_first_sheet(data, name, config)
    # the cells as pandas' own Excel reader hands them on: the same type inference follows
    # (header=None keeps duplicate header names visible: pandas would rename them)
    raw = TextParser(rows, header=None, skip_blank_lines=False).read() if rows \
        else pd.DataFrame()
    notes = ()
    if len(sheets) > 1:
        notes = (f"the workbook has {len(sheets)} sheets; only the first, "
                 f"'{sheets[0]}', was read",)
    if raw.empty:
        raise DataError(f"'{name}' is empty: its first sheet '{sheets[0]}' has no cells")
    header = [f"Unnamed: {i}" if pd.isna(h) else str(h).strip()
              for i, h in enumerate(raw.iloc[0])]
    _check_unique(header, name)
    df = raw.iloc[1:].reset_index(drop=True)
    df.columns = header
    return df.infer_objects(), notes


def _xlsx_first_sheet(data: bytes, name: str,
                      config: LoadConfig) -> tuple[list[str], list[list]]:
    """The sheet names and the first sheet's cells, read row by row in read-only mode."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True,
                                      keep_links=False)
        try:
            sheets = [sheet.title for sheet in book.worksheets]
            if not sheets:
                raise DataError(f"'{name}' has no worksheets")
            return sheets, _xlsx_rows(book.worksheets[0], name, config)
        finally:
            book.close()
    except DataError:
        raise
    except Exception as exc:  # openpyxl/zipfile/lxml raise many unrelated types on corruption
        raise DataError(f"'{name}' is not a readable Excel workbook: {_first_line(exc)}") \
            from None


def _xlsx_rows(sheet, name: str, config: LoadConfig) -> list[list]:
    """Rows of cells ("" when empty), trailing empties trimmed, padded to one width.

    The declared dimension (``A1:XFD1048576`` costs nothing to write) is ignored: openpyxl
    would pad every row to it. Width, cells and text are counted as rows arrive, so a far
    cell or a huge sheet is refused before the table is built."""
    sheet.reset_dimensions()
    rows: list[list] = []
    width = last = text = 0
    for number, cells in enumerate(sheet.iter_rows(), start=1):
        row = [_xlsx_value(cell) for cell in cells]
        while row and row[-1] == "":
            row.pop()
        if row:
            last = number
        width = max(width, len(row))
        _check_columns(name, width, config, f"row {number} reaches column {width:,}")
        _check_cells(name, number * width, config, f"has {number:,} rows x {width:,} columns")
        text += sum(len(v.encode("utf-8", "surrogatepass")) for v in row if isinstance(v, str))
        _check_text_bytes(name, text, config, more=True)
        rows.append(row)
        if number > config.max_rows + 1:  # the header plus one row too many is enough to say
            break
    return [row + [""] * (width - len(row)) for row in rows[:last]]


def _xlsx_value(cell) -> object:
    """A cell as pandas' Excel reader gives it: "" empty, NaN for errors, whole floats as int."""
    value = cell.value
    if value is None:
        return ""
    if cell.data_type == "e":
        return np.nan
    if cell.data_type == "n" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _check_zip_expansion(data: bytes, name: str) -> None:
    """Refuse workbooks whose parts inflate far beyond their size (zip bombs)."""
    limit = expansion_limit(len(data))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except _ZIP_ERRORS:
        raise DataError(f"'{name}' is not a readable Excel workbook: it is not a valid "
                        f".xlsx (zip) file") from None
    if total > limit:
        _bomb(name, total, limit)


def _bomb(name: str, total: int, limit: int) -> None:
    raise DataError(f"'{name}' expands to {total:,} bytes when unpacked, over the "
                    f"{limit:,}-byte limit: refusing it as a possible decompression bomb")


def _too_many_rows(name: str, max_rows: int) -> None:
    raise DataError(f"'{name}' has too many rows: more than {max_rows:,} (max_rows)")


def _check_columns(name: str, n_columns: int, config: LoadConfig, where: str = "") -> None:
    """Refuse a table wider than max_columns (``where`` says where the count was reached)."""
    if n_columns > config.max_columns:
        where = where or f"has {n_columns:,} columns"
        raise DataError(f"'{name}' {where}; the limit is {config.max_columns:,} "
                        f"(max_columns)")


def _check_cells(name: str, n_cells: int, config: LoadConfig, what: str) -> None:
    """Refuse a table of more than max_cells cells; ``what`` says how they were counted."""
    if n_cells > config.max_cells:
        raise DataError(f"'{name}' {what} = {n_cells:,} cells; the limit is "
                        f"{config.max_cells:,} (max_cells)")


def _check_text_bytes(name: str, n_bytes: int, config: LoadConfig, more: bool = False) -> None:
    """Refuse a compressed file whose text decodes to more than max_text_bytes."""
    if n_bytes > config.max_text_bytes:
        amount = f"more than {config.max_text_bytes:,}" if more else f"{n_bytes:,}"
        raise DataError(f"'{name}' decodes to {amount} bytes of text; the limit is "
                        f"{config.max_text_bytes:,} bytes (max_text_bytes)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ---------------------------------------------------------------- dispatch


def _parse(data: bytes, name: str, config: LoadConfig) -> _Parsed:
    """Pick the format (extension, then content) and parse ``data`` into a raw frame."""
    if not data.strip():
        raise DataError(f"'{name}' is empty")
    ext = Path(name).suffix.lower()
    if ext == ".xls":
        raise DataError(f"'{name}' is an old .xls workbook: save it as .xlsx or CSV")
    fmt = _EXTENSIONS.get(ext)
    if fmt is None and ext not in _EXTENSIONS:
        fmt = _sniff_binary_format(data)
    if fmt == "parquet":
        return _Parsed(_read_parquet(data, name, config), "parquet", "binary", ())
    if fmt == "xlsx":
        df, notes = _read_xlsx(data, name, config)
        return _Parsed(df, "xlsx", "binary", notes)
    what = _magic(data)
    if what:
        raise DataError(f"'{name}' is not a text file: it looks like {what}")
    text, encoding = _decode(data, name)
    if not text.strip():
        raise DataError(f"'{name}' is empty")
    fmt = fmt or _sniff_text_format(text)
    if fmt is None:
        shown = ext or "no extension"
        raise DataError(f"'{name}' has an unknown format ({shown}) and its content is not "
                        f"recognisable as CSV, TSV, JSON Lines or fastText")
    df, notes = _parse_text(text, fmt, name, config)
    return _Parsed(df, fmt, encoding, notes)


def _parse_text(text: str, fmt: str, name: str,
                config: LoadConfig) -> tuple[pd.DataFrame, tuple[str, ...]]:
    if fmt == "fasttext":
        return _read_fasttext(text, name, config.max_rows)
    if fmt == "jsonl":
        return _read_jsonl(text, name, config), ()
    if fmt == "json":
        return _read_json_array(text, name, config), ()
    if fmt == "tsv":
        return _read_delimited(text, "\t", name, config), ()
    delim, _ = _sniff_delimiter(text)  # a ".csv" is often ';' or tab separated
    return _read_delimited(text, delim or ",", name, config), ()


def _check_frame(df: pd.DataFrame, name: str, max_rows: int) -> pd.DataFrame:
    """Checks every format shares: string column names, unique, some rows, not too many."""
    df = df.copy(deep=False)
    df.columns = [str(c) for c in df.columns]
    _check_unique(list(df.columns), name)
    if len(df.columns) == 0:
        raise DataError(f"'{name}' has no columns")
    if len(df) == 0:
        raise DataError(f"'{name}' has a header but no data rows")
    if len(df) > max_rows:
        _too_many_rows(name, max_rows)
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


# ---------------------------------------------------------------- column detection


def _missing(value: object) -> bool:
    """True for None/NaN/NA/NaT; False for anything else, including lists from JSON."""
    try:
        result = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(result) if isinstance(result, (bool, np.bool_)) else False


def _sample(s: pd.Series, n: int = 2_000) -> list:
    # detection only needs a feel for the column; the first rows keep it deterministic and cheap
    return [v for v in s.iloc[:n].tolist() if not _missing(v)]


def _is_textlike(s: pd.Series) -> bool:
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
    return usable, name.strip().lower() in _LABEL_NAMES, -n / max(len(s), 1)


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
    candidates = [c for c in df.columns if c != exclude and _is_textlike(df[c])]
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


# ---------------------------------------------------------------- rows to dataset


def _as_label(value: object) -> str | None:
    """Labels as strings; 1.0 (ints read next to a blank cell become floats) reads as "1"."""
    if _missing(value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _as_text(value: object) -> str:
    return "" if _missing(value) else str(value).strip()


def _clean(texts: pd.Series, labels: pd.Series,
           drop_duplicates: bool) -> tuple[list[str], list[str], dict[str, int]]:
    """Drop unusable rows; each dropped row is counted once under its first reason."""
    dropped = {"empty text": 0, "missing label": 0}
    if drop_duplicates:
        dropped["duplicate"] = 0
    kept_t, kept_l, seen = [], [], set()
    for raw_t, raw_l in zip(texts.tolist(), labels.tolist()):
        text, label = _as_text(raw_t), _as_label(raw_l)
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


def _cut(text: str, max_words: int, max_chars: int) -> str:
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
    cut = [_cut(t, max_words, max_chars) for t in texts]
    n = sum(len(a) != len(b) for a, b in zip(cut, texts))
    return (cut if n else texts), n


def _encode(labels: list[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """Classes in sorted order and each label's code."""
    codes, classes = pd.factorize(np.asarray(labels, dtype=object), sort=True)
    return tuple(str(c) for c in classes), codes.astype(np.int64)


def _check_rows(n_kept: int, n_read: int, dropped: dict[str, int], classes: tuple[str, ...],
                label_col: str, config: LoadConfig) -> None:
    if n_kept < config.min_rows:
        why = ", ".join(f"{k}: {v}" for k, v in dropped.items() if v) or "none dropped"
        raise DataError(f"too few rows: {n_kept} usable of {n_read} read ({why}); "
                        f"need at least {config.min_rows} (min_rows)")
    if len(classes) < 2:
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
    if config.text_column and not _is_textlike(parsed.df[text]):
        raise DataError(f"column '{text}' does not hold text (it holds numbers, dates or "
                        f"nothing); choose another text column")
    return text, label


def load_dataset(source: Path | str | bytes, filename: str | None = None,
                 config: LoadConfig = LoadConfig()) -> Dataset:
    """Read, pick columns, drop unusable rows, truncate long texts and encode labels."""
    parsed = _read_parsed(source, filename, config)
    text_col, label_col = _choose_columns(parsed, config)
    texts, labels, dropped = _clean(parsed.df[text_col], parsed.df[label_col],
                                    config.drop_duplicates)
    texts, n_truncated = _truncate(texts, config.max_text_tokens, config.max_text_chars)
    classes, codes = _encode(labels)
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
