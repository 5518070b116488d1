"""The one job system: training runs and experiments in their own worker processes, so a
browser refresh, a Streamlit rerun or a closed tab never interrupts them, and a server restart
finds them again in the store.

``submit_run`` / ``submit_experiment`` write the job's data set and then the job (status
``queued``) into the store, and start a worker (``python -m core worker``,
``core.jobs.workers``) only if one of ``max_jobs`` slots is free. Slots are file locks (the
kernel releases them even on ``kill -9``) and a worker is born holding its slot (the submitter
takes the lock and the child inherits it), so at most ``max_jobs`` workers ever exist: six
Train clicks make one worker and five queued rows, not six processes waiting. A worker runs the
oldest queued job, then the next, until none is left. Cancel is a flag the worker polls
between batches; a queued job nobody took is cancelled at once.

Liveness is the store's (``RunStore.writing`` / ``reap``): a running job whose writer's lock is
free is failed by whoever reads it. ``reconcile`` and ``refresh`` also start a worker for
queued jobs that have none (after a restart, or when a worker was killed).
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterator

import pandas as pd

from core.common.files import atomic_write
from core.errors import StoreError
from core.jobs.process import spawn
from core.store.datasets import job_info
from core.store.disk import RunSize
from core.store.locks import try_lock
from core.store.records import check_run_id
from core.store.runstore import LIVE, RunInfo, RunStore, new_run_id
from core.training.experiments import experiment_dir, load_experiment

DEFAULT_MAX_JOBS = 1  # 2 cores: one job at a time keeps the server responsive
# Seconds a queued job is left to the submit that is starting its worker; also the least time
# between two workers started for the same waiting jobs (a worker that dies at start is not
# restarted at every page poll).
SUBMIT_GRACE = 30.0
SLOTS = ".slots"


def _frame(dataset) -> pd.DataFrame:
    return pd.DataFrame({"text": list(dataset.texts),
                         "label": [dataset.classes[i] for i in dataset.labels]})


def import_dir(store: RunStore, job_id: str) -> Path:
    """An import job's folder: its uploaded files and its log (``core.jobs.imports``)."""
    return store.root / "imports" / check_run_id(job_id)


def _dataset_path(store: RunStore, kind: str, job_id: str) -> Path:
    if kind == "import":  # no data set: the log goes beside the uploaded files
        return import_dir(store, job_id) / "files"
    if kind == "experiment":
        return experiment_dir(store, job_id) / "dataset.parquet"
    return store.run_dir(job_id) / "dataset.parquet"


def dataset_path(store: RunStore, job: RunInfo) -> Path:
    """Where a queued job's data set is kept (the worker rebuilds it from there)."""
    return _dataset_path(store, job.kind, job.run_id)


def load_job_dataset(store: RunStore, job: RunInfo):
    from core.data.dataset import Dataset

    frame = pd.read_parquet(dataset_path(store, job))
    return Dataset.from_lists(frame["text"].tolist(), frame["label"].tolist())


def _save_dataset(store: RunStore, kind: str, job_id: str, dataset) -> None:
    """Before the job's row: a worker may take a queued job the moment it is listed."""
    path = _dataset_path(store, kind, job_id)
    with store.disk_guard():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda p: _frame(dataset).to_parquet(p, index=False))


def submit_run(store: RunStore, dataset, config, *, label: str = "",
               max_jobs: int = DEFAULT_MAX_JOBS, dataset_name: str | None = None) -> str:
    """Queue a training run and start a worker if a slot is free; returns the run id at once.
    The run's info names its data set (``dataset_id``, ``dataset_name``: contract C)."""
    run_id = new_run_id()
    _save_dataset(store, "run", run_id, dataset)
    store.create_run(config.to_dict(), dataset.fingerprint(), status="queued", label=label,
                     info={"classes": list(dataset.classes), "worker": True,
                           **job_info(dataset, dataset_name)}, run_id=run_id)
    start_worker(store, max_jobs)
    return run_id


def submit_experiment(store: RunStore, dataset, config, *,
                      max_jobs: int = DEFAULT_MAX_JOBS, dataset_name: str | None = None) -> str:
    """Queue a learning-curve experiment and start a worker if a slot is free; returns its id.
    Its info names the data set as chosen (``dataset_id``: the fingerprint before the save
    below; its runs are found through the experiment)."""
    from core.data.dataset import Dataset

    # The worker rebuilds the data set from the saved table: record the fingerprint it sees.
    frame = _frame(dataset)
    saved = Dataset.from_lists(frame["text"].tolist(), frame["label"].tolist())
    experiment_id = new_run_id()
    _save_dataset(store, "experiment", experiment_id, saved)
    store.create_job(
        "experiment", config.to_dict(), saved.fingerprint(), status="queued",
        info={"done": 0, "total": len(config.cells()), "classes": list(saved.classes),
              "worker": True, **job_info(dataset, dataset_name)}, job_id=experiment_id)
    start_worker(store, max_jobs)
    return experiment_id


def free_slot(store: RunStore, max_jobs: int) -> IO | None:
    """One of the ``max_jobs`` slot locks, taken (the open file), or None if all are held."""
    folder = store.root / SLOTS
    folder.mkdir(exist_ok=True)
    for i in range(max_jobs):
        fh = try_lock(folder / f"slot{i}")
        if fh is not None:
            return fh
    return None


def start_worker(store: RunStore, max_jobs: int = DEFAULT_MAX_JOBS) -> int | None:
    """Start a worker for the queued jobs if a slot is free; returns its pid, or None when
    every slot is busy (their workers take the queued jobs when they finish). The worker
    inherits the slot's lock, so the slot never looks free between here and its start."""
    fh = free_slot(store, max_jobs)
    if fh is None:
        return None
    try:
        return spawn(["worker", "--store", str(store.root), "--max-jobs", str(max_jobs),
                      "--slot-fd", str(fh.fileno())], store.root / "worker.log",
                     keep_fds=(fh.fileno(),))
    finally:
        fh.close()  # the worker holds it now


def _start_for_waiting(store: RunStore, max_jobs: int = DEFAULT_MAX_JOBS) -> int | None:
    """A worker for queued jobs that wait with no worker to take them (a restart, a killed
    worker). Jobs queued less than SUBMIT_GRACE ago are left to the submit starting theirs;
    the jobs are touched when one starts, so it is not restarted at every poll."""
    now, queued = time.time(), store.queued_ids()
    if not any(now - store.get_job(j).updated >= SUBMIT_GRACE for j in queued):
        return None
    pid = start_worker(store, max_jobs)
    if pid is not None:
        for job_id in queued:
            store.touch(job_id)
    return pid


def cancel(store: RunStore, job_id: str) -> None:
    """Stop a job: a queued one is cancelled at once, a running one ends ``cancelled`` after
    its current batch, and one whose writer died is marked failed now."""
    store.request_cancel(job_id)  # the worker that took it polls this flag
    store.cancel_queued(job_id)
    store.reap([job_id])


def delete_run(store: RunStore, run_id: str) -> None:
    """Delete a run that is over; a live one is refused (a run whose writer died is marked
    failed first, so it can always be deleted)."""
    store.reap([run_id])
    run = store.get_run(run_id)
    if run.status in LIVE:
        raise StoreError(f"Run {run_id} is still {run.status}: cancel it first.")
    store.delete_run(run_id)


def reconcile(store: RunStore, max_jobs: int = DEFAULT_MAX_JOBS) -> list[str]:
    """Mark running jobs whose writer is gone as failed (returns their ids) and start a worker
    for queued jobs that have none. Queued jobs are never failed for waiting."""
    failed = store.reap()
    _start_for_waiting(store, max_jobs)
    return failed


def refresh(store: RunStore, job_id: str) -> RunInfo:
    """The job as stored, marked failed first if its writer died (kill -9, OOM) while the
    dashboard is up: a live view polling this never shows "running" forever."""
    store.reap([job_id])
    _start_for_waiting(store)
    return store.get_job(job_id)


def refresh_experiment(store: RunStore, experiment_id: str):
    """``refresh`` for an experiment, read back as a ``core.training.experiments.Experiment``."""
    refresh(store, experiment_id)
    return load_experiment(store, experiment_id)


def progress(store: RunStore, experiment_id: str) -> dict:
    """What an experiment's worker is training now: ``index``/``total`` (1-based run
    number), ``init``, ``size``, ``seed``, ``epoch``/``epochs``; {} before the first run."""
    return dict(store.get_job(experiment_id, "experiment").info.get("progress", {}))


def busy_slots(store: RunStore) -> int:
    """How many jobs are running now (for a 'queued/busy' message): the runs an experiment
    trains share its slot and are not counted."""
    return sum(1 for job in store.list_jobs() if job.status == "running"
               and not job.label.startswith("experiment:"))


@contextmanager
def slot(store: RunStore, job_id: str, max_jobs: int,
         cancelled: Callable[[], bool]) -> Iterator[bool]:
    """Wait for one of ``max_jobs`` slots (shared by every job) and hold it; yields False if
    cancelled while waiting. For a worker started for one named job."""
    while (fh := free_slot(store, max_jobs)) is None:
        if cancelled():
            yield False
            return
        time.sleep(0.5)
    try:
        yield True
    finally:
        fh.close()


def estimate_size(dataset, config, dim: int | None = None,
                  store: RunStore | None = None) -> RunSize:
    """What a run of ``config`` on ``dataset`` will write into the store, before training:
    the vocabulary is every distinct word of the texts (capped by max_vocab), the snapshot
    count follows the trainer's rule. ``dim``: the size of a vector file used as init.
    ``store``: the words are counted from its tokenised-corpus cache (written now if missing,
    so the run that follows reads it too), not by tokenising every text on each call."""
    from core.data.text import Corpus, tokenize
    from core.training.config import planned_snapshot_count
    from core.training.corpus import tokenised
    from core.training.split import split_indices

    corpus = (tokenised(dataset, store).corpus if store is not None
              else Corpus.from_token_lists([tokenize(t) for t in dataset.texts]))
    counts = corpus.type_counts()
    rows = min(int((counts >= config.min_count).sum()), config.max_vocab) + 2
    train, val = split_indices(dataset.labels, config)
    snapshots = planned_snapshot_count(config, len(train))
    dim = dim or (_GLOVE_DIM if config.init == "glove" else config.dim)
    # the model's pooled size (model.EmbeddingClassifier.pooled_dim), without torch
    doc_dim = {"bag": dim, "cnn": config.hidden, "gru": 2 * config.hidden}[config.arch]
    return RunSize(rows=rows, dim=dim, snapshots=snapshots, docs=min(config.doc_sample, len(val)),
                   doc_dim=doc_dim, classes=len(dataset.classes), texts=len(dataset.texts))


_GLOVE_DIM = 50  # core.vectors.pretrained.GLOVE_DIM, without importing gensim


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
