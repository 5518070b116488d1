"""Training jobs in their own processes, so a browser refresh, a Streamlit rerun or a closed
tab never interrupts them, and a server restart finds them again in the store.

``submit`` writes the data set and config into the run store (status ``queued``) and starts
``python -m core worker RUN_ID``. The worker waits for one of ``max_jobs`` slots (file locks,
which the kernel releases even on ``kill -9``), trains, and polls the store for a cancel
request between batches. ``reconcile`` marks runs whose worker died as ``failed``.
"""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from core.errors import StoreError
from core.store import RunStore, check_run_id

DEFAULT_MAX_JOBS = 1  # 2 cores: one training job at a time keeps the server responsive
_LIVE = ("queued", "running")


def submit(store: RunStore, dataset, config, *, label: str = "",
           max_jobs: int = DEFAULT_MAX_JOBS) -> str:
    """Queue a training run and start its worker process; returns the run id at once."""
    run_id = store.create_run(config.to_dict(), dataset.fingerprint(), status="queued",
                              label=label, info={"classes": list(dataset.classes), "worker": True})
    frame = pd.DataFrame({"text": list(dataset.texts),
                          "label": [dataset.classes[i] for i in dataset.labels]})
    store.save_frame(run_id, "dataset", frame)
    log = open(store.run_dir(run_id) / "worker.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "worker", run_id, "--store", str(store.root),
         "--max-jobs", str(max_jobs)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        cwd=Path(__file__).resolve().parents[1])
    log.close()
    store.set_pid(run_id, proc.pid)
    # Reap the child when it ends so it does not linger as a zombie that looks alive.
    threading.Thread(target=proc.wait, daemon=True).start()
    return run_id


def cancel(store: RunStore, run_id: str) -> None:
    """Ask a queued or running job to stop; the worker ends it as ``cancelled``."""
    store.request_cancel(run_id)


def process_alive(pid: int | None, run_id: str) -> bool:
    """True when ``pid`` is a live (not zombie) worker for this run: guards PID reuse."""
    if not pid:
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    zombie = any(line.startswith("State:") and "Z" in line.split()[1]
                 for line in status.splitlines())
    return not zombie and run_id in cmdline


SUBMIT_GRACE = 30.0  # seconds a queued run may still be in submit() before its worker exists
_DIED = "The training process stopped unexpectedly; epochs finished before that are kept."


def _worker_gone(run) -> bool:
    if run.status not in _LIVE or not run.info.get("worker"):
        return False  # finished, or trained in-process by the CLI (no worker to watch)
    if run.status == "queued" and time.time() - run.updated < SUBMIT_GRACE:
        return False  # submit() may not have started the worker and recorded its pid yet
    return not process_alive(run.pid, run.run_id)


def reconcile(store: RunStore) -> list[str]:
    """Mark queued/running runs whose worker is gone as failed; returns their ids.
    Runs trained in-process by the CLI have no worker process and are left alone."""
    failed = []
    for run in store.list_runs():
        if _worker_gone(run):
            store.set_status(run.run_id, "failed", error=_DIED)
            failed.append(run.run_id)
    return failed


def refresh(store: RunStore, run_id: str):
    """The run as stored, marked failed first if its worker died (kill -9, OOM) while the
    dashboard is up: a live view polling this never shows "running" forever."""
    run = store.get_run(run_id)
    if _worker_gone(run):
        store.set_status(run_id, "failed", error=_DIED)
        run = store.get_run(run_id)
    return run


def busy_slots(store: RunStore) -> int:
    """How many jobs are training now (for a 'queued/busy' message)."""
    return sum(1 for r in store.list_runs() if r.status == "running"
               and process_alive(r.pid, r.run_id))


@contextmanager
def slot(store: RunStore, job_id: str, max_jobs: int,
         cancelled: Callable[[], bool]) -> Iterator[bool]:
    """Hold one of ``max_jobs`` file-lock slots (shared by training runs and experiments);
    yields False if cancelled while waiting."""
    folder = store.root / ".slots"
    folder.mkdir(exist_ok=True)
    while True:
        for i in range(max_jobs):
            fh = open(folder / f"slot{i}", "a")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                continue
            try:
                yield True
            finally:
                fh.close()
            return
        if cancelled():
            yield False
            return
        time.sleep(0.5)


def poller(check: Callable[[], bool], every: float = 0.5) -> Callable[[], bool]:
    """A cheap should_stop: calls ``check`` (a store or file look-up) at most every ``every``
    seconds and repeats its last answer in between."""
    state = {"at": 0.0, "stop": False}

    def should_stop() -> bool:
        now = time.monotonic()
        if now - state["at"] >= every:
            state["at"], state["stop"] = now, check()
        return state["stop"]
    return should_stop


def _poller(store: RunStore, run_id: str, every: float = 0.5) -> Callable[[], bool]:
    return poller(lambda: store.cancel_requested(run_id), every)


def load_job_dataset(store: RunStore, run_id: str):
    from core.data import Dataset

    frame = store.load_frame(run_id, "dataset")
    return Dataset.from_lists(frame["text"].tolist(), frame["label"].tolist())


def run_worker(store: RunStore, run_id: str, max_jobs: int = DEFAULT_MAX_JOBS,
               callback=None) -> str:
    """Body of the worker process: wait for a slot, train, return the final status."""
    from core.train import TrainConfig, train_run

    check_run_id(run_id)
    run = store.get_run(run_id)
    if run.status not in _LIVE:
        raise StoreError(f"Run {run_id} is {run.status}, not queued.")
    store.set_pid(run_id, os.getpid())
    should_stop = _poller(store, run_id)
    with slot(store, run_id, max_jobs, should_stop) as got_slot:
        if not got_slot:
            store.set_status(run_id, "cancelled")
            return "cancelled"
        config = TrainConfig(**run.config)
        summary = train_run(load_job_dataset(store, run_id), config, store, run_id=run_id,
                            callback=callback, should_stop=should_stop)
    return summary.status
