"""The body of ``python -m core worker ID``: wait for a slot, run the queued job (a training
run or an experiment), leave its final status in the jobs table."""
from __future__ import annotations

import os
from typing import Callable

from core.errors import StoreError
from core.jobs.queue import DEFAULT_MAX_JOBS, load_job_dataset, poller, slot
from core.store.runstore import LIVE, RunInfo, RunStore, check_run_id

StopCheck = Callable[[], bool]


def _train(store: RunStore, job: RunInfo, should_stop: StopCheck, callback) -> str:
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    summary = train_run(load_job_dataset(store, job), TrainConfig(**job.config), store,
                        run_id=job.run_id, callback=callback, should_stop=should_stop)
    return summary.status


def _progress_writer(store: RunStore, experiment_id: str, epochs: int):
    """Records which run and epoch an experiment is training, for the progress bar."""
    def on_event(event) -> None:
        inner = event.data.get("event")
        if event.kind == "run_start" or (inner is not None and inner.kind == "epoch"):
            store.update_info(experiment_id, progress={
                "index": event.index, "total": event.total, "init": event.init,
                "size": event.size, "seed": event.seed, "epochs": epochs,
                "epoch": 0 if inner is None else inner.epoch})
    return on_event


def _experiment(store: RunStore, job: RunInfo, should_stop: StopCheck, callback) -> str:
    from core.training.config import ExperimentConfig
    from core.training.experiments import run_learning_curve

    config = ExperimentConfig.from_dict(job.config)
    run_learning_curve(load_job_dataset(store, job), config, store, experiment_id=job.run_id,
                       should_stop=should_stop,
                       callback=callback or _progress_writer(store, job.run_id,
                                                             config.train.epochs))
    return store.get_job(job.run_id).status


_RUNNERS = {"run": _train, "experiment": _experiment}


def run_job(store: RunStore, job_id: str, max_jobs: int = DEFAULT_MAX_JOBS,
            callback=None) -> tuple[str, str]:
    """Wait for a slot, run the job, return (its kind, its final status)."""
    check_run_id(job_id)
    job = store.get_job(job_id)
    if job.status not in LIVE:
        raise StoreError(f"{job.kind.capitalize()} {job_id} is {job.status}, not queued.")
    store.set_pid(job_id, os.getpid())
    should_stop = poller(lambda: store.cancel_requested(job_id))
    try:
        with slot(store, job_id, max_jobs, should_stop) as got_slot:
            if not got_slot:
                store.set_status(job_id, "cancelled")
                return job.kind, "cancelled"
            return job.kind, _RUNNERS[job.kind](store, job, should_stop, callback)
    except BaseException as exc:
        if store.get_job(job_id).status in LIVE:  # failed before its runner could say so
            store.set_status(job_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
