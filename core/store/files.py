"""A run's files: its folder (ids and names validated: nothing leaves the store root),
arrays as ``.npy`` (atomic, read back read-only or memory-mapped) and tables as parquet
(``RunFiles``, mixed into ``RunStore``)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from core.common.files import atomic_write, npy
from core.errors import StoreError
from core.store.records import check_run_id

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,80}$")


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or ".." in name:
        raise StoreError(f"'{name}' is not an allowed file name in the run store.")
    return name


def _read_only(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr



class RunFiles:
    """``RunStore``'s files (mixed in: uses its ``root`` and ``disk_guard``)."""

    def run_dir(self, run_id: str) -> Path:
        """The run's folder; ids are validated so no path can leave the store root."""
        folder = (self.root / check_run_id(run_id)).resolve()
        if folder.parent != self.root:
            raise StoreError(f"Run {run_id} is outside the store.")
        return folder

    def cache_dir(self, run_id: str) -> Path:
        folder = self.run_dir(run_id) / "cache"
        with self.disk_guard():
            folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _path(self, run_id: str, name: str, suffix: str) -> Path:
        parts = [_check_name(p) for p in name.split("/")]
        return self.run_dir(run_id).joinpath(*parts).with_suffix(suffix)

    def save_array(self, run_id: str, name: str, arr: np.ndarray) -> Path:
        """Atomically write ``name.npy`` (on disk before it is renamed into place)."""
        path = self._path(run_id, name, ".npy")
        with self.disk_guard():  # atomic_write removes its temporary file on any failure
            path.parent.mkdir(parents=True, exist_ok=True)
            return atomic_write(path, npy(arr), fsync=True)

    def load_array(self, run_id: str, name: str, mmap: bool = True) -> np.ndarray:
        path = self._path(run_id, name, ".npy")
        if not path.exists():
            raise StoreError(f"Run {run_id} has no array '{name}'.")
        arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        return _read_only(arr) if not mmap else arr

    def has_array(self, run_id: str, name: str) -> bool:
        return self._path(run_id, name, ".npy").exists()

    def save_frame(self, run_id: str, name: str, df: pd.DataFrame) -> Path:
        path = self._path(run_id, name, ".parquet")
        with self.disk_guard():
            return atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))

    def load_frame(self, run_id: str, name: str) -> pd.DataFrame:
        path = self._path(run_id, name, ".parquet")
        if not path.exists():
            raise StoreError(f"Run {run_id} has no table '{name}'.")
        return pd.read_parquet(path)

    # -- conveniences ----------------------------------------------------------------------
    def load_snapshot(self, run_id: str, idx: int) -> np.ndarray:
        return self.load_array(run_id, f"snapshots/emb_{int(idx):04d}")

    def load_docvecs(self, run_id: str, idx: int) -> np.ndarray:
        return self.load_array(run_id, f"snapshots/doc_{int(idx):04d}")

    def load_vocab(self, run_id: str) -> pd.DataFrame:
        return self.load_frame(run_id, "vocab")

    def load_docs(self, run_id: str) -> pd.DataFrame:
        return self.load_frame(run_id, "docs")

