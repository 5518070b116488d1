"""core/data/loading.py: every format, column detection, encodings, the drop report, bad inputs."""
from __future__ import annotations

import codecs
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.data.loading import (Dataset, LoadConfig, LoadReport, dataset_summary, detect_columns,
                       load_dataset, read_frame)
from core.errors import DataError
from tests.hostile.corpus import zip_bytes


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["text", "label"])


def _csv_bytes(rows, **kwargs) -> bytes:
    return _frame(rows).to_csv(index=False, **kwargs).encode("utf-8")


def _assert_twenty(ds: Dataset, fmt: str) -> None:
    assert ds.report.fmt == fmt
    assert ds.classes == ("neg", "pos")
    assert len(ds.texts) == 20
    assert ds.texts[0] == "a good film with great acting"
    assert ds.labels.tolist() == [1] * 10 + [0] * 10
    assert ds.report.class_counts == {"neg": 10, "pos": 10}


# ---------------------------------------------------------------- one test per format


def test_csv(tiny_csv):
    ds = load_dataset(tiny_csv)
    _assert_twenty(ds, "csv")
    assert (ds.report.text_column, ds.report.label_column) == ("text", "label")
    assert ds.report.encoding == "utf-8"


def test_tsv(tmp_path, twenty_lines):
    path = tmp_path / "data.tsv"
    _frame(twenty_lines).to_csv(path, sep="\t", index=False)
    _assert_twenty(load_dataset(path), "tsv")


@pytest.mark.parametrize("sep", ["\t", ";"], ids=["tab", "semicolon"])
def test_csv_extension_sniffs_delimiter(tmp_path, twenty_lines, sep):
    path = tmp_path / "data.csv"
    _frame(twenty_lines).to_csv(path, sep=sep, index=False)
    ds = load_dataset(path)
    assert ds.report.columns == ("text", "label")
    assert ds.classes == ("neg", "pos")


def test_jsonl(tmp_path, twenty_lines):
    path = tmp_path / "data.jsonl"
    _frame(twenty_lines).to_json(path, orient="records", lines=True)
    _assert_twenty(load_dataset(path), "jsonl")


def test_json_array(tmp_path, twenty_lines):
    path = tmp_path / "data.json"
    path.write_text(json.dumps([{"text": t, "label": lab} for t, lab in twenty_lines]))
    _assert_twenty(load_dataset(path), "json")


def test_parquet(tmp_path, twenty_lines):
    path = tmp_path / "data.parquet"
    _frame(twenty_lines).to_parquet(path, index=False)
    ds = load_dataset(path)
    _assert_twenty(ds, "parquet")
    assert ds.report.encoding == "binary"


def test_xlsx_reads_first_sheet_only_and_says_so(tmp_path, twenty_lines):
    path = tmp_path / "data.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        _frame(twenty_lines).to_excel(writer, sheet_name="reviews", index=False)
        pd.DataFrame({"other": [1, 2]}).to_excel(writer, sheet_name="notes", index=False)
    ds = load_dataset(path)
    _assert_twenty(ds, "xlsx")
    assert any("2 sheets" in n and "'reviews'" in n for n in ds.report.notes)


def test_fasttext_txt_sniffed_and_first_label_taken(tmp_path, twenty_lines):
    lines = [f"__label__{lab} {text}" for text, lab in twenty_lines]
    lines[0] = "__label__pos __label__neg a good film with great acting"
    path = tmp_path / "data.txt"
    path.write_text("\n".join(lines) + "\n")
    ds = load_dataset(path)
    _assert_twenty(ds, "fasttext")
    assert any("first one was used" in n and n.startswith("1 ") for n in ds.report.notes)


def test_fasttext_extension(tmp_path, twenty_lines):
    path = tmp_path / "data.ft"
    path.write_text("".join(f"__label__{lab} {text}\n" for text, lab in twenty_lines))
    _assert_twenty(load_dataset(path), "fasttext")


def test_uploaded_bytes_with_filename(twenty_lines):
    ds = load_dataset(_csv_bytes(twenty_lines), filename="upload.csv")
    _assert_twenty(ds, "csv")


def test_bytes_without_filename_are_sniffed(twenty_lines):
    csv_ds = load_dataset(_csv_bytes(twenty_lines))
    _assert_twenty(csv_ds, "csv")
    buf = io.BytesIO()
    _frame(twenty_lines).to_parquet(buf, index=False)
    _assert_twenty(load_dataset(buf.getvalue(), filename="upload.bin"), "parquet")


def test_read_frame_returns_frame_format_encoding(tiny_csv):
    df, fmt, encoding = read_frame(tiny_csv)
    assert list(df.columns) == ["text", "label"] and len(df) == 20
    assert (fmt, encoding) == ("csv", "utf-8")


# ---------------------------------------------------------------- detection and override


@pytest.fixture
def wide_frame(twenty_lines) -> pd.DataFrame:
    return pd.DataFrame({
        "id": range(20),
        "title": [t.split()[0] + " " + t.split()[-1] for t, _ in twenty_lines],
        "body": [t + " and more words here" for t, _ in twenty_lines],
        "source": ["web", "mail"] * 10,
        "label": [lab for _, lab in twenty_lines],
    })


def test_detect_columns_picks_long_text_and_label_named_column(wide_frame):
    assert detect_columns(wide_frame) == ("body", "label")


def test_detect_label_without_name_hint_prefers_fewest_values(twenty_lines):
    df = pd.DataFrame({"review": [t for t, _ in twenty_lines],
                       "rating": [1, 2, 3, 4, 5] * 4,
                       "polarity": [lab for _, lab in twenty_lines]})
    assert detect_columns(df) == ("review", "polarity")


def test_override_columns(tmp_path, wide_frame):
    path = tmp_path / "wide.csv"
    wide_frame.to_csv(path, index=False)
    ds = load_dataset(path, config=LoadConfig(text_column="title", label_column="source"))
    assert (ds.report.text_column, ds.report.label_column) == ("title", "source")
    assert ds.classes == ("mail", "web")
    assert ds.texts[0] == "a acting"
    assert ds.report.columns == ("id", "title", "body", "source", "label")


def test_wrong_override_lists_available_columns(tiny_csv):
    with pytest.raises(DataError, match=r"column 'body' not found; available columns: "
                                        r"'text', 'label'"):
        load_dataset(tiny_csv, config=LoadConfig(text_column="body"))


# ---------------------------------------------------------------- labels


def test_numeric_labels_become_strings(tmp_path, twenty_lines):
    df = _frame(twenty_lines)
    df["label"] = [1] * 10 + [0] * 10
    df.loc[19, "label"] = None  # a blank cell turns the int column into floats
    path = tmp_path / "numeric.csv"
    df.to_csv(path, index=False)
    ds = load_dataset(path)
    assert ds.classes == ("0", "1")
    assert ds.labels.dtype == np.int64
    assert ds.report.dropped["missing label"] == 1


def test_fifty_classes(tmp_path):
    rows = [(f"text number {i} about topic {i % 50}", i % 50) for i in range(150)]
    path = tmp_path / "fifty.csv"
    _frame(rows).to_csv(path, index=False)
    ds = load_dataset(path)
    assert len(ds.classes) == 50
    assert ds.classes == tuple(sorted(str(i) for i in range(50)))  # string order: "0","1","10"
    assert set(ds.report.class_counts.values()) == {3}
    assert ds.classes[ds.labels[10]] == "10"


# ---------------------------------------------------------------- encodings


def test_cp1252_file(tmp_path, twenty_lines):
    rows = [("café it’s good", "pos")] + twenty_lines[1:]
    path = tmp_path / "cp1252.csv"
    path.write_bytes(_frame(rows).to_csv(index=False).encode("cp1252"))
    ds = load_dataset(path)
    assert ds.report.encoding == "cp1252"
    assert ds.texts[0] == "café it’s good"


def test_utf8_bom(tmp_path, twenty_lines):
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + _csv_bytes(twenty_lines))
    ds = load_dataset(path)
    assert ds.report.encoding == "utf-8-sig"
    assert ds.report.columns == ("text", "label")  # the BOM is not glued to the first name


def test_utf16_with_bom(tmp_path, twenty_lines):
    path = tmp_path / "utf16.tsv"
    path.write_bytes(_frame(twenty_lines).to_csv(index=False, sep="\t").encode("utf-16"))
    ds = load_dataset(path)
    assert ds.report.encoding == "utf-16"
    _assert_twenty(ds, "tsv")


def test_latin1_fallback(twenty_lines):
    # 0x81 is undefined in cp1252, so only latin-1 accepts this file
    data = _csv_bytes(twenty_lines).replace(b"the alps", b"the \x81lps")
    ds = load_dataset(data, filename="odd.csv")
    assert ds.report.encoding == "latin-1"


# ---------------------------------------------------------------- drop report and dataset


def test_drop_report(tmp_path, twenty_lines):
    rows = list(twenty_lines) + [("", "pos"), ("   ", "neg"), ("no label here", None),
                                 (twenty_lines[0][0], "pos"), ("x" * 50, "neg")]
    path = tmp_path / "drops.csv"
    _frame(rows).to_csv(path, index=False)
    cfg = LoadConfig(drop_duplicates=True, max_text_chars=40)
    ds = load_dataset(path, config=cfg)
    assert ds.report.n_rows_read == 25
    assert ds.report.dropped == {"empty text": 2, "missing label": 1, "duplicate": 1}
    assert len(ds) == 21
    assert ds.report.n_truncated == 1
    assert ds.texts[-1] == "x" * 40
    assert ds.report.class_counts == {"neg": 11, "pos": 10}


def test_duplicates_kept_by_default(twenty_lines):
    rows = list(twenty_lines) + [twenty_lines[0]]
    ds = load_dataset(_csv_bytes(rows), filename="d.csv")
    assert len(ds) == 21 and "duplicate" not in ds.report.dropped


def test_dataset_is_read_only_and_fingerprinted(tiny_csv):
    ds = load_dataset(tiny_csv)
    assert ds.labels.dtype == np.int64 and not ds.labels.flags.writeable
    with pytest.raises(ValueError):
        ds.labels[0] = 1
    with pytest.raises(AttributeError):
        ds.texts = ()
    fp = ds.fingerprint()
    assert len(fp) == 64 and fp == load_dataset(tiny_csv).fingerprint()
    flipped = Dataset.from_lists(ds.texts, [ds.classes[1 - c] for c in ds.labels])
    assert flipped.fingerprint() != fp
    assert isinstance(ds.report, LoadReport)
    copy = pickle.loads(pickle.dumps(ds))
    assert copy.fingerprint() == fp and not copy.labels.flags.writeable


def test_from_lists_and_summary(twenty_lines):
    texts, labels = zip(*twenty_lines[:15])
    ds = Dataset.from_lists(list(texts), list(labels))
    assert ds.classes == ("neg", "pos") and ds.labels.tolist() == [1] * 10 + [0] * 5
    summary = dataset_summary(ds)
    assert list(summary.columns) == ["class", "count", "share"]
    assert summary["count"].tolist() == [5, 10]
    assert summary["share"].tolist() == pytest.approx([1 / 3, 2 / 3])
    with pytest.raises(DataError, match="3 texts but 2 labels"):
        Dataset.from_lists(["a", "b", "c"], ["x", "y"])


# ---------------------------------------------------------------- bad inputs


def _jsonl_with_broken_line_3(rows) -> bytes:
    lines = [json.dumps({"text": t, "label": lab}) for t, lab in rows]
    lines[2] = '{"text": "unterminated, "label": "pos"}'
    return "\n".join(lines).encode()


def _numeric_only(rows) -> bytes:
    return pd.DataFrame({"a": range(20), "b": [0, 1] * 10}).to_csv(index=False).encode()


def _with_empty_texts(rows) -> bytes:
    return _csv_bytes([("", lab) if i < 12 else (t, lab) for i, (t, lab) in enumerate(rows)])


def _parquet_bomb(rows) -> bytes:
    buf = io.BytesIO()
    pd.DataFrame({"text": ["a" * 30_000_000], "label": ["pos"]}).to_parquet(
        buf, compression="zstd")
    return buf.getvalue()


# (source builder taking the twenty rows, filename, LoadConfig kwargs, message pattern)
BAD_INPUTS = [
    pytest.param(lambda r: codecs.BOM_UTF16_LE + "text,label\n".encode("utf-16-le") + b"x",
                 "bad.csv", {}, r"cannot be decoded as utf-16", id="undecodable-utf16"),
    pytest.param(lambda r: codecs.BOM_UTF8 + b"text,label\n\xff\xfe\xfa,pos\n", "bad.csv", {},
                 r"cannot be decoded as utf-8-sig", id="undecodable-utf8-bom"),
    pytest.param(_numeric_only, "nums.csv", {}, r"no text column found", id="no-text-column"),
    pytest.param(lambda r: _csv_bytes([(t, "pos") for t, _ in r]), "one.csv", {},
                 r"single class \('pos'\)", id="single-class"),
    pytest.param(lambda r: _csv_bytes(r[8:13]), "few.csv", {},
                 r"too few rows: 5 usable of 5 read.*at least 10", id="too-few-rows"),
    pytest.param(_with_empty_texts, "holes.csv", {},
                 r"too few rows: 8 usable of 20 read \(empty text: 12\)",
                 id="too-few-after-dropping"),
    pytest.param(_jsonl_with_broken_line_3, "b.jsonl", {}, r"line 3 is not valid JSON",
                 id="broken-json-line"),
    pytest.param(lambda r: b"PAR1" + b"\x01" * 64 + b"PAR1", "c.parquet", {},
                 r"not a readable Parquet file", id="corrupt-parquet"),
    pytest.param(lambda r: b"PK\x03\x04" + b"\x00" * 64, "c.xlsx", {},
                 r"not a readable Excel workbook", id="corrupt-xlsx"),
    pytest.param(lambda r: zip_bytes({"xl/workbook.xml": b"<x/>",
                                       "xl/sheet1.xml": b" " * 30_000_000}), "bomb.xlsx", {},
                 r"decompression bomb", id="xlsx-zip-bomb"),
    pytest.param(_parquet_bomb, "bomb.parquet", {}, r"decompression bomb", id="parquet-bomb"),
    pytest.param(_csv_bytes, "big.csv", {"max_bytes": 100}, r"too large: .* limit is 100 bytes",
                 id="too-large"),
    pytest.param(_csv_bytes, "long.csv", {"max_rows": 15, "min_rows": 2},
                 r"too many rows: more than 15", id="too-many-rows"),
    pytest.param(lambda r: _csv_bytes([(t, f"c{i}") for i, (t, _) in enumerate(r)]), "m.csv",
                 {"max_classes": 5}, r"too many classes: 20, the limit is 5",
                 id="too-many-classes"),
    pytest.param(lambda r: b"", "empty.csv", {}, r"'empty.csv' is empty", id="empty-file"),
    pytest.param(lambda r: b"\n \n\t\n", "blank.csv", {}, r"is empty", id="blank-file"),
    pytest.param(lambda r: b"text,label\n", "head.csv", {}, r"header but no data rows",
                 id="header-only"),
    pytest.param(lambda r: b"text,text,label\na,b,c\n", "dup.csv", {},
                 r"duplicate column names: 'text'", id="duplicate-columns"),
    pytest.param(lambda r: b"just some words\nand some more\n", "data.xyz", {},
                 r"unknown format \(\.xyz\)", id="unknown-extension"),
    pytest.param(lambda r: zip_bytes({"a.csv": _csv_bytes(r)}), "zipped.csv", {},
                 r"not a text file: it looks like a ZIP archive", id="zip-as-csv"),
    pytest.param(lambda r: b"text,label\n\x00\x01\x02,pos\n", "nul.csv", {},
                 r"not a text file: it contains NUL bytes", id="nul-bytes"),
    pytest.param(lambda r: _frame(r).to_csv(index=False).encode("utf-16-le"), "u16.csv", {},
                 r"UTF-16 without a byte-order mark", id="utf16-without-bom"),
    pytest.param(lambda r: b"text,label\na,b\nc,d,e,f\n", "ragged.csv", {},
                 r"could not be read as delimited text: .*line 3", id="ragged-csv"),
    pytest.param(lambda r: b"text\nhello\nworld\n", "onecol.csv", {}, r"only one column",
                 id="single-column"),
    pytest.param(_csv_bytes, "t.csv", {"label_column": "lbl"},
                 r"column 'lbl' not found; available columns: 'text', 'label'",
                 id="wrong-override"),
    pytest.param(_numeric_only, "t.csv", {"text_column": "a"}, r"column 'a' does not hold text",
                 id="numeric-text-override"),
    pytest.param(lambda r: b"\xd0\xcf\x11\xe0" + b"\x00" * 40, "old.xls", {}, r"old \.xls",
                 id="xls"),
]


@pytest.mark.parametrize("build, filename, cfg, match", BAD_INPUTS)
def test_bad_input_raises_specific_data_error(twenty_lines, build, filename, cfg, match):
    source = build(twenty_lines)
    with pytest.raises(DataError, match=match):
        load_dataset(source, filename=filename, config=LoadConfig(**cfg))


# ---------------------------------------------------------------- what a file decodes to
# Small files can describe huge tables (issue 13): each cap is checked before the table is
# built. The caps are lowered here so that small files show it; tests/hostile has the real
# sizes under a memory limit.


def _parquet(table, **kwargs) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf, store_schema=False, **kwargs)
    return buf.getvalue()


def _repeated_text_parquet(text: str, n: int) -> bytes:
    """``text`` on ``n`` rows, stored once in the dictionary page."""
    import pyarrow as pa

    labels = pa.DictionaryArray.from_arrays(pa.array(np.arange(n, dtype=np.int32) % 2),
                                            pa.array(["pos", "neg"]))
    texts = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)),
                                           pa.array([text]))
    return _parquet(pa.table({"text": texts, "label": labels}), compression="zstd")


def _nested_text_parquet() -> bytes:
    """A list<string> column whose one long item repeats on every row, next to short texts."""
    import pyarrow as pa

    n = 200
    long = pa.DictionaryArray.from_arrays(pa.array(np.zeros(3 * n, dtype=np.int32)),
                                          pa.array(["x" * 10_000]))
    tags = pa.ListArray.from_arrays(pa.array(np.arange(0, 3 * n + 1, 3, dtype=np.int32)), long)
    return _parquet(pa.table({"tags": tags, "text": [f"text {i}" for i in range(n)],
                              "label": ["a", "b"] * (n // 2)}))


def _xlsx(rows, far_cell: str | None = None, dimension: str | None = None) -> bytes:
    import re
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(list(row))
    if far_cell:
        book.active[far_cell] = "far"
    buf = io.BytesIO()
    book.save(buf)
    if dimension is None:
        return buf.getvalue()
    src = __import__("zipfile").ZipFile(buf)
    members = {n: src.read(n) for n in src.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    members[sheet] = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{dimension}"'.encode(),
                            members[sheet])
    return zip_bytes(members)


def _twenty_xlsx(rows, **kwargs) -> bytes:
    return _xlsx([("text", "label"), *rows], **kwargs)


def _jsonl_lines(records) -> bytes:
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


DECODED_TOO_LARGE = [
    pytest.param(lambda r: ",".join(["text", "label"] + [f"c{i}" for i in range(48)]).encode()
                 + b"\n" + _csv_bytes(r).split(b"\n", 1)[1], "wide.csv", {"max_columns": 40},
                 r"'wide.csv' has 50 columns in its header; the limit is 40 \(max_columns\)",
                 id="csv-header-columns"),
    pytest.param(lambda r: b"text,label,c\n" + b"a b,x\n" * 400, "tall.csv", {"max_cells": 1000},
                 r"has 3 columns x 40[12] lines = 1,20\d cells; the limit is 1,000 \(max_cells\)",
                 id="csv-cells"),
    pytest.param(lambda r: _jsonl_lines({"text": t, "label": lab, f"k{i}": i}
                                        for i, (t, lab) in enumerate(r)), "keys.jsonl",
                 {"max_columns": 10}, r"line 9 brings the number of keys \(columns\) to 11; "
                 r"the limit is 10 \(max_columns\)", id="jsonl-new-keys"),
    pytest.param(lambda r: _jsonl_lines([{"text": "t", "label": "l", "a": 1, "b": 2}]
                                        + [{"text": t, "label": lab} for t, lab in r] * 20),
                 "long.jsonl", {"max_cells": 1000},
                 r"has 401 records x 4 distinct keys = 1,604 cells; the limit is 1,000 "
                 r"\(max_cells\)", id="jsonl-cells"),
    pytest.param(lambda r: json.dumps([{"text": t, "label": lab, f"k{i}": i}
                                       for i, (t, lab) in enumerate(r)]).encode(), "keys.json",
                 {"max_columns": 10}, r"has 22 distinct keys \(columns\); the limit is 10",
                 id="json-array-keys"),
    pytest.param(lambda r: _repeated_text_parquet("word " * 1000, 2000), "rep.parquet",
                 {"max_text_bytes": 1_000_000},
                 r"'rep.parquet' decodes to 10,006,000 bytes of text; the limit is 1,000,000 "
                 r"bytes \(max_text_bytes\)", id="parquet-dictionary-text"),
    pytest.param(lambda r: _nested_text_parquet(), "nested.parquet",
                 {"max_text_bytes": 1_000_000}, r"decodes to 6,00\d,\d{3} bytes of text",
                 id="parquet-nested-dictionary-text"),
    pytest.param(lambda r: _repeated_text_parquet("w", 2000), "many.parquet", {"max_cells": 3000},
                 r"holds values \(cells, nested items included\) = 4,000 cells; the limit is "
                 r"3,000 \(max_cells\)", id="parquet-cells"),
    pytest.param(lambda r: _parquet(__import__("pyarrow").table(
                     {f"c{i}": [t for t, _ in r] for i in range(12)})), "wide.parquet",
                 {"max_columns": 10}, r"has 12 columns; the limit is 10 \(max_columns\)",
                 id="parquet-columns"),
    pytest.param(lambda r: _twenty_xlsx(r, far_cell="AZ3"), "far.xlsx", {"max_columns": 40},
                 r"'far.xlsx' row 3 reaches column 52; the limit is 40 \(max_columns\)",
                 id="xlsx-far-cell"),
    pytest.param(lambda r: _twenty_xlsx(r * 30), "tall.xlsx", {"max_cells": 1000},
                 r"has 501 rows x 2 columns = 1,002 cells; the limit is 1,000 \(max_cells\)",
                 id="xlsx-cells"),
    pytest.param(lambda r: _twenty_xlsx([("word " * 2000, lab) for _, lab in r] * 20),
                 "long.xlsx", {"max_text_bytes": 1_000_000},
                 r"decodes to more than 1,000,000 bytes of text; the limit is 1,000,000 bytes "
                 r"\(max_text_bytes\)", id="xlsx-text"),
]


@pytest.mark.parametrize("build, filename, cfg, match", DECODED_TOO_LARGE)
def test_decoded_size_is_capped_before_the_table_is_built(twenty_lines, build, filename, cfg,
                                                          match):
    with pytest.raises(DataError, match=match):
        load_dataset(build(twenty_lines), filename=filename, config=LoadConfig(**cfg))


def test_caps_let_ordinary_files_through(twenty_lines):
    """The defaults leave ordinary files alone: nested Parquet text, a mid-size table."""
    ds = load_dataset(_nested_text_parquet(), filename="nested.parquet")
    assert len(ds) == 200 and ds.report.columns == ("tags", "text", "label")
    rows = [(f"{t} {i}", lab) for i, (t, lab) in enumerate(twenty_lines * 50)]
    assert len(load_dataset(_csv_bytes(rows), "mid.csv",
                            LoadConfig(max_cells=2_004, max_columns=2))) == 1000


def test_xlsx_declared_dimension_is_ignored(twenty_lines):
    """A sheet may declare A1:XFD1048576 over a few cells: the real extent is read."""
    data = _twenty_xlsx(twenty_lines, dimension="A1:XFD1048576")
    ds = load_dataset(data, filename="grid.xlsx", config=LoadConfig(max_columns=2, max_cells=50))
    _assert_twenty(ds, "xlsx")


def test_xlsx_cells_read_as_pandas_reads_them(tmp_path):
    """The row-by-row reader hands on what pandas' own Excel reader did: whole floats as int,
    error cells and empty cells missing, dates and booleans as such, a gap row kept."""
    import datetime

    rows = [("text", "n", "x", "when", "flag"),
            ("a", 1.0, 2.5, datetime.datetime(2024, 1, 2), True),
            ("b", 3, None, None, False), (), ("NA", 4.0, "=1/0", None, None)]
    data = _xlsx(rows)
    ours, _, _ = read_frame(data, "cells.xlsx")
    # what the loader did before it read row by row: pandas, header row taken off after
    raw = pd.read_excel(io.BytesIO(data), engine="openpyxl", header=None)
    theirs = raw.iloc[1:].reset_index(drop=True)
    theirs.columns = [str(h) for h in raw.iloc[0]]
    pd.testing.assert_frame_equal(ours, theirs.infer_objects(), check_dtype=True)
    assert ours["text"].isna().tolist() == [False, False, True, True]  # "NA" as pandas reads it


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match=r"file not found: .*nope\.csv"):
        load_dataset(tmp_path / "nope.csv")


def test_size_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_bytes(b"text,label\n" + b"x,y\n" * 100)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read an oversized file"))
    with pytest.raises(DataError, match="too large"):
        load_dataset(path, config=LoadConfig(max_bytes=50))


@pytest.mark.parametrize("field, value", [
    ("max_bytes", 0), ("max_rows", 0), ("max_rows", True), ("max_text_chars", 0),
    ("max_classes", 1), ("min_rows", 1), ("min_rows", 2_000_000), ("text_column", ""),
    ("label_column", 3), ("drop_duplicates", "yes"), ("max_columns", 1), ("max_cells", 0),
    ("max_text_bytes", 0),
], ids=lambda v: str(v))
def test_load_config_validation(field, value):
    with pytest.raises(ValueError, match=field):
        LoadConfig(**{field: value})


def test_load_config_same_columns():
    with pytest.raises(ValueError, match="text_column and label_column"):
        LoadConfig(text_column="x", label_column="x")


# ---------------------------------------------------------------- property and end to end

_CSV_ALPHABET = st.sampled_from(list("ab ,;\t\"\n\r0123456789_é’{}[]:") + ["__label__"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2000),
                 st.lists(_CSV_ALPHABET, max_size=400).map(lambda xs: "".join(xs).encode())))
def test_any_bytes_as_csv_load_or_raise_data_error(data):
    try:
        ds = load_dataset(data, filename="fuzz.csv", config=LoadConfig(min_rows=2))
    except DataError as exc:
        assert str(exc)
    else:
        assert len(ds.classes) >= 2 and len(ds.texts) == len(ds.labels) >= 2


@pytest.mark.e2e
def test_clickbait_end_to_end(clickbait_csv):
    ds = load_dataset(clickbait_csv)
    assert (ds.report.text_column, ds.report.label_column) == ("headline", "label")
    assert ds.classes == ("clickbait", "news")
    assert 30_000 <= len(ds) <= 34_000
    assert ds.report.n_rows_read == len(ds) + sum(ds.report.dropped.values())
    shares = dataset_summary(ds)["share"]
    assert 0.4 < shares.min() <= shares.max() < 0.6


def test_long_texts_are_cut_by_words_not_characters():
    """A speech is cut after max_text_tokens words, keeping its own spacing; a text under the
    cap is untouched however many characters it has."""
    speech = " ".join(f"word{i}" for i in range(30))
    rows = [(speech, "a"), ("x" * 6_000 + " end", "b")] + [(f"text {i}", "ab"[i % 2])
                                                           for i in range(10)]
    ds = load_dataset(pd.DataFrame(rows, columns=["text", "label"]).to_csv(index=False).encode(),
                      "speeches.csv", LoadConfig(max_text_tokens=12))
    assert ds.texts[0] == " ".join(f"word{i}" for i in range(12))
    assert ds.texts[1] == "x" * 6_000 + " end"  # 2 words: kept whole (no 5,000-char cut)
    assert ds.report.n_truncated == 1
