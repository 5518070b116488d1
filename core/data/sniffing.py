"""Sniffing and decoding: which format a file is (extension, then leading bytes or decoded
content), its text encoding, and a delimited file's delimiter."""
from __future__ import annotations

import codecs
import csv
import io
import zipfile

from core.data.limits import ZIP_ERRORS
from core.errors import DataError

EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
    ".parquet": "parquet", ".pq": "parquet",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".ft": "fasttext", ".fasttext": "fasttext",
    ".txt": None,  # plain text: sniff between fastText and delimited
}
# Leading bytes of common binary files; a "text" upload that starts with one of these is refused
# before any parser (or decompressor) touches it.
MAGIC = (
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
DELIMITERS = ("\t", ",", ";", "|")
FT_PREFIX = "__label__"


def magic(data: bytes) -> str | None:
    """A description of the binary file type ``data`` starts with, or None."""
    for prefix, what in MAGIC:
        if data.startswith(prefix):
            return what
    return None


def decode(data: bytes, name: str) -> tuple[str, str]:
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


def sniff_delimiter(text: str) -> tuple[str | None, int]:
    """The delimiter giving the most consistent field count (>1) over the first records."""
    best, best_score = None, (0.0, 0)
    sample = text[:64_000]
    for delim in DELIMITERS:
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


def sniff_text_format(text: str) -> str | None:
    """Guess fasttext / jsonl / json / csv / tsv from decoded content, or None."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first.startswith(FT_PREFIX):
        return "fasttext"
    if first.startswith("{"):
        return "jsonl"
    if first.startswith("["):
        return "json"
    delim, _ = sniff_delimiter(text)
    return None if delim is None else ("tsv" if delim == "\t" else "csv")


def sniff_binary_format(data: bytes) -> str | None:
    if data.startswith(b"PAR1"):
        return "parquet"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return "xlsx" if "xl/workbook.xml" in zf.namelist() else None
        except ZIP_ERRORS:
            return None
    return None

