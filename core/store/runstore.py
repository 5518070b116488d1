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

import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Iterable, Iterator
from urllib.parse import quote

import numpy as np
import pandas as pd

from core.common.checks import bounded, check_fields
from core.common.files import atomic_write, npy
from core.errors import StoreError

STATUSES = ("queued", "running", "done", "failed", "cancelled")
LIVE = ("queued", "running")  # a job in one of these has (or waits for) a process
KINDS = ("run", "experiment", "import")  # import: saved weights read by a worker
_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,80}$")

LOCKS = ".locks"  # one writer lock per job: <job_id>.lock
WRITER_WAIT = 10.0  # seconds a writer waits out another process's momentary probe of its lock
MB = 2**20
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_SQLITE_FULL, _SQLITE_IOERR, _SQLITE_READONLY = 13, 10, 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY, kind TEXT NOT NULL DEFAULT 'run', created REAL, updated REAL,
    status TEXT, label TEXT, config TEXT, fingerprint TEXT, info TEXT, error TEXT,
    pid INTEGER, cancel_requested INTEGER DEFAULT 0, host TEXT, started REAL);
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
    host: str | None = None  # the writer's host and process start time (pid is above)
    started: float | None = None

    @property
    def n_snapshots(self) -> int:
        return len(self.snapshots)

    def val_accuracy_at(self, snapshot: dict[str, int]) -> float:
        """The validation accuracy measured at this snapshot (the end of its epoch); NaN at
        step 0 and for a snapshot taken within an epoch."""
        for e in self.epochs:
            if e["epoch"] == snapshot["epoch"] and e.get("step") == snapshot["step"]:
                return float(e.get("val_accuracy", "nan"))  # tracked runs may not give it
        return float("nan")

    def best(self) -> dict[str, Any] | None:
        """The best epoch (lowest validation loss): {"epoch", "val_accuracy", "val_loss",
        "snapshot"} (snapshot: index taken at that epoch's end, or None), or None before any
        epoch with a validation loss. Runs trained before the trainer recorded it (no
        ``best_epoch`` in info) get the same rule applied to their epochs."""
        return best_epoch(self.epochs, self.snapshots, self.info)


def best_epoch(epochs: list[dict[str, Any]], snapshots: list[dict[str, int]],
               info: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """``RunInfo.best`` from a run's epoch rows and snapshot rows (charts call it on the
    epochs alone); ``info`` keys written by the trainer win over recomputing."""
    info = info or {}
    rows = {e["epoch"]: e for e in epochs}
    epoch = info.get("best_epoch")
    if epoch not in rows:
        finite = [e for e in epochs if _finite(e.get("val_loss"))]
        if not finite:
            return None
        epoch = min(finite, key=lambda e: (e["val_loss"], e["epoch"]))["epoch"]
    row = rows[epoch]
    snapshot = info.get("best_snapshot") if info.get("best_epoch") == epoch else None
    if snapshot is None:
        snapshot = next((s["idx"] for s in snapshots if s["epoch"] == epoch
                         and s["step"] == row.get("step")), None)
    return {"epoch": int(epoch), "val_accuracy": _nan_if_none(row.get("val_accuracy")),
            "val_loss": _nan_if_none(row.get("val_loss")), "snapshot": snapshot}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
        and abs(value) != float("inf")


def _nan_if_none(value: Any) -> float:
    return float("nan") if value is None else float(value)


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


# -- locks -------------------------------------------------------------------------------
def try_lock(path: Path) -> IO | None:
    """An exclusive, non-blocking file lock (released by the kernel when the holder dies,
    even on ``kill -9``); the open file while held, None when another process holds it.
    The one lock helper: job writers, worker slots and the engine all use it."""
    fh = open(path, "a")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return None
    return fh


# Writer locks this process holds: lock path -> [open file, depth of ``writing`` blocks].
# Depth 0 = taken by setting the job running; released when its final status is written.
# Keyed by path, so every RunStore object on one root shares them (flock would refuse a
# second open file of the same process).
_HELD: dict[Path, list] = {}
_HELD_GUARD = threading.Lock()


def _identity() -> dict[str, Any]:
    """This process as the job row records it: pid, host, start time (guards pid reuse)."""
    import psutil

    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": psutil.Process().create_time()}


# -- disk --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiskBudget:
    """How much disk runs may take: above ``run_mb`` a run is warned about (the dashboard
    refuses it); a run that would leave less than ``margin_mb`` free (at most a tenth of the
    disk) or push the store past ``store_mb`` is refused before it starts."""

    run_mb: int = bounded(500, 1, 1_000_000)
    store_mb: int = bounded(50_000, 1, 100_000_000)
    margin_mb: int = bounded(50, 0, 1_000_000)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class RunSize:
    """What a run writes, known before it trains: per snapshot the embedding (rows x dim),
    the document vectors (docs x doc_dim) and the output layer, float32; plus its tables."""

    rows: int
    dim: int
    snapshots: int
    docs: int
    doc_dim: int
    classes: int = 2
    texts: int = 0

    @property
    def bytes(self) -> int:
        per_snapshot = 4 * (self.rows * self.dim + self.docs * self.doc_dim
                            + (self.classes + 1) * self.doc_dim) + 512
        cached = 2 * 8 * self.rows * self.snapshots  # the engine's 2-D frames, live and final
        tables = 64 * self.rows + 200 * self.texts
        return self.snapshots * per_snapshot + cached + tables

    def describe(self) -> str:
        return (f"{self.snapshots} snapshots of {self.rows:,} words x {self.dim} and "
                f"{self.docs:,} documents x {self.doc_dim}")


def planned_snapshots(epochs: int, batches_per_epoch: int, every_epoch: bool,
                      snapshot_every: int, keeps_best: bool = False) -> int:
    """How many snapshots a run takes at most: step 0, every ``snapshot_every`` steps, and the
    end of every epoch (``every_epoch``) or of the last one, unless a step snapshot was just
    taken (the trainer's rule, ``trainer._snapshot_due``). ``keeps_best``: the trainer also
    writes the best epoch's table when the mode would not (``_Trainer.hold``), at most once
    per epoch before the last when step snapshots follow it, else once."""
    total = _extra_best(epochs, every_epoch, snapshot_every) if keeps_best else 1
    for epoch in range(1, epochs + 1):
        end = epoch * batches_per_epoch
        if snapshot_every:
            total += end // snapshot_every - (end - batches_per_epoch) // snapshot_every
            if end % snapshot_every == 0:
                continue
        total += int(every_epoch or epoch == epochs)
    return total


def _extra_best(epochs: int, every_epoch: bool, snapshot_every: int) -> int:
    """1 (step 0) plus the most best-epoch snapshots a run writes beyond its plan."""
    if every_epoch or epochs < 2:
        return 1
    return 1 + (epochs - 1 if snapshot_every else 1)


def _mb(n: float) -> str:
    return f"{n / MB:,.1f} MB"


def _is_disk_full(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT, numpy's errno-less short write, or SQLite's SQLITE_FULL."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF == _SQLITE_FULL) or "is full" in str(exc)
    text = str(exc)
    return isinstance(exc, OSError) and (
        exc.errno in _FULL_ERRNOS or "No space left" in text
        or bool(re.search(r"requested and \d+ written", text)))


def _is_read_only(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF == _SQLITE_READONLY


def _is_io_error(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and (
        (code is not None and code & 0xFF == _SQLITE_IOERR) or "disk I/O error" in str(exc))


class RunStore:
    """Runs under one root folder: ``runs.sqlite`` plus a folder per run."""

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
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"'{self.root / 'runs.sqlite'}' is not a run store database "
                             f"({exc}): move it away or choose another store") from None
        if (self.root / "experiments").is_dir():
            from core.store.migrate import import_json_experiments

            import_json_experiments(self)

    def _migrate(self) -> None:
        """Bring the database to the current schema. Only a store that needs it is written to,
        so a store on a full disk still opens for reading."""
        from core.store.migrate import add_missing_columns, schema_is_current

        with self._db() as db:
            if schema_is_current(db):
                return
            db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait and see it
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "runs" in tables and "jobs" not in tables:
                for statement in filter(str.strip, _MIGRATE_RUNS.split(";")):
                    db.execute(statement)
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            add_missing_columns(db)
            db.execute("COMMIT")

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
            if not (_is_disk_full(exc) or _is_io_error(exc)) or self.disk_free() >= MB:
                raise
            # A full disk: SQLite cannot create its shared-memory file, so even a read fails.
            # Read the database file as it is (the last connection to close merged its log
            # into it); a write then fails as "read-only", reported as the full disk.
            db = sqlite3.connect(f"file:{quote(str(path))}?immutable=1", uri=True,
                                 isolation_level=None)
        db.row_factory = sqlite3.Row
        return db

    @contextmanager
    def disk_guard(self) -> Iterator[None]:
        """Turn a full disk (or SQLite's I/O error on one) into one StoreError a user can act
        on, instead of a traceback from deep inside numpy, pyarrow or sqlite3."""
        try:
            yield
        except (OSError, sqlite3.Error) as exc:
            if _is_disk_full(exc) or ((_is_io_error(exc) or _is_read_only(exc))
                                      and self.disk_free() < MB):
                raise StoreError(self._full_message()) from exc
            if _is_io_error(exc):
                raise StoreError(f"the run store's database in {self.root} could not be "
                                 f"written ({exc}): check the disk or choose another --store"
                                 ) from exc
            raise

    def disk_free(self) -> int:
        """Bytes free on the disk holding the store (0 if it cannot be asked)."""
        try:
            return shutil.disk_usage(self.root).free
        except OSError:
            return 0

    def _full_message(self) -> str:
        return (f"the disk holding the run store is full ({self.root}: "
                f"{_mb(self.disk_free())} free): free space or choose another --store")

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
                   job_id: str | None = None, created: float | None = None,
                   hold: bool = True) -> str:
        """Register a job (a run or an experiment) in the status table; returns its id.
        A job created "running" is written by this process, which takes its writer lock
        first (``hold`` False: a record copied from elsewhere, written by nobody here)."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        job_id = check_run_id(job_id or new_run_id())
        writer = {"pid": None, "host": None, "started": None}
        if status == "running" and hold:
            self._acquire(job_id)
            writer = _identity()
        now = time.time()
        with self._db() as db:
            db.execute(
                "INSERT INTO jobs (job_id, kind, created, updated, status, label, config,"
                " fingerprint, info, error, pid, host, started)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                (job_id, kind, created or now, now, status, label, json.dumps(config),
                 fingerprint, json.dumps(info or {}), writer["pid"], writer["host"],
                 writer["started"]))
        return job_id

    def set_status(self, run_id: str, status: str, error: str | None = None) -> None:
        """Record a job's status. Setting it running makes this process its writer (it takes
        the writer lock); a final status lets go of a lock taken that way."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        if status == "running":
            self._acquire(run_id)
            self._update(run_id, status=status, error=error, **_identity())
            return
        self._update(run_id, status=status, error=error)
        if status not in LIVE:
            self._release(run_id, adopted_only=True)

    def touch(self, job_id: str) -> None:
        """Mark the job as just updated (the queue's grace periods count from here)."""
        self._update(job_id)

    # -- liveness --------------------------------------------------------------------------
    def _lock_path(self, job_id: str) -> Path:
        return self.root / LOCKS / f"{check_run_id(job_id)}.lock"

    def _acquire(self, job_id: str, wait: float = WRITER_WAIT) -> list:
        """Hold the job's writer lock in this process (re-entrant); returns its entry in
        ``_HELD``. Waits out readers' momentary probes; StoreError if a writer has it."""
        path, deadline = self._lock_path(job_id), time.monotonic() + wait
        with self.disk_guard():
            path.parent.mkdir(exist_ok=True)
            while True:
                with _HELD_GUARD:
                    if path in _HELD:  # this process writes it already
                        return _HELD[path]
                    fh = try_lock(path)
                    if fh is not None:
                        _HELD[path] = [fh, 0]
                        return _HELD[path]
                if time.monotonic() >= deadline:
                    raise StoreError(f"Job {job_id} is being written by another process "
                                     f"(pid {self._pid(job_id)}); cancel it first.")
                time.sleep(0.02)

    def _release(self, job_id: str, adopted_only: bool = False) -> None:
        path = self._lock_path(job_id)
        with _HELD_GUARD:
            entry = _HELD.get(path)
            if entry is None or (adopted_only and entry[1] > 0):
                return
            del _HELD[path]
        entry[0].close()

    def _pid(self, job_id: str) -> int | None:
        with self._db() as db:
            row = db.execute("SELECT pid FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return row[0] if row else None

    @contextmanager
    def writing(self, job_id: str, wait: float = WRITER_WAIT) -> Iterator[None]:
        """Be the job's writer for the block: its lock is held until the block ends (or the
        process dies, when the kernel drops it), so readers can tell a live writer from a
        dead one. Every writer uses this: ``train_run``, the worker, trackers."""
        entry = self._acquire(job_id, wait)
        with _HELD_GUARD:
            entry[1] += 1
        try:
            yield
        finally:
            with _HELD_GUARD:
                entry[1] -= 1
                last = entry[1] == 0
            if last:
                self._release(job_id)

    def writer_alive(self, job_id: str) -> bool:
        """True while a process holds the job's writer lock (this one included)."""
        path = self._lock_path(job_id)
        with _HELD_GUARD:
            if path in _HELD:
                return True
        try:
            fh = try_lock(path)
        except OSError:
            return True  # cannot tell (a read-only store): assume it lives
        if fh is not None:
            fh.close()
        return fh is None

    def reap(self, job_ids: Iterable[str] | None = None) -> list[str]:
        """Mark failed every running job (of ``job_ids``; default all) whose writer is gone
        — its lock is free — keeping what it saved; returns their ids."""
        if job_ids is None:
            with self._db() as db:
                job_ids = [r[0] for r in db.execute(
                    "SELECT job_id FROM jobs WHERE status = 'running'")]
        return [job_id for job_id in job_ids if self._reap_one(job_id)]

    def _reap_one(self, job_id: str) -> bool:
        path = self._lock_path(job_id)
        with _HELD_GUARD:
            if path in _HELD:
                return False  # written by this very process
        try:
            fh = try_lock(path)
        except OSError:
            return False
        if fh is None:
            return False
        try:  # while we hold the lock no writer can start or finish this job
            return self._fail_interrupted(job_id)
        finally:
            fh.close()

    def _fail_interrupted(self, job_id: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT kind, pid, host, started FROM jobs WHERE job_id = ? AND"
                             " status = 'running'", (job_id,)).fetchone()
        if row is None:
            return False
        error = _interrupted(row)
        try:
            with self._db() as db:
                db.execute("UPDATE jobs SET status = 'failed', error = ?, updated = ?"
                           " WHERE job_id = ? AND status = 'running'", (error, time.time(), job_id))
        except StoreError:  # disk full: say so to readers now, write it when there is room
            self._unrecorded[job_id] = error
            return True
        self._unrecorded.pop(job_id, None)
        return True

    def start_job(self, job_id: str) -> bool:
        """Claim a queued job for this process (which must hold its writer lock): it becomes
        running with this process as its writer. False if it is no longer queued (cancelled,
        finished); a job left running by a dead writer is taken over."""
        if self._lock_path(job_id) not in _HELD:
            raise StoreError(f"Job {job_id} can only be started by the process writing it.")
        fields = {"status": "running", "error": None, "updated": time.time(), **_identity()}
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._db() as db:
            cur = db.execute(f"UPDATE jobs SET {cols} WHERE job_id = ? AND status IN"
                             f" ('queued', 'running')", [*fields.values(), job_id])
        return cur.rowcount == 1

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
        info = _row_to_info(row, epochs, snaps)
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

    # -- disk budget -----------------------------------------------------------------------
    def size_on_disk(self) -> int:
        """Bytes the store's files take now."""
        total = 0
        for folder, _, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.stat(os.path.join(folder, name)).st_size
                except OSError:
                    pass  # removed while we walked
        return total

    def check_space(self, size: RunSize) -> str | None:
        """Refuse (StoreError) a run that would not fit: more than the free space minus a
        margin, or past the store's budget. Returns a warning when it is above the per-run
        budget, else None."""
        usage = shutil.disk_usage(self.root)
        margin = min(self.budget.margin_mb * MB, usage.total // 10)
        need = size.bytes
        if need > usage.free - margin:
            raise StoreError(
                f"this run needs about {_mb(need)} in the run store ({size.describe()}), but "
                f"the disk holding it ({self.root}) has {_mb(usage.free)} free and "
                f"{_mb(margin)} must stay free: free space, train fewer epochs or a smaller "
                f"vector size, or choose another --store")
        used = self.size_on_disk()
        if used + need > self.budget.store_mb * MB:
            raise StoreError(
                f"this run needs about {_mb(need)}, and the run store already holds "
                f"{_mb(used)} of its {_mb(self.budget.store_mb * MB)} budget (store_mb): "
                f"delete old runs or choose another --store")
        if need > self.budget.run_mb * MB:
            return (f"this run will take about {_mb(need)} in the run store "
                    f"({size.describe()}), above the per-run budget of "
                    f"{_mb(self.budget.run_mb * MB)} (run_mb)")
        return None

    # -- files -----------------------------------------------------------------------------
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


def _interrupted(row: sqlite3.Row) -> str:
    """The error of a job whose writer died, naming the process as the row recorded it."""
    noun = "experiment" if row["kind"] == "experiment" else "run"
    who = f"pid {row['pid']}" if row["pid"] else "no process recorded"
    if row["host"]:
        who += f" on {row['host']}"
    if row["started"]:
        who += ", started " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["started"]))
    return (f"interrupted: the process writing this {noun} stopped ({who}); what it saved "
            f"before is kept and readable")


def _row_to_info(row: sqlite3.Row, epochs: list, snaps: list) -> RunInfo:
    return RunInfo(
        run_id=row["job_id"], status=row["status"], created=row["created"],
        updated=row["updated"], label=row["label"] or "", config=json.loads(row["config"]),
        fingerprint=row["fingerprint"] or "", info=json.loads(row["info"] or "{}"),
        error=row["error"], pid=row["pid"], cancel_requested=bool(row["cancel_requested"]),
        epochs=[{"epoch": e[0], **json.loads(e[1])} for e in epochs],
        snapshots=[{"idx": s[0], "epoch": s[1], "step": s[2]} for s in snaps],
        kind=row["kind"], host=row["host"], started=row["started"],
    )
