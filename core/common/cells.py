"""Text cells of the CSV and TSV files the product writes, and how its own reader undoes them.

Words and class names come from users. A spreadsheet runs a cell that starts like a formula
(OWASP's list: ``= + - @``, tab, CR), so such a cell gets a leading ``'``; so does a cell of
quotes in front of such a start, which makes the mark reversible (``unneutralise``). The check
is made on the whole cell as a reader will split it: CSV files quote every text cell
(``csv_bytes``), so a CR, LF, delimiter or quote inside a word stays inside its cell, and TSV
cells escape tab, CR, LF and backslash (``tsv_escape``), so a row is one line.
"""
from __future__ import annotations

import csv
import re

import pandas as pd

# the columns of the product's projector metadata.tsv (written by core.runs.export; its import
# in core.track.readers knows its own file by this header and undoes the escapes)
METADATA_COLUMNS = ("word", "train_count", "seen", "associated_class", "association_z")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MARKED = re.compile(r"'*[=+\-@\t\r]")  # quotes then a formula start: what gets the mark
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {v[1]: k for k, v in _ESCAPES.items()}


def neutralise(cell: str) -> str:
    """``cell`` made inert for spreadsheets: a leading ``'`` when it starts like a formula
    (after any quotes it already starts with)."""
    return "'" + cell if _MARKED.match(cell) else cell


def unneutralise(cell: str) -> str:
    """The cell ``neutralise`` was given (its mark removed)."""
    return cell[1:] if cell.startswith("'") and _MARKED.match(cell, 1) else cell


def tsv_escape(cell: str) -> str:
    """A TSV cell on one line: backslash, tab, CR and LF written as two-character escapes."""
    return "".join(_ESCAPES.get(ch, ch) for ch in cell)


def tsv_unescape(cell: str) -> str:
    """The text ``tsv_escape`` was given."""
    return re.sub(r"\\(.)", lambda m: _UNESCAPES.get(m.group(1), m.group(0)), cell)


def csv_bytes(table: pd.DataFrame) -> bytes:
    """``table`` as UTF-8 CSV with every text cell quoted (numbers stay bare numbers)."""
    return table.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC,
                        lineterminator="\n").encode("utf-8")
