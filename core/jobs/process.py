"""Child processes: the one Popen-and-reap helper (workers and the engine), the watch that
stops a child when its parent server is gone, and SIGTERM turned into a clean stop. (Whether a
job's process lives is the store's writer lock: ``RunStore.writing``.)"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import psutil

from core.errors import CancelledError
# The one file-lock helper lives with the store, whose job writers need it below this layer.

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # where ``python -m core`` resolves


def spawn(args: list[str], log_path: Path, keep_fds: tuple[int, ...] = ()) -> int:
    """Start ``python -m core ARGS`` in its own session (a Streamlit rerun or a closed tab
    cannot signal it), output appended to ``log_path``; returns its pid. ``keep_fds`` are
    inherited (a worker is born holding its slot's lock). A daemon thread reaps it when it
    ends, so it never lingers as a zombie that looks alive."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "core", *args],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, cwd=PROJECT_ROOT, pass_fds=keep_fds)
    threading.Thread(target=proc.wait, daemon=True).start()
    return proc.pid


def parent_watch(pid: int | None) -> Callable[[], bool] | None:
    """A should_stop that fires once process ``pid`` (the server that started us) is gone,
    so a child never outlives its server as an orphan."""
    if not pid:
        return None

    def gone() -> bool:
        return not psutil.pid_exists(pid) or os.getppid() != pid
    return gone


@contextmanager
def sigterm_stops() -> Iterator[Callable[[], bool]]:
    """Within the block SIGTERM asks for a clean stop: the should_stop it yields turns True,
    so training ends "cancelled" after the current batch; a second SIGTERM cancels at once.
    The previous handler comes back afterwards (main thread only)."""
    state = {"stop": False}

    def handle(signum, frame) -> None:
        if state["stop"]:
            raise CancelledError("Stopped by a second SIGTERM.")
        state["stop"] = True

    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield lambda: state["stop"]
    finally:
        signal.signal(signal.SIGTERM, previous)
