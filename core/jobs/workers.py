"""The body of ``python -m core worker``: holding a slot, run queued jobs (training runs or
experiments), oldest first, until none is left — one process serves the whole queue — and
leave each job's final status in the jobs table. ``worker ID`` runs one named job instead,
waiting for a slot first."""
from __future__ import annotations

import os
import sys
import traceback
from contextlib import ExitStack, contextmanager
from typing import IO, Callable, Iterator

from core.errors import StoreError
from core.jobs.queue import (DEFAULT_MAX_JOBS, dataset_path, free_slot, load_job_dataset,
                             poller, slot)
from core.store.runstore import LIVE, RunInfo, RunStore, check_run_id

StopCheck = Callable[[], bool]
CLAIM_WAIT = 1.0  # seconds to wait for a queued job's lock before leaving it to its holder


def _train(store: RunStore, job: RunInfo, should_stop: StopCheck, callback) -> str:
    # Each step before the first update reports itself (the Train page shows them): the
    # worker's own start (importing torch) and reading the data included.
    from core.training.progress import StoreProgress

    progress = StoreProgress(store, job.run_id, then=callback)
    progress.stage("worker")
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    progress.stage("reading")
    dataset = load_job_dataset(store, job)
    summary = train_run(dataset, TrainConfig.from_dict(job.config), store,
                        run_id=job.run_id, callback=progress, should_stop=should_stop)
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


def _import(store: RunStore, job: RunInfo, should_stop: StopCheck, callback) -> str:
    from core.jobs.imports import run_import

    return run_import(store, job, should_stop, callback)


_RUNNERS = {"run": _train, "experiment": _experiment, "import": _import}


def _stop_check(store: RunStore, job_id: str, should_stop: StopCheck | None) -> StopCheck:
    """Stop on the job's cancel flag (polled) or on the process's own stop (SIGTERM)."""
    cancelled = poller(lambda: store.cancel_requested(job_id))
    return lambda: bool(should_stop and should_stop()) or cancelled()


def _record_failure(store: RunStore, job_id: str, exc: BaseException) -> None:
    """Failed before its runner could say so; if even that cannot be written (a full disk),
    readers mark it failed once this process lets go of its lock."""
    try:
        if store.get_job(job_id).status in LIVE:
            store.set_status(job_id, "failed", error=f"{type(exc).__name__}: {exc}")
    except StoreError:
        pass


def _run_started(store: RunStore, job_id: str, should_stop: StopCheck | None,
                 callback) -> tuple[str, str]:
    """Run a job this process holds and has started; returns (kind, final status)."""
    job = store.get_job(job_id)
    try:
        return job.kind, _RUNNERS[job.kind](store, job, _stop_check(store, job_id, should_stop),
                                            callback)
    except BaseException as exc:
        _record_failure(store, job_id, exc)
        raise


def run_job(store: RunStore, job_id: str, max_jobs: int = DEFAULT_MAX_JOBS, callback=None,
            should_stop: StopCheck | None = None) -> tuple[str, str]:
    """Wait for a slot, run this one job, return (its kind, its final status)."""
    check_run_id(job_id)
    job = store.get_job(job_id)
    if job.status not in LIVE:
        raise StoreError(f"{job.kind.capitalize()} {job_id} is {job.status}, not queued.")
    with slot(store, job_id, max_jobs, _stop_check(store, job_id, should_stop)) as got_slot:
        with store.writing(job_id):
            if not got_slot or not store.start_job(job_id):
                if store.get_job(job_id).status in LIVE:
                    store.set_status(job_id, "cancelled")
                return job.kind, store.get_job(job_id).status
            return _run_started(store, job_id, should_stop, callback)


@contextmanager
def _job_log(store: RunStore, job_id: str) -> Iterator[None]:
    """This process's output goes to the job's own ``worker.log`` while it runs (a worker
    serves several jobs; each job's log sits beside its data as before)."""
    path = dataset_path(store, store.get_job(job_id)).parent / "worker.log"
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)


def _take_next(store: RunStore, should_stop: StopCheck | None, callback,
               own_log: bool) -> tuple[str, str, str] | None:
    """Start and run the oldest queued job; None when no job is left to take. A failed job
    is recorded in the store and the worker goes on with the next."""
    for job_id in store.queued_ids():
        with ExitStack() as stack:
            try:
                stack.enter_context(store.writing(job_id, wait=CLAIM_WAIT))
            except StoreError:
                continue  # another worker is taking it
            if not store.start_job(job_id):
                continue  # cancelled meanwhile
            if own_log:
                stack.enter_context(_job_log(store, job_id))
            try:
                return (job_id, *_run_started(store, job_id, should_stop, callback))
            except Exception:  # recorded as failed by _run_started; the queue goes on
                traceback.print_exc()
                return job_id, store.get_job(job_id).kind, "failed"
    return None


def serve(store: RunStore, max_jobs: int = DEFAULT_MAX_JOBS, slot_fh: IO | None = None,
          should_stop: StopCheck | None = None, callback=None,
          own_log: bool = False) -> list[tuple[str, str, str]]:
    """Holding a slot (``slot_fh``, inherited from the process that started this worker, or
    a free one taken here), run queued jobs oldest first until none is left or
    ``should_stop``; returns (job id, kind, final status) per job. ``own_log``: each job's
    output goes to its own log file."""
    done: list[tuple[str, str, str]] = []
    slot_fh = slot_fh or free_slot(store, max_jobs)
    while slot_fh is not None and not (should_stop and should_stop()):
        ran = _take_next(store, should_stop, callback, own_log)
        if ran is not None:
            done.append(ran)
            continue
        slot_fh.close()
        # A job queued while we held the slot found it busy and started no worker: look
        # again now that it is free, and carry on if a slot can be had for it.
        slot_fh = free_slot(store, max_jobs) if store.queued_ids() else None
    if slot_fh is not None:
        slot_fh.close()
    return done
