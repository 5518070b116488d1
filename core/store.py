"""The run store: every training run persisted on disk, readable while it is being written.

Metadata lives in one SQLite database (WAL, so readers never block the training writer);
arrays are ``.npy`` files written to a temporary name and renamed into place, and a snapshot's
row is inserted only after its arrays exist, so a reader never sees a half-written array —
not even after a ``kill -9`` of the writer.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from core.errors import StoreError

STATUSES = ("queued", "running", "done", "failed", "cancelled")
_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,80}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, created REAL, updated REAL, status TEXT, label TEXT,
    config TEXT, fingerprint TEXT, info TEXT, error TEXT, pid INTEGER,
    cancel_requested INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT, epoch INTEGER, metrics TEXT, PRIMARY KEY (run_id, epoch));
CREATE TABLE IF NOT EXISTS snapshots (
    run_id TEXT, idx INTEGER, epoch INTEGER, step INTEGER, created REAL,
    PRIMARY KEY (run_id, idx));
"""


@dataclass(frozen=True)
class RunInfo:
    """One run's metadata as stored (arrays are loaded separately, on demand)."""

    run_id: str
    status: str
    created: float
    updated: float
    label: str
    config: dict[str, Any]
    fingerprint: str
    info: dict[str, Any]
    error: str | None
    pid: int | None
    cancel_requested: bool
    epochs: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, int]] = field(default_factory=list)

    @property
    def n_snapshots(self) -> int:
        return len(self.snapshots)


def new_run_id() -> str:
    """A sortable, unguessable run id: UTC time plus 24 random bits."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def check_run_id(run_id: str) -> str:
    """Refuse anything that is not a run id, so user-supplied ids cannot escape the store."""
    # fullmatch: match() lets '$' accept a trailing newline
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise StoreError(f"'{run_id}' is not a valid run id (expected e.g. 20260101-120000-a1b2c3).")
    return run_id


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or ".." in name:
        raise StoreError(f"'{name}' is not an allowed file name in the run store.")
    return name


def _read_only(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


class RunStore:
    """Runs under one root folder: ``runs.sqlite`` plus a folder per run."""

    def __init__(self, root: str | Path = "runs") -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    # -- database ------------------------------------------------------------------------
    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        # One short-lived connection per operation: safe across threads and processes.
        db = sqlite3.connect(self.root / "runs.sqlite", timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.row_factory = sqlite3.Row
            yield db
        finally:
            db.close()

    def _update(self, run_id: str, **fields: Any) -> None:
        check_run_id(run_id)
        fields["updated"] = time.time()
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._db() as db:
            cur = db.execute(f"UPDATE runs SET {cols} WHERE run_id = ?", [*fields.values(), run_id])
        if cur.rowcount == 0:
            raise StoreError(f"Run {run_id} does not exist.")

    # -- runs ------------------------------------------------------------------------------
    def create_run(self, config: dict, fingerprint: str = "", info: dict | None = None,
                   label: str = "", status: str = "running", run_id: str | None = None) -> str:
        """Register a new run and create its folder; returns the run id."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        run_id = check_run_id(run_id or new_run_id())
        (self.root / run_id / "snapshots").mkdir(parents=True, exist_ok=True)
        now = time.time()
        with self._db() as db:
            db.execute(
                "INSERT INTO runs (run_id, created, updated, status, label, config, fingerprint,"
                " info, error, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                (run_id, now, now, status, label, json.dumps(config), fingerprint,
                 json.dumps(info or {}), os.getpid()))
        return run_id

    def set_status(self, run_id: str, status: str, error: str | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        self._update(run_id, status=status, error=error)

    def set_pid(self, run_id: str, pid: int) -> None:
        self._update(run_id, pid=int(pid))

    def update_info(self, run_id: str, **values: Any) -> None:
        """Merge values into the run's info dict (sizes, coverage, timings)."""
        info = self.get_run(run_id).info
        info.update(values)
        self._update(run_id, info=json.dumps(info))

    def request_cancel(self, run_id: str) -> None:
        self._update(run_id, cancel_requested=1)

    def cancel_requested(self, run_id: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT cancel_requested FROM runs WHERE run_id = ?",
                             (check_run_id(run_id),)).fetchone()
        return bool(row and row[0])

    def add_epoch(self, run_id: str, epoch: int, metrics: dict[str, Any]) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?)",
                       (check_run_id(run_id), int(epoch), json.dumps(metrics)))
        self._update(run_id)

    def add_snapshot(self, run_id: str, idx: int, epoch: int, step: int,
                     embedding: np.ndarray, docvecs: np.ndarray | None = None) -> None:
        """Write the snapshot's arrays first, then its row: readers only see complete ones."""
        self.save_array(run_id, f"snapshots/emb_{idx:04d}", embedding)
        if docvecs is not None:
            self.save_array(run_id, f"snapshots/doc_{idx:04d}", docvecs)
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?)",
                       (run_id, int(idx), int(epoch), int(step), time.time()))
        self._update(run_id)

    def get_run(self, run_id: str) -> RunInfo:
        check_run_id(run_id)
        with self._db() as db:
            row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise StoreError(f"Run {run_id} does not exist.")
            epochs = db.execute("SELECT epoch, metrics FROM epochs WHERE run_id = ? ORDER BY epoch",
                                (run_id,)).fetchall()
            snaps = db.execute("SELECT idx, epoch, step FROM snapshots WHERE run_id = ? ORDER BY idx",
                               (run_id,)).fetchall()
        return _row_to_info(row, epochs, snaps)

    def list_runs(self) -> list[RunInfo]:
        """All runs, newest first."""
        with self._db() as db:
            ids = [r[0] for r in db.execute("SELECT run_id FROM runs ORDER BY created DESC")]
        return [self.get_run(i) for i in ids]

    def delete_run(self, run_id: str) -> None:
        folder = self.run_dir(run_id)
        with self._db() as db:
            for table in ("runs", "epochs", "snapshots"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
        shutil.rmtree(folder, ignore_errors=True)

    # -- files -----------------------------------------------------------------------------
    def run_dir(self, run_id: str) -> Path:
        """The run's folder; ids are validated so no path can leave the store root."""
        folder = (self.root / check_run_id(run_id)).resolve()
        if folder.parent != self.root:
            raise StoreError(f"Run {run_id} is outside the store.")
        return folder

    def cache_dir(self, run_id: str) -> Path:
        folder = self.run_dir(run_id) / "cache"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _path(self, run_id: str, name: str, suffix: str) -> Path:
        parts = [_check_name(p) for p in name.split("/")]
        return self.run_dir(run_id).joinpath(*parts).with_suffix(suffix)

    def save_array(self, run_id: str, name: str, arr: np.ndarray) -> Path:
        """Atomically write ``name.npy``: temp file in the same folder, then rename."""
        path = self._path(run_id, name, ".npy")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path

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
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
        return path

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


def _row_to_info(row: sqlite3.Row, epochs: list, snaps: list) -> RunInfo:
    return RunInfo(
        run_id=row["run_id"], status=row["status"], created=row["created"],
        updated=row["updated"], label=row["label"] or "", config=json.loads(row["config"]),
        fingerprint=row["fingerprint"] or "", info=json.loads(row["info"] or "{}"),
        error=row["error"], pid=row["pid"], cancel_requested=bool(row["cancel_requested"]),
        epochs=[{"epoch": e[0], **json.loads(e[1])} for e in epochs],
        snapshots=[{"idx": s[0], "epoch": s[1], "step": s[2]} for s in snaps],
    )
