"""The run store: every training run and experiment persisted on disk, readable while it is
being written.

Metadata lives in one SQLite database (WAL, so readers never block the training writer); its
``jobs`` table holds runs and experiments alike (``kind``), with their status, worker pid and
cancel flag, so one job system (``core.jobs``) queues, cancels and reconciles both;
arrays are ``.npy`` files written to a temporary name and renamed into place, and a snapshot's
row is inserted only after its arrays exist, so a reader never sees a half-written array —
not even after a ``kill -9`` of the writer.

Liveness: the process writing a job holds an exclusive ``flock`` on ``.locks/<job_id>.lock``
for as long as it writes (``writing``; setting a job running takes it too). The kernel drops
it on any death, ``kill -9`` included, so a reader that can take the lock of a "running" job
knows its writer is gone and marks it failed (``reap``; ``list_jobs`` does it on every read).

Disk: a full disk is one ``StoreError`` naming the store (``check_space`` refuses a run that
would not fit before it starts); temporary files of a failed write are removed.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import numpy as np

from core.errors import StoreError
from core.store.disk import MB, DiskBudget, DiskSpace, is_disk_full, is_io_error
from core.store.files import RunFiles
from core.store.locks import LOCKS, Liveness, identity
from core.store.migrate import import_json_experiments, migrate
from core.store.records import (LIVE, RunInfo, check_job, check_run_id, insert_job,
                                new_run_id, row_to_info)


class RunStore(Liveness, DiskSpace, RunFiles):
    """Runs under one root folder: ``runs.sqlite`` plus a folder per run. Its parts by
    concern: ``Liveness`` (writer locks, ``core.store.locks``), ``DiskSpace`` (``disk``),
    ``RunFiles`` (arrays and tables, ``files``); the rows are here."""

    def __init__(self, root: str | Path = "runs", budget: DiskBudget | None = None) -> None:
        self.root = Path(root).resolve()
        self.budget = budget or DiskBudget()
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"the run store '{self.root}' is a file, not a folder: "
                             "choose a folder (--store)")
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            (self.root / LOCKS).mkdir(exist_ok=True)
        except OSError:
            pass  # a full disk: readers cannot probe locks until there is room (see reap)
        # Failures of dead writers seen while the disk was too full to record them: shown
        # by get_job all the same, written by the next reap that can.
        self._unrecorded: dict[str, str] = {}
        try:
            with self._db() as db:
                migrate(db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"'{self.root / 'runs.sqlite'}' is not a run store database "
                             f"({exc}): move it away or choose another store") from None
        if (self.root / "experiments").is_dir():
            with self._db() as db:
                import_json_experiments(db, self.root / "experiments")

    # -- database ------------------------------------------------------------------------
    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        # One short-lived connection per operation: safe across threads and processes.
        with self.disk_guard():
            db = self._connect()
            try:
                yield db
            finally:
                db.close()

    def _connect(self) -> sqlite3.Connection:
        path = self.root / "runs.sqlite"
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.OperationalError as exc:
            db.close()
            if not (is_disk_full(exc) or is_io_error(exc)) or self.disk_free() >= MB:
                raise
            # A full disk: SQLite cannot create its shared-memory file, so even a read fails.
            # Read the database file as it is (the last connection to close merged its log
            # into it); a write then fails as "read-only", reported as the full disk.
            db = sqlite3.connect(f"file:{quote(str(path))}?immutable=1", uri=True,
                                 isolation_level=None)
        db.row_factory = sqlite3.Row
        return db

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
        with self.disk_guard():
            (self.root / run_id / "snapshots").mkdir(parents=True, exist_ok=True)
        return run_id

    def create_job(self, kind: str, config: dict, fingerprint: str = "",
                   info: dict | None = None, label: str = "", status: str = "running",
                   job_id: str | None = None, created: float | None = None) -> str:
        """Register a job (a run or an experiment) in the status table; returns its id.
        A job created "running" is written by this process, which takes its writer lock
        first."""
        check_job(kind, status)
        job_id = check_run_id(job_id or new_run_id())
        writer = {}
        if status == "running":
            self._acquire(job_id)
            writer = identity()
        with self._db() as db:
            insert_job(db, job_id, kind, config, fingerprint, info, label, status, created,
                       **writer)
        return job_id

    def set_status(self, run_id: str, status: str, error: str | None = None) -> None:
        """Record a job's status. Setting it running makes this process its writer (it takes
        the writer lock); a final status lets go of a lock taken that way."""
        check_job("run", status)
        if status == "running":
            self._acquire(run_id)
            self._update(run_id, status=status, error=error, **identity())
            return
        self._update(run_id, status=status, error=error)
        if status not in LIVE:
            self._release(run_id, adopted_only=True)

    def touch(self, job_id: str) -> None:
        """Mark the job as just updated (the queue's grace periods count from here)."""
        self._update(job_id)

    def cancel_queued(self, job_id: str) -> bool:
        """A queued job that no worker has taken yet ends as cancelled at once."""
        check_run_id(job_id)
        with self._db() as db:
            cur = db.execute("UPDATE jobs SET status = 'cancelled', updated = ? WHERE"
                             " job_id = ? AND status = 'queued'", (time.time(), job_id))
        return cur.rowcount == 1

    def queued_ids(self) -> list[str]:
        """Queued jobs, oldest first (the order workers take them in)."""
        with self._db() as db:
            return [r[0] for r in db.execute("SELECT job_id FROM jobs WHERE status = 'queued'"
                                             " ORDER BY created, job_id")]

    def update_info(self, run_id: str, **values: Any) -> None:
        """Merge values into the run's info dict (sizes, coverage, timings). Read and write
        are one transaction: a user renaming a run while its worker or the engine records
        something loses neither change."""
        check_run_id(run_id)
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT info FROM jobs WHERE job_id = ?", (run_id,)).fetchone()
                if row is None:
                    raise StoreError(f"Run {run_id} does not exist.")
                info = {**json.loads(row[0] or "{}"), **values}
                db.execute("UPDATE jobs SET info = ?, updated = ? WHERE job_id = ?",
                           (json.dumps(info), time.time(), run_id))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def request_cancel(self, run_id: str) -> None:
        self._update(run_id, cancel_requested=1)

    def cancel_requested(self, run_id: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT cancel_requested FROM jobs WHERE job_id = ?",
                             (check_run_id(run_id),)).fetchone()
        return bool(row and row[0])

    def add_epoch(self, run_id: str, epoch: int, metrics: dict[str, Any]) -> None:
        self._add_row("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?)",
                      (check_run_id(run_id), int(epoch), json.dumps(metrics)))

    def _add_row(self, sql: str, values: tuple) -> None:
        """Insert a run's row (``values[0]`` is its id) and mark the run updated, in one
        connection and one transaction: each connection closed alone checkpoints SQLite's
        log (~1.4 ms, measured), and both writes land together or not at all: on any error
        the transaction is left open and closing the connection (``_db``) rolls it back."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute(sql, values)
            cur = db.execute("UPDATE jobs SET updated = ? WHERE job_id = ?",
                             (time.time(), values[0]))
            if cur.rowcount == 0:
                raise StoreError(f"Run {values[0]} does not exist.")
            db.execute("COMMIT")

    def add_snapshot(self, run_id: str, idx: int, epoch: int, step: int,
                     embedding: np.ndarray, docvecs: np.ndarray | None = None) -> None:
        """Write the snapshot's arrays first, then its row: readers only see complete ones."""
        self.save_array(run_id, f"snapshots/emb_{idx:04d}", embedding)
        if docvecs is not None:
            self.save_array(run_id, f"snapshots/doc_{idx:04d}", docvecs)
        self._add_row("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?)",
                      (run_id, int(idx), int(epoch), int(step), time.time()))

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
        info = row_to_info(row, epochs, snaps)
        if info.status == "running" and job_id in self._unrecorded:
            return replace(info, status="failed", error=self._unrecorded[job_id])
        return info

    def list_runs(self) -> list[RunInfo]:
        """All runs, newest first."""
        return self.list_jobs("run")

    def list_jobs(self, kind: str | None = None) -> list[RunInfo]:
        """All jobs of ``kind`` (None: runs and experiments), newest first. Running jobs whose
        writer is gone are marked failed first (every lister — the CLI, the dashboard, the
        engine — sees the truth without a reconcile step of its own)."""
        query = "SELECT job_id, status FROM jobs" + (" WHERE kind = ?" if kind else "")
        with self._db() as db:
            rows = db.execute(query + " ORDER BY created DESC, job_id DESC",
                              (kind,) if kind else ()).fetchall()
        self.reap([r[0] for r in rows if r[1] == "running"])
        return [self.get_job(r[0]) for r in rows]

    def delete_run(self, run_id: str) -> None:
        """Delete a run, its rows and its folder (callers refuse live runs first:
        ``core.jobs.queue.delete_run``)."""
        folder = self.run_dir(run_id)
        with self._db() as db:
            db.execute("DELETE FROM jobs WHERE job_id = ?", (run_id,))
            for table in ("epochs", "snapshots"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
        self._release(run_id)
        self._unrecorded.pop(run_id, None)
        self._lock_path(run_id).unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)

