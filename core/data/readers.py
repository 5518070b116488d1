"""One reader per format: decoded text or raw bytes in, a raw ``DataFrame`` out, every limit
of ``LoadConfig`` checked before pandas (or pyarrow, or openpyxl) builds the table."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd

from core.data.dataset import LoadConfig
from core.common.expansion import expansion_limit
from core.data.limits import (bomb, check_cells, check_columns, check_text_bytes, check_unique,
                              check_zip_expansion, too_many_rows)
from core.data.sniffing import FT_PREFIX, sniff_delimiter
from core.errors import DataError


def _read_delimited(text: str, delim: str, name: str, config: LoadConfig) -> pd.DataFrame:
    """CSV/TSV via pandas; only empty cells count as missing (a class named "NA" is kept)."""
    width = _check_header(text, delim, name)
    check_columns(name, width, config, f"has {width:,} columns in its header")
    # pandas gives every row the header's width (short rows are filled), so a wide header
    # over many short lines is a table of width x lines cells
    rows = min(_count_lines(text), config.max_rows + 1)
    check_cells(name, width * rows, config, f"has {width:,} columns x {rows:,} lines")
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
    check_unique([h.strip() for h in header], name)
    return max(len(header), 1)


def _count_lines(text: str) -> int:
    """Line count for \n, \r\n and lone \r endings (an upper bound on the records)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n") + 1




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
        check_columns(name, len(keys), config, f"line {lineno} brings the number of keys "
                       f"(columns) to {len(keys):,}")
        records.append(record)
        if len(records) > config.max_rows:
            too_many_rows(name, config.max_rows)
    return _records_frame(records, len(keys), name, config)


def _records_frame(records: list[dict], n_keys: int, name: str,
                   config: LoadConfig) -> pd.DataFrame:
    """JSON objects as a frame, once rows x distinct keys is known to fit max_cells."""
    check_cells(name, len(records) * n_keys, config,
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
        too_many_rows(name, config.max_rows)
    keys = set().union(*records)
    check_columns(name, len(keys), config, f"has {len(keys):,} distinct keys (columns)")
    return _records_frame(records, len(keys), name, config)


def _read_fasttext(text: str, name: str, max_rows: int) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """``__label__a [__label__b ...] text``: the first label is kept, the others are ignored."""
    rows, n_multi = [], 0
    for line in text.splitlines():
        tokens = line.split()
        if not tokens:
            continue
        labels = []
        while tokens and tokens[0].startswith(FT_PREFIX):
            labels.append(tokens.pop(0)[len(FT_PREFIX):])
        n_multi += len(labels) > 1
        rows.append((labels[0] if labels and labels[0] else None, " ".join(tokens)))
        if len(rows) > max_rows:
            too_many_rows(name, max_rows)
    notes = ()
    if n_multi:
        notes = (f"{n_multi} fastText lines had several __label__ tokens; "
                 f"the first one was used as the label",)
    return pd.DataFrame(rows, columns=["label", "text"]), notes


def read_parquet(data: bytes, name: str, config: LoadConfig) -> pd.DataFrame:
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
        too_many_rows(name, config.max_rows)
    check_columns(name, len(pf.schema_arrow.names), config)
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    values = sum(g.column(j).num_values for g in groups for j in range(g.num_columns))
    check_cells(name, values, config, "holds values (cells, nested items included)")
    unpacked = sum(g.total_byte_size for g in groups)
    if unpacked > expansion_limit(n_bytes):
        bomb(name, unpacked, expansion_limit(n_bytes))


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
        check_text_bytes(name, total, config, more=i + 1 < as_dict.metadata.num_row_groups)


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


def read_xlsx(data: bytes, name: str,
               config: LoadConfig) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The first sheet of a workbook; the header row is checked for duplicates before use."""
    from pandas.io.parsers import TextParser

    check_zip_expansion(data, name)
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
    check_unique(header, name)
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
        check_columns(name, width, config, f"row {number} reaches column {width:,}")
        check_cells(name, number * width, config, f"has {number:,} rows x {width:,} columns")
        text += sum(len(v.encode("utf-8", "surrogatepass")) for v in row if isinstance(v, str))
        check_text_bytes(name, text, config, more=True)
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__



def read_text(text: str, fmt: str, name: str,
                config: LoadConfig) -> tuple[pd.DataFrame, tuple[str, ...]]:
    if fmt == "fasttext":
        return _read_fasttext(text, name, config.max_rows)
    if fmt == "jsonl":
        return _read_jsonl(text, name, config), ()
    if fmt == "json":
        return _read_json_array(text, name, config), ()
    if fmt == "tsv":
        return _read_delimited(text, "\t", name, config), ()
    if fmt == "lines":  # texts without labels, one per line (a word2vec corpus)
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > config.max_rows:
            too_many_rows(name, config.max_rows)
        return pd.DataFrame({"text": lines}), ("one text per line, no labels",)
    delim, _ = sniff_delimiter(text)  # a ".csv" is often ';' or tab separated
    return _read_delimited(text, delim or ",", name, config), ()
