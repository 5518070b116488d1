"""The limits a file is read within and the decompression-bomb guards: each check raises a
``DataError`` naming the file, what was counted and the ``LoadConfig`` field that bounds it."""
from __future__ import annotations

import io
import zipfile

from core.data.dataset import LoadConfig
from core.common.expansion import expansion_limit
from core.errors import DataError

# zipfile reports damaged archives through all of these (unknown versions, encryption, ...)
ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
               RuntimeError)


def check_size(n_bytes: int, name: str, max_bytes: int) -> None:
    if n_bytes > max_bytes:
        raise DataError(f"'{name}' is too large: {n_bytes:,} bytes, the limit is "
                        f"{max_bytes:,} bytes (max_bytes)")


def check_zip_expansion(data: bytes, name: str) -> None:
    """Refuse workbooks whose parts inflate far beyond their size (zip bombs)."""
    limit = expansion_limit(len(data))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except ZIP_ERRORS:
        raise DataError(f"'{name}' is not a readable Excel workbook: it is not a valid "
                        f".xlsx (zip) file") from None
    if total > limit:
        bomb(name, total, limit)


def bomb(name: str, total: int, limit: int) -> None:
    raise DataError(f"'{name}' expands to {total:,} bytes when unpacked, over the "
                    f"{limit:,}-byte limit: refusing it as a possible decompression bomb")


def too_many_rows(name: str, max_rows: int) -> None:
    raise DataError(f"'{name}' has too many rows: more than {max_rows:,} (max_rows)")


def check_columns(name: str, n_columns: int, config: LoadConfig, where: str = "") -> None:
    """Refuse a table wider than max_columns (``where`` says where the count was reached)."""
    if n_columns > config.max_columns:
        where = where or f"has {n_columns:,} columns"
        raise DataError(f"'{name}' {where}; the limit is {config.max_columns:,} "
                        f"(max_columns)")


def check_cells(name: str, n_cells: int, config: LoadConfig, what: str) -> None:
    """Refuse a table of more than max_cells cells; ``what`` says how they were counted."""
    if n_cells > config.max_cells:
        raise DataError(f"'{name}' {what} = {n_cells:,} cells; the limit is "
                        f"{config.max_cells:,} (max_cells)")


def check_text_bytes(name: str, n_bytes: int, config: LoadConfig, more: bool = False) -> None:
    """Refuse a compressed file whose text decodes to more than max_text_bytes."""
    if n_bytes > config.max_text_bytes:
        amount = f"more than {config.max_text_bytes:,}" if more else f"{n_bytes:,}"
        raise DataError(f"'{name}' decodes to {amount} bytes of text; the limit is "
                        f"{config.max_text_bytes:,} bytes (max_text_bytes)")


def check_unique(names: list[str], name: str) -> None:
    seen, dupes = set(), []
    for col in names:
        if col in seen and col not in dupes:
            dupes.append(col)
        seen.add(col)
    if dupes:
        listed = ", ".join(repr(d) for d in dupes)
        raise DataError(f"'{name}' has duplicate column names: {listed}; rename them")
