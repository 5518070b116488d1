"""The one way files are written (``atomic_write``) and the one disk cache (``DiskCache``).

A reader never sees half a file: everything is written under a temporary name in the same
folder and moved into place with ``os.replace`` (a folder with ``os.rename``). A writer that
fails removes its temporary file, so an interrupted write leaves nothing behind.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")
V = TypeVar("V")
Writer = Callable[[Path], None]


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write(path: str | Path, data: bytes | str | Writer, *, fsync: bool = False) -> Path:
    """Write ``data`` (bytes, text, or a function that writes the file at the path it is
    given) to ``path`` atomically; with ``fsync`` the bytes are on disk before the rename."""
    path = Path(path)
    tmp = _temp_name(path)
    try:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        elif isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            data(tmp)
        if fsync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def npy(arr) -> Writer:
    """A writer of ``arr`` in NumPy's ``.npy`` format (no pickles), for ``atomic_write``
    (``np.save`` given a path would append ``.npy`` to the temporary name)."""
    import numpy as np

    def write(path: Path) -> None:
        with open(path, "wb") as fh:
            np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)
    return write


def check_key(key: str) -> str:
    """A cache key is a plain file name: letters, digits, '-', '_' or '.', no leading dot."""
    if not key or key.startswith(".") or not all(c.isalnum() or c in "-_." for c in key):
        raise ValueError(f"cache key must be letters, digits, '-', '_' or '.', got {key!r}")
    return key


class DiskCache:
    """A read-through cache under one folder: key -> compute -> write -> read.

    Each entry is a folder ``<key>/`` filled by ``write(value, folder)`` under a temporary
    name and renamed into place, so an entry either exists complete or not at all; the value
    handed back is always ``read(folder)``, so a first call and a cache hit return the same.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / check_key(key)

    def get(self, key: str, read: Callable[[Path], T]) -> T | None:
        """The entry read back, or None when it was never written."""
        entry = self.path(key)
        return read(entry) if entry.is_dir() else None

    def put(self, key: str, value: V, write: Callable[[V, Path], None]) -> Path:
        entry = self.path(key)
        tmp = _temp_name(entry)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            write(value, tmp)
            try:
                os.rename(tmp, entry)
            except OSError:
                if not entry.is_dir():
                    raise
                # another process finished first: its entry is equivalent
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return entry

    def get_or_compute(self, key: str, compute: Callable[[], V],
                       write: Callable[[V, Path], None], read: Callable[[Path], T]) -> T:
        hit = self.get(key, read)
        if hit is not None:
            return hit
        self.put(key, compute(), write)
        return read(self.path(key))
