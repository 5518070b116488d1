"""Child processes: the one Popen-and-reap helper (workers and the engine), liveness checks
(psutil) and the watch that stops a child when its parent server is gone."""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Callable

import psutil

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # where ``python -m core`` resolves


def spawn(args: list[str], log_path: Path) -> int:
    """Start ``python -m core ARGS`` in its own session (a Streamlit rerun or a closed tab
    cannot signal it), output appended to ``log_path``; returns its pid. A daemon thread reaps
    it when it ends, so it never lingers as a zombie that looks alive."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "core", *args],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, cwd=PROJECT_ROOT)
    threading.Thread(target=proc.wait, daemon=True).start()
    return proc.pid


def process_alive(pid: int | None, marker: str) -> bool:
    """True when ``pid`` is a live (not zombie) process whose command line names ``marker``
    (a job id): guards against the pid having been reused by another process."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        return (proc.status() != psutil.STATUS_ZOMBIE
                and any(marker in part for part in proc.cmdline()))
    except (psutil.Error, OSError):
        return False


def parent_watch(pid: int | None) -> Callable[[], bool] | None:
    """A should_stop that fires once process ``pid`` (the server that started us) is gone,
    so a child never outlives its server as an orphan."""
    if not pid:
        return None

    def gone() -> bool:
        return not psutil.pid_exists(pid) or os.getppid() != pid
    return gone


def try_lock(path: Path) -> IO | None:
    """An exclusive, non-blocking file lock (released by the kernel when the holder dies,
    even on ``kill -9``); the open file while held, None when another process holds it."""
    fh = open(path, "a")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return None
    return fh
