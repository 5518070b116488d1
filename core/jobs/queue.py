"""The one job system: training runs and experiments in their own worker processes, so a
browser refresh, a Streamlit rerun or a closed tab never interrupts them, and a server restart
finds them again in the store.

``submit_run`` / ``submit_experiment`` write the job (status ``queued``) and its data set into
the store and start ``python -m core worker ID`` (``core.jobs.workers``). The worker waits for
one of ``max_jobs`` slots (file locks, which the kernel releases even on ``kill -9``), runs,
and polls the jobs table for a cancel request between batches. ``reconcile`` marks jobs whose
worker died as ``failed``.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from core.common.files import atomic_write
from core.jobs.process import process_alive, spawn, try_lock
from core.store.runstore import LIVE, RunInfo, RunStore
from core.training.experiments import experiment_dir, experiment_label, load_experiment

DEFAULT_MAX_JOBS = 1  # 2 cores: one job at a time keeps the server responsive
SUBMIT_GRACE = 30.0  # seconds a queued job may still be in submit before its worker exists
_DIED = {
    "run": "The training process stopped unexpectedly; epochs finished before that are kept.",
    "experiment": "The experiment process stopped unexpectedly; the runs finished before "
                  "that are kept.",
}


def _frame(dataset) -> pd.DataFrame:
    return pd.DataFrame({"text": list(dataset.texts),
                         "label": [dataset.classes[i] for i in dataset.labels]})


def dataset_path(store: RunStore, job: RunInfo) -> Path:
    """Where a queued job's data set is kept (the worker rebuilds it from there)."""
    if job.kind == "experiment":
        return experiment_dir(store, job.run_id) / "dataset.parquet"
    return store.run_dir(job.run_id) / "dataset.parquet"


def load_job_dataset(store: RunStore, job: RunInfo):
    from core.data.loading import Dataset

    frame = pd.read_parquet(dataset_path(store, job))
    return Dataset.from_lists(frame["text"].tolist(), frame["label"].tolist())


def _start(store: RunStore, job_id: str, dataset, max_jobs: int) -> None:
    path = dataset_path(store, store.get_job(job_id))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda p: _frame(dataset).to_parquet(p, index=False))
    pid = spawn(["worker", job_id, "--store", str(store.root), "--max-jobs", str(max_jobs)],
                path.parent / "worker.log")
    store.set_pid(job_id, pid)


def submit_run(store: RunStore, dataset, config, *, label: str = "",
               max_jobs: int = DEFAULT_MAX_JOBS) -> str:
    """Queue a training run and start its worker process; returns the run id at once."""
    run_id = store.create_run(config.to_dict(), dataset.fingerprint(), status="queued",
                              label=label, info={"classes": list(dataset.classes), "worker": True})
    _start(store, run_id, dataset, max_jobs)
    return run_id


def submit_experiment(store: RunStore, dataset, config, *,
                      max_jobs: int = DEFAULT_MAX_JOBS) -> str:
    """Queue a learning-curve experiment and start its worker process; returns its id."""
    from core.data.loading import Dataset

    # The worker rebuilds the data set from the saved table: record the fingerprint it sees.
    frame = _frame(dataset)
    saved = Dataset.from_lists(frame["text"].tolist(), frame["label"].tolist())
    experiment_id = store.create_job(
        "experiment", config.to_dict(), saved.fingerprint(), status="queued",
        info={"done": 0, "total": len(config.cells()), "classes": list(saved.classes),
              "worker": True})
    _start(store, experiment_id, saved, max_jobs)
    return experiment_id


def cancel(store: RunStore, job_id: str) -> None:
    """Ask a queued or running job to stop; its worker ends it as ``cancelled``."""
    store.request_cancel(job_id)


def _worker_gone(job: RunInfo) -> bool:
    if job.status not in LIVE or not job.info.get("worker"):
        return False  # finished, or run in-process by the CLI (no worker to watch)
    if job.status == "queued" and time.time() - job.updated < SUBMIT_GRACE:
        return False  # submit may not have started the worker and recorded its pid yet
    return not process_alive(job.pid, job.run_id)


def _mark_dead(store: RunStore, job: RunInfo) -> None:
    store.set_status(job.run_id, "failed", error=_DIED[job.kind])
    if job.kind == "experiment":  # the run it was training has no worker of its own
        label = experiment_label(job.run_id)
        for run in store.list_runs():
            if run.label == label and run.status in LIVE:
                store.set_status(run.run_id, "failed", error=_DIED["run"])


def reconcile(store: RunStore) -> list[str]:
    """Mark queued/running jobs whose worker is gone as failed; returns their ids.
    Jobs run in-process by the CLI have no worker process and are left alone."""
    failed = []
    for job in store.list_jobs():
        if _worker_gone(job):
            _mark_dead(store, job)
            failed.append(job.run_id)
    return failed


def refresh(store: RunStore, job_id: str) -> RunInfo:
    """The job as stored, marked failed first if its worker died (kill -9, OOM) while the
    dashboard is up: a live view polling this never shows "running" forever."""
    job = store.get_job(job_id)
    if _worker_gone(job):
        _mark_dead(store, job)
        job = store.get_job(job_id)
    return job


def refresh_experiment(store: RunStore, experiment_id: str):
    """``refresh`` for an experiment, read back as a ``core.training.experiments.Experiment``."""
    refresh(store, experiment_id)
    return load_experiment(store, experiment_id)


def progress(store: RunStore, experiment_id: str) -> dict:
    """What an experiment's worker is training now: ``index``/``total`` (1-based run
    number), ``init``, ``size``, ``seed``, ``epoch``/``epochs``; {} before the first run."""
    return dict(store.get_job(experiment_id, "experiment").info.get("progress", {}))


def busy_slots(store: RunStore) -> int:
    """How many jobs are running now (for a 'queued/busy' message)."""
    return sum(1 for job in store.list_jobs() if job.status == "running"
               and process_alive(job.pid, job.run_id))


@contextmanager
def slot(store: RunStore, job_id: str, max_jobs: int,
         cancelled: Callable[[], bool]) -> Iterator[bool]:
    """Hold one of ``max_jobs`` file-lock slots (shared by every job); yields False if
    cancelled while waiting."""
    folder = store.root / ".slots"
    folder.mkdir(exist_ok=True)
    while True:
        for i in range(max_jobs):
            fh = try_lock(folder / f"slot{i}")
            if fh is None:
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
    """A cheap should_stop: calls ``check`` (a store look-up) at most every ``every`` seconds
    and repeats its last answer in between."""
    state = {"at": 0.0, "stop": False}

    def should_stop() -> bool:
        now = time.monotonic()
        if now - state["at"] >= every:
            state["at"], state["stop"] = now, check()
        return state["stop"]
    return should_stop
