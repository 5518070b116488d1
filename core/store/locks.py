"""Writer locks: the process writing a job holds an exclusive ``flock`` on
``.locks/<job_id>.lock`` while it writes; a reader that can take the lock of a "running" job
knows its writer is gone and marks it failed (``reap``). ``Liveness`` is the part of
``RunStore`` that takes, releases and probes these locks."""
from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from core.errors import StoreError
from core.store.records import check_run_id, interrupted_error

LOCKS = ".locks"  # one writer lock per job: <job_id>.lock
WRITER_WAIT = 10.0  # seconds a writer waits out another process's momentary probe of its lock


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


def identity() -> dict[str, Any]:
    """This process as the job row records it: pid, host, start time (guards pid reuse)."""
    import psutil

    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": psutil.Process().create_time()}



class Liveness:
    """``RunStore``'s writer locks (mixed in: uses its ``root``, ``_db`` and
    ``_unrecorded``)."""

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
        error = interrupted_error(row)
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
        fields = {"status": "running", "error": None, "updated": time.time(), **identity()}
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._db() as db:
            cur = db.execute(f"UPDATE jobs SET {cols} WHERE job_id = ? AND status IN"
                             f" ('queued', 'running')", [*fields.values(), job_id])
        return cur.rowcount == 1

