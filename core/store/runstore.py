"""The run store: every training run and experiment persisted on disk, readable while it is
being written.

Metadata lives in one SQLite database (WAL, so readers never block the training writer); its
``jobs`` table holds runs and experiments alike (``kind``), with their status, worker pid and
cancel flag, so one job system (``core.jobs``) queues, cancels and reconciles both;
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

from core.common.files import atomic_write, npy
from core.errors import StoreError

STATUSES = ("queued", "running", "done", "failed", "cancelled")
LIVE = ("queued", "running")  # a job in one of these has (or waits for) a process
KINDS = ("run", "experiment")
_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,80}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY, kind TEXT NOT NULL DEFAULT 'run', created REAL, updated REAL,
    status TEXT, label TEXT, config TEXT, fingerprint TEXT, info TEXT, error TEXT,
    pid INTEGER, cancel_requested INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT, epoch INTEGER, metrics TEXT, PRIMARY KEY (run_id, epoch));
CREATE TABLE IF NOT EXISTS snapshots (
    run_id TEXT, idx INTEGER, epoch INTEGER, step INTEGER, created REAL,
    PRIMARY KEY (run_id, idx));
"""
# Stores made before experiments joined the table kept runs alone in a table ``runs``.
_MIGRATE_RUNS = """
ALTER TABLE runs RENAME TO jobs;
ALTER TABLE jobs RENAME COLUMN run_id TO job_id;
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'run';
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
    kind: str = "run"

    @property
    def n_snapshots(self) -> int:
        return len(self.snapshots)

    def val_accuracy_at(self, snapshot: dict[str, int]) -> float:
        """The validation accuracy measured at this snapshot (the end of its epoch); NaN at
        step 0 and for a snapshot taken within an epoch."""
        for e in self.epochs:
            if e["epoch"] == snapshot["epoch"] and e.get("step") == snapshot["step"]:
                return float(e["val_accuracy"])
        return float("nan")


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
            db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait and see it
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "runs" in tables and "jobs" not in tables:
                for statement in filter(str.strip, _MIGRATE_RUNS.split(";")):
                    db.execute(statement)
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            db.execute("COMMIT")
        if (self.root / "experiments").is_dir():
            from core.store.migrate import import_json_experiments

            import_json_experiments(self)

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

    def _update(self, job_id: str, **fields: Any) -> None:
        check_run_id(job_id)
        fields["updated"] = time.time()
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._db() as db:
            cur = db.execute(f"UPDATE jobs SET {cols} WHERE job_id = ?", [*fields.values(), job_id])
        if cur.rowcount == 0:
            raise StoreError(f"Run {job_id} does not exist.")

    # -- runs ------------------------------------------------------------------------------
    def create_run(self, config: dict, fingerprint: str = "", info: dict | None = None,
                   label: str = "", status: str = "running", run_id: str | None = None) -> str:
        """Register a new run and create its folder; returns the run id."""
        run_id = self.create_job("run", config, fingerprint, info, label, status, run_id)
        (self.root / run_id / "snapshots").mkdir(parents=True, exist_ok=True)
        return run_id

    def create_job(self, kind: str, config: dict, fingerprint: str = "",
                   info: dict | None = None, label: str = "", status: str = "running",
                   job_id: str | None = None, created: float | None = None) -> str:
        """Register a job (a run or an experiment) in the status table; returns its id."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        job_id = check_run_id(job_id or new_run_id())
        now = time.time()
        with self._db() as db:
            db.execute(
                "INSERT INTO jobs (job_id, kind, created, updated, status, label, config,"
                " fingerprint, info, error, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                (job_id, kind, created or now, now, status, label, json.dumps(config),
                 fingerprint, json.dumps(info or {}), os.getpid()))
        return job_id

    def set_status(self, run_id: str, status: str, error: str | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        self._update(run_id, status=status, error=error)

    def set_pid(self, run_id: str, pid: int) -> None:
        self._update(run_id, pid=int(pid))

    def update_info(self, run_id: str, **values: Any) -> None:
        """Merge values into the run's info dict (sizes, coverage, timings)."""
        info = self.get_job(run_id).info
        info.update(values)
        self._update(run_id, info=json.dumps(info))

    def request_cancel(self, run_id: str) -> None:
        self._update(run_id, cancel_requested=1)

    def cancel_requested(self, run_id: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT cancel_requested FROM jobs WHERE job_id = ?",
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
        return self.get_job(run_id, "run")

    def get_job(self, job_id: str, kind: str | None = None) -> RunInfo:
        """A run or an experiment (``kind`` None: either) as stored."""
        check_run_id(job_id)
        run_id = job_id
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None or (kind is not None and row["kind"] != kind):
                noun = "Experiment" if kind == "experiment" else "Run"
                raise StoreError(f"{noun} {job_id} does not exist.")
            epochs = db.execute("SELECT epoch, metrics FROM epochs WHERE run_id = ? ORDER BY epoch",
                                (run_id,)).fetchall()
            snaps = db.execute("SELECT idx, epoch, step FROM snapshots WHERE run_id = ? ORDER BY idx",
                               (run_id,)).fetchall()
        return _row_to_info(row, epochs, snaps)

    def list_runs(self) -> list[RunInfo]:
        """All runs, newest first."""
        return self.list_jobs("run")

    def list_jobs(self, kind: str | None = None) -> list[RunInfo]:
        """All jobs of ``kind`` (None: runs and experiments), newest first."""
        query = "SELECT job_id FROM jobs" + (" WHERE kind = ?" if kind else "")
        with self._db() as db:
            ids = [r[0] for r in db.execute(query + " ORDER BY created DESC, job_id DESC",
                                            (kind,) if kind else ())]
        return [self.get_job(i) for i in ids]

    def delete_run(self, run_id: str) -> None:
        folder = self.run_dir(run_id)
        with self._db() as db:
            db.execute("DELETE FROM jobs WHERE job_id = ?", (run_id,))
            for table in ("epochs", "snapshots"):
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
        """Atomically write ``name.npy`` (on disk before it is renamed into place)."""
        path = self._path(run_id, name, ".npy")
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


def _row_to_info(row: sqlite3.Row, epochs: list, snaps: list) -> RunInfo:
    return RunInfo(
        run_id=row["job_id"], status=row["status"], created=row["created"],
        updated=row["updated"], label=row["label"] or "", config=json.loads(row["config"]),
        fingerprint=row["fingerprint"] or "", info=json.loads(row["info"] or "{}"),
        error=row["error"], pid=row["pid"], cancel_requested=bool(row["cancel_requested"]),
        epochs=[{"epoch": e[0], **json.loads(e[1])} for e in epochs],
        snapshots=[{"idx": s[0], "epoch": s[1], "step": s[2]} for s in snaps],
        kind=row["kind"],
    )
