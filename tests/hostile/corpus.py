"""The hostile-input corpus: bad (and awkward-but-valid) files generated in code, each with the
message a user must see. Nothing here is committed as a binary: every file is built on demand.

A ``Case`` is run through the core loaders by ``test_core_hostile.py`` and, for the cases marked
``browser``, through the real upload path in Chromium by ``tests/browser/test_reliability.py``.
``expect`` is a regular expression matched against the ``ExplorerError`` message, or, for files
that load (``ok=True``), against ``outcome(dataset)`` — the facts the Data page shows.
"""
from __future__ import annotations

import codecs
import functools
import io
import json
import pickle
import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROWS = [(f"{w} review number {i} about the {p}", lab)
        for i, (w, p, lab) in enumerate(
            [("good", "alps", "pos"), ("great", "lake", "pos"), ("bad", "river", "neg"),
             ("awful", "hotel", "neg")] * 6)]  # 24 rows, two classes
MARKER_ENV = "HOSTILE_MARKER"  # the pickle payloads create the file this names


@dataclass(frozen=True)
class Case:
    id: str
    kind: str                      # "data" (labelled text) or "vectors" (word-vector file)
    filename: str
    build: Callable[[], bytes]
    expect: str                    # regex: the error message, or outcome() when ok
    ok: bool = False
    config: dict = field(default_factory=dict)
    browser: bool = False          # in the representative subset uploaded through Chromium
    big: bool = False              # run under a memory limit in a subprocess
    seconds: float | None = None   # CPU-time budget of a big case (checked with its memory)

    def bytes(self) -> bytes:
        return _cached(self.id, self.build)


_CACHE: dict[str, bytes] = {}


def _cached(key: str, build: Callable[[], bytes]) -> bytes:
    if key not in _CACHE:
        _CACHE[key] = build()
    return _CACHE[key]


def outcome(ds) -> str:
    """One line of what the Data page reports for a loaded data set."""
    r = ds.report
    dropped = ", ".join(f"{k}: {v}" for k, v in r.dropped.items() if v) or "none"
    return (f"fmt={r.fmt} encoding={r.encoding} rows={len(ds)} classes={len(ds.classes)} "
            f"dropped=({dropped}) truncated={r.n_truncated} notes={' | '.join(r.notes)}")


# ------------------------------------------------------------------------------ builders
def csv_text(rows=ROWS, header=("text", "label"), sep=",", eol="\n") -> str:
    def cell(v: str) -> str:
        return f'"{v}"' if (sep in v or '"' in v) else v
    lines = [sep.join(header)] + [sep.join(cell(str(c)) for c in r) for r in rows]
    return eol.join(lines) + eol


def csv_bytes(rows=ROWS, **kw) -> bytes:
    return csv_text(rows, **kw).encode("utf-8")


def mixed_eol() -> bytes:
    lines = [csv_text(ROWS).splitlines()[0]] + csv_text(ROWS).splitlines()[1:]
    ends = ["\r\n", "\n", "\r"]
    return "".join(line + ends[i % 3] for i, line in enumerate(lines)).encode()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def zip_bomb() -> bytes:
    """A small zip that inflates to 200 MB of zeros, in 1 MB chunks (no 200 MB buffer here)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("data.csv", "w", force_zip64=True) as member:
            chunk = b"0" * 2**20
            for _ in range(200):
                member.write(chunk)
    return buf.getvalue()


def xlsx(sheets: dict[str, list[tuple]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def parquet_nested() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(ROWS)
    table = pa.table({
        "tokens": pa.array([t.split() for t, _ in ROWS]),            # list<string>
        "meta": pa.array([{"len": len(t), "src": "web"} for t, _ in ROWS]),  # struct
        "text": [t for t, _ in ROWS],
        "label": [lab for _, lab in ROWS],
        "scores": pa.array([{"a": float(i)} for i in range(n)],
                           type=pa.map_(pa.string(), pa.float64())),
    })
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def parquet_only_nested() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"tokens": pa.array([t.split() for t, _ in ROWS]),
                      "label": pa.array([[lab] for _, lab in ROWS])})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def jsonl(rows=ROWS, broken_line: int | None = None) -> bytes:
    lines = [json.dumps({"text": t, "label": lab}) for t, lab in rows]
    if broken_line is not None:
        lines[broken_line - 1] = '{"text": "cut off here, "label": '
    return ("\n".join(lines) + "\n").encode()


def parquet_dictionary_bomb() -> bytes:
    """One 99 KB text x 30,000 rows, dictionary-encoded and zstd-compressed: about 1 KB on disk,
    3 GB once decoded. No Arrow schema is stored, so a reader decodes the strings (as files
    from Spark or DuckDB make it do)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 30_000
    codes = pa.array(np.arange(n, dtype=np.int32) % 2)
    table = pa.table({
        "text": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)),
                                               pa.array(["word " * 19_800])),
        "label": pa.DictionaryArray.from_arrays(codes, pa.array(["pos", "neg"]))})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", store_schema=False)
    return buf.getvalue()


def _xlsx_rows(n_copies: int) -> list[tuple]:
    return [("text", "label")] + ROWS * n_copies


def xlsx_far_cell() -> bytes:
    """6,000 ordinary rows plus one cell at XFD1, the last column Excel has (16,384)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in _xlsx_rows(250):
        sheet.append(list(row))
    sheet["XFD1"] = "far"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def xlsx_declared_everything() -> bytes:
    """6,000 ordinary rows whose sheet declares the whole grid, A1:XFD1048576."""
    data = xlsx({"data": _xlsx_rows(250)})
    src = zipfile.ZipFile(io.BytesIO(data))
    members = {n: src.read(n) for n in src.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    members[sheet] = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"',
                            members[sheet])
    return zip_bytes(members)


def csv_wide_header(n_rows: int) -> bytes:
    """A header of 100,002 column names over ordinary two-field rows."""
    header = ",".join(["text", "label"] + [f"c{i}" for i in range(100_000)])
    rows = (ROWS * (n_rows // len(ROWS) + 1))[:n_rows]
    return (header + "\n" + csv_text(rows).split("\n", 1)[1]).encode()


def csv_wide_and_tall() -> bytes:
    """A 1,000-column header over 100,000 two-field rows (1.2 MB): pandas fills every row out
    to the header's width, 100 million cells."""
    header = ",".join(["text", "label"] + [f"c{i}" for i in range(998)])
    return (header + "\n" + "a b,x\nc d,y\n" * 50_000).encode()


def jsonl_new_key_per_line() -> bytes:
    """Every line adds a key no other line has: 16,000 lines become 16,000 columns."""
    lines = [json.dumps({"text": t, "label": lab, f"k{i}": i})
             for i, (t, lab) in enumerate(ROWS * 667)]
    return ("\n".join(lines) + "\n").encode()


def binary_garbage() -> bytes:
    import random

    rng = random.Random(7)
    return bytes(rng.randrange(256) for _ in range(64 * 1024))


def million_rows() -> bytes:
    return b"text,label\n" + b"a b,x\nc d,y\n" * 500_000


# ------------------------------------------------------------------------------ pickles
class Payload:
    """Unpickling this creates the marker file: proof that a loader executed pickle code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def pickle_payload(marker: str, protocol: int = 4) -> bytes:
    return pickle.dumps(Payload(marker), protocol=protocol)


def torch_zip_payload(marker: str) -> bytes:
    """What ``torch.save`` writes: a zip whose ``archive/data.pkl`` torch.load unpickles."""
    return zip_bytes({"archive/data.pkl": pickle_payload(marker, 2), "archive/version": b"3\n"})


def npy_object_payload(marker: str) -> bytes:
    import numpy as np

    arr = np.empty(1, dtype=object)
    arr[0] = Payload(marker)
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def pickle_cases(marker: str) -> list[Case]:
    """Pickle-based vector and data files; each would create ``marker`` if unpickled."""
    refused = r"loading it can run code, so it is refused|pickle"
    out = [Case(f"pickle-{name}", "vectors", name, functools.partial(build, marker), refused,
                browser=name == "model.pkl")
           for name, build in (
               ("vectors.model", lambda m: pickle_payload(m, 4)),
               ("vectors.kv", lambda m: pickle_payload(m, 3)),
               ("model.pkl", lambda m: pickle_payload(m, 5)),
               ("weights.pt", torch_zip_payload),
               ("weights.pth", lambda m: pickle_payload(m, 2)),
               ("array.npy", npy_object_payload),
           )]
    # the same payloads under text-looking names: refused by their bytes or fail to parse
    out += [Case("pickle-as-vec-p4", "vectors", "vectors.vec",
                 functools.partial(pickle_payload, marker, 4), r"is a Python pickle"),
            Case("pickle-as-txt-p0", "vectors", "vectors.txt",
                 functools.partial(pickle_payload, marker, 0), r"values|could not be read"),
            Case("pickle-as-bin-p2", "vectors", "vectors.bin",
                 functools.partial(pickle_payload, marker, 2), r"is a Python pickle"),
            Case("pickle-as-data-pkl", "data", "data.pkl",
                 functools.partial(pickle_payload, marker, 4), r"not a text file|unknown format"),
            Case("pickle-as-data-csv-p0", "data", "data.csv",
                 functools.partial(pickle_payload, marker, 0),
                 r"single class|too few rows|no text column|only one column|header but no")]
    return out


# ------------------------------------------------------------------------------ vector files
def vec(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def w2v_binary(words: list[str], dim: int, values=None, count=None) -> bytes:
    out = f"{count if count is not None else len(words)} {dim}\n".encode()
    for i, w in enumerate(words):
        row = values[i] if values else [float(i + j) for j in range(dim)]
        out += w.encode() + b" " + struct.pack(f"<{dim}f", *row) + b"\n"
    return out


VECTOR_CASES = [
    Case("vec-header-500M-x-300", "vectors", "huge.vec", lambda: b"500000000 300\nthe 0.1\n",
         r"header says 500,000,000 words; the limit is 500,000", browser=True, big=True),
    Case("vec-header-claims-more-than-file", "vectors", "liar.txt",
         lambda: b"400000 300\n" + b"the " + b"0.1 " * 299 + b"0.1\n",
         r"claims 400,000 words x 300 dimensions, which needs at least"),
    Case("vec-ragged-rows", "vectors", "ragged.txt",
         lambda: vec(["good 0.1 0.2 0.3", "bad 0.1 0.2", "fine 0.1 0.2 0.3"]),
         r"line 2 has 2 values, expected 3", browser=True),
    Case("vec-nan", "vectors", "nan.txt",
         lambda: vec(["good 0.1 0.2 0.3", "bad 0.1 nan 0.3"]),
         r"line 2 \(word 'bad'\) has NaN or infinite values"),
    Case("vec-inf", "vectors", "inf.vec",
         lambda: vec(["2 3", "good 0.1 0.2 0.3", "bad inf 0.2 0.3"]),
         r"line 3 \(word 'bad'\) has NaN or infinite values"),
    Case("vec-overflow-to-inf", "vectors", "big.txt",
         lambda: vec(["good 1e400 0.2 0.3", "bad 0.1 0.2 0.3"]),
         r"line 1 \(word 'good'\) has NaN or infinite values"),
    Case("vec-wrong-dim-vs-header", "vectors", "dim.vec",
         lambda: vec(["2 4", "good 0.1 0.2 0.3", "bad 0.1 0.2 0.3"]),
         r"needs at least|line 2 has 3 values, expected 4"),
    Case("vec-not-numbers", "vectors", "words.txt",
         lambda: vec(["good x y z", "bad 0.1 0.2 0.3"]), r"could not convert string to float"),
    Case("vec-dim-too-large", "vectors", "wide.vec",
         lambda: b"1 5000\n" + b"w " + b"0 " * 5000 + b"\n", r"dimension 5000 is outside 1..1000"),
    Case("vec-binary-truncated", "vectors", "cut.bin",
         lambda: w2v_binary(["good", "bad", "fine"], 4)[:-10], r"truncated|needs at least"),
    Case("vec-binary-nan", "vectors", "nan.bin",
         lambda: w2v_binary(["good", "bad"], 2, values=[[0.1, float("nan")], [1.0, 2.0]]),
         r"row 1 \(word 'good'\) has NaN or infinite values"),
    Case("vec-binary-no-header", "vectors", "raw.bin", lambda: b"good \x00\x00\x80?" * 4,
         r"must start with a 'count dim' line"),
    Case("vec-gzip", "vectors", "vectors.txt.gz",
         lambda: __import__("gzip").compress(vec(["good 0.1 0.2"])),
         r"compressed files are not accepted"),
    Case("vec-empty", "vectors", "empty.vec", lambda: b"", r"the file is empty"),
    Case("vec-utf16", "vectors", "u16.txt",
         lambda: "good 0.1 0.2\nbad 0.3 0.4\n".encode("utf-16"),
         r"UTF-16 \(or UTF-32\) text; save it as UTF-8 without BOM"),
    Case("vec-utf16-without-bom", "vectors", "u16le.vec",
         lambda: "good 0.1 0.2\nbad 0.3 0.4\n".encode("utf-16-le"),
         r"UTF-16 text without a byte-order mark; save it as UTF-8 without BOM"),
    Case("vec-utf8-bom", "vectors", "bom.vec",
         lambda: codecs.BOM_UTF8 + vec(["2 3", "good 0.1 0.2 0.3", "bad 0.3 0.2 0.1"]),
         r"UTF-8 byte-order mark \(BOM\); save it as UTF-8 without BOM"),
    # the header's dimension (2) is not the rows' (3): loaded as garbage words and 1e26 values
    Case("vec-binary-header-dim-lies", "vectors", "liar.bin",
         lambda: b"3 2\n" + w2v_binary(["good", "bad", "fine"], 3).split(b"\n", 1)[1],
         r"liar\.bin: row 2 does not start with a word \(it holds control bytes"),
    Case("vec-binary-more-rows-than-header", "vectors", "count.bin",
         lambda: w2v_binary(["good", "bad", "fine"], 3, count=2),
         r"bytes follow the last of the 2 rows the header announces"),
    Case("vec-duplicate-word-text", "vectors", "dup.vec",
         lambda: vec(["3 2", "good 0.1 0.2", "bad 0.3 0.4", "good 0.5 0.6"]),
         r"line 4 repeats the word 'good' \(first on line 2\)"),
    Case("vec-duplicate-word-binary", "vectors", "dup.bin",
         lambda: w2v_binary(["good", "bad", "good"], 2),
         r"row 3 repeats the word 'good' \(first on row 1\)"),
    Case("vec-ok-tiny", "vectors", "ok.vec",
         lambda: vec(["2 3", "good 0.1 0.2 0.3", "bad 0.3 0.2 0.1"]), r"words=2 dim=3", ok=True),
]


# ------------------------------------------------------------------------------ data files
def _rows_with(labels) -> list[tuple]:
    return [(t, lab) for (t, _), lab in zip(ROWS, labels)]


DATA_CASES = [
    Case("empty-file", "data", "empty.csv", lambda: b"", r"'empty.csv' is empty", browser=True),
    Case("whitespace-only", "data", "blank.csv", lambda: b"\n \r\n\t\n", r"is empty"),
    Case("header-only", "data", "header.csv", lambda: b"text,label\n",
         r"has a header but no data rows", browser=True),
    Case("binary-garbage", "data", "garbage.csv", binary_garbage,
         r"not a text file: it contains NUL bytes", browser=True),
    Case("utf16-with-bom", "data", "u16.csv", lambda: csv_text().encode("utf-16"),
         r"fmt=csv encoding=utf-16 rows=24", ok=True),
    Case("utf16-without-bom", "data", "u16le.csv", lambda: csv_text().encode("utf-16-le"),
         r"UTF-16 without a byte-order mark", browser=True),
    Case("cp1252", "data", "win.csv",
         lambda: csv_text([(t + " caf\u00e9 \u201cquoted\u201d", lab) for t, lab in ROWS])
         .encode("cp1252"), r"encoding=cp1252 rows=24", ok=True),
    Case("utf8-bom", "data", "bom.csv", lambda: codecs.BOM_UTF8 + csv_bytes(),
         r"encoding=utf-8-sig rows=24", ok=True),
    Case("utf32-bom", "data", "u32.csv", lambda: csv_text().encode("utf-32"),
         r"encoding=utf-32 rows=24", ok=True),
    Case("mixed-line-endings", "data", "eol.csv", mixed_eol, r"fmt=csv .*rows=24 classes=2",
         ok=True),
    Case("ragged-rows", "data", "ragged.csv",
         lambda: csv_bytes() + b"extra,cells,here,too\n",
         r"could not be read as delimited text: .*line 26", browser=True),
    Case("quote-never-closed", "data", "quote.csv",
         lambda: b'text,label\n"this quote never closes,pos\n' + csv_bytes()[11:],
         r"could not be read as delimited text: .*EOF inside string", browser=True),
    Case("10MB-single-line", "data", "line.csv", lambda: b"x" * 10_000_000,
         r"only one column|header but no data rows", big=True),
    Case("10MB-text-in-one-row", "data", "longrow.csv",
         lambda: csv_bytes(ROWS + [("word " * 2_000_000, "pos")]),
         r"rows=25 .*truncated=1", ok=True, big=True),
    Case("1M-tiny-rows", "data", "million.csv", million_rows, r"rows=1000000 classes=2",
         ok=True, big=True),
    Case("1M-plus-one-rows", "data", "million1.csv", lambda: million_rows() + b"e f,x\n",
         r"too many rows: more than 1,000,000 \(max_rows\)", big=True),
    Case("one-class-only", "data", "one.csv", lambda: csv_bytes(_rows_with(["pos"] * 24)),
         r"has a single class \('pos'\)", browser=True),
    Case("500-classes", "data", "many.csv",
         lambda: csv_bytes([(f"text {i} {i % 7}", f"class{i % 500}") for i in range(1500)]),
         r"too many classes: 500, the limit is 100 \(max_classes\)", browser=True),
    Case("nan-and-empty-labels", "data", "holes.csv",
         lambda: csv_bytes(_rows_with(["pos", "", "neg", "NaN"] * 6)),
         r"rows=18 classes=3 dropped=\(missing label: 6\)", ok=True),
    Case("all-labels-missing", "data", "nolabels.csv",
         lambda: csv_bytes(_rows_with([""] * 24)),
         r"too few rows: 0 usable of 24 read \(missing label: 24\)"),
    Case("numeric-labels", "data", "numlab.csv",
         lambda: csv_bytes(_rows_with([1, 0, 2, 0] * 6)), r"rows=24 classes=3", ok=True),
    Case("text-column-all-numbers", "data", "nums.csv",
         lambda: csv_bytes([(str(i * 7), str(i % 2)) for i in range(30)]),
         r"no text column found", browser=True),
    Case("duplicate-column-names", "data", "dup.csv",
         lambda: csv_bytes([(t, t, lab) for t, lab in ROWS], header=("text", "text", "label")),
         r"duplicate column names: 'text'", browser=True),
    Case("excel-several-sheets", "data", "book.xlsx",
         lambda: xlsx({"first": [("text", "label"), *ROWS], "second": [("x",), ("y",)],
                       "third": [("z",)]}),
         r"fmt=xlsx .*rows=24 .*3 sheets; only the first, 'first', was read", ok=True,
         browser=True),
    Case("excel-empty-first-sheet", "data", "empty.xlsx",
         lambda: xlsx({"blank": [], "data": [("text", "label"), *ROWS]}),
         r"first sheet 'blank' has no cells"),
    Case("parquet-nested-types", "data", "nested.parquet", parquet_nested,
         r"fmt=parquet .*rows=24 classes=2", ok=True),
    Case("parquet-only-nested", "data", "onlynested.parquet", parquet_only_nested,
         r"no text column found"),
    Case("zip-bomb-renamed-csv", "data", "bomb.csv", zip_bomb,
         r"not a text file: it looks like a ZIP archive", browser=True, big=True),
    Case("zip-bomb-as-xlsx", "data", "bomb.xlsx", zip_bomb,
         r"decompression bomb|not a readable Excel workbook", big=True),
    # small files that decode into gigabytes (issue 13): refused from their shape before
    # anything of that size is built, within 5 s of CPU time
    Case("parquet-dictionary-bomb", "data", "dict.parquet", parquet_dictionary_bomb,
         r"decodes to 2,970,090,000 bytes of text; the limit is 268,435,456 bytes "
         r"\(max_text_bytes\)", big=True, seconds=5),
    Case("xlsx-cell-at-XFD1", "data", "far.xlsx", xlsx_far_cell,
         r"row 1 reaches column 16,384; the limit is 1,000 \(max_columns\)",
         big=True, seconds=5),
    Case("xlsx-declares-whole-grid", "data", "grid.xlsx", xlsx_declared_everything,
         r"fmt=xlsx .*rows=6000 classes=2", ok=True, big=True, seconds=5),
    Case("csv-100k-column-header", "data", "wide.csv", lambda: csv_wide_header(24),
         r"has 100,002 columns in its header; the limit is 1,000 \(max_columns\)",
         big=True, seconds=5),
    Case("csv-100k-column-header-1000-rows", "data", "wide1000.csv",
         lambda: csv_wide_header(1000),
         r"has 100,002 columns in its header; the limit is 1,000 \(max_columns\)",
         big=True, seconds=5),
    Case("csv-1000-columns-over-100k-short-rows", "data", "tall.csv", csv_wide_and_tall,
         r"has 1,000 columns x 100,002 lines = 100,002,000 cells; the limit is 30,000,000 "
         r"\(max_cells\)", big=True, seconds=5),
    Case("jsonl-new-key-every-line", "data", "keys.jsonl", jsonl_new_key_per_line,
         r"line 999 brings the number of keys \(columns\) to 1,001; the limit is 1,000 "
         r"\(max_columns\)", big=True, seconds=5),
    Case("gzip-renamed-csv", "data", "data.csv",
         lambda: __import__("gzip").compress(csv_bytes()), r"looks like a gzip archive"),
    Case("jsonl-broken-line", "data", "broken.jsonl", lambda: jsonl(broken_line=3),
         r"line 3 is not valid JSON", browser=True),
    Case("jsonl-not-objects", "data", "list.jsonl", lambda: b"[1, 2]\n[3, 4]\n",
         r"must be JSON Lines or a JSON array of objects|is not a JSON object"),
    Case("jsonl-deep-nesting", "data", "deep.jsonl", lambda: b"{\"a\":" * 100_000 + b"1",
         r"line 1 is not valid JSON"),
    Case("jsonl-huge-integer", "data", "bigint.jsonl",
         lambda: jsonl() + b'{"text": "a", "label": ' + b"9" * 5000 + b"}\n",
         r"line 25 is not valid JSON"),
    Case("json-array-huge-integer", "data", "bigint.json",
         lambda: b'[{"text": "a", "label": ' + b"9" * 5000 + b"}]",
         r"is not valid JSON"),
    Case("fasttext-no-labels", "data", "plain.ft",
         lambda: ("\n".join(t for t, _ in ROWS) + "\n").encode(),
         r"too few rows: 0 usable of 24 read \(missing label: 24\)"),
    Case("fasttext-txt-no-labels", "data", "plain.txt",
         lambda: ("\n".join(t for t, _ in ROWS) + "\n").encode(),
         r"unknown format \(\.txt\)"),
    Case("old-xls", "data", "old.xls", lambda: b"\xd0\xcf\x11\xe0" + b"\x00" * 100,
         r"old \.xls workbook"),
    Case("pdf-as-csv", "data", "paper.csv", lambda: b"%PDF-1.7\n" + b"x" * 100,
         r"looks like a PDF document"),
    Case("too-large-for-cap", "data", "big.csv", csv_bytes,
         r"too large: .* the limit is 1,000 bytes \(max_bytes\)", config={"max_bytes": 1000}),
    Case("name-with-path-separators", "data", "../../etc/passwd.csv", csv_bytes,
         r"fmt=csv .*rows=24", ok=True),
    Case("name-with-shell-chars", "data", "x; rm -rf ~ $(touch pwned) `id` | cat.csv",
         csv_bytes, r"fmt=csv .*rows=24", ok=True, browser=True),
    Case("name-with-markdown-image", "data", "![t](http:\\\\203.0.113.8\\t.png).csv",
         lambda: b"", r"is empty", browser=True),
    Case("label-with-markdown-image", "data", "mdlabel.csv",
         lambda: csv_bytes(_rows_with(["![t](http://203.0.113.9/t.png)"] * 24)),
         r"single class", browser=True),
]


def all_cases(marker: str) -> list[Case]:
    return DATA_CASES + VECTOR_CASES + pickle_cases(marker)


def write(case: Case, folder: Path) -> Path:
    """The case's bytes in ``folder`` under a safe on-disk name (the real name may hold '/')."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "".join(Path(case.filename.replace("/", "_").replace("\\", "_")).suffixes[-2:])
    path = folder / f"{case.id}{suffix}"
    path.write_bytes(case.bytes())
    return path


def run_case(case: Case, folder: Path) -> tuple[bool, str]:
    """(loaded, message): the error message, or the outcome line of what loaded."""
    from core.data.loading import LoadConfig, load_dataset
    from core.errors import DataError, VectorsError
    from core.vectors.pretrained import load_vectors_file

    if case.kind == "vectors":
        try:
            # saved under a safe name, as the dashboard saves an upload; messages name the upload
            kv = load_vectors_file(write(case, folder), display_name=case.filename)
        except VectorsError as exc:
            return False, str(exc)
        return True, f"words={len(kv)} dim={kv.vector_size}"
    try:
        ds = load_dataset(case.bytes(), filename=case.filename, config=LoadConfig(**case.config))
    except DataError as exc:
        return False, str(exc)
    return True, outcome(ds)
