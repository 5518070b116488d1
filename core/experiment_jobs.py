"""Learning-curve experiments in their own worker process, like training runs (core/jobs.py):
a Streamlit rerun, a refresh or a closed tab never interrupts them.

``submit_experiment`` writes the data set (``dataset.parquet``) and a ``queued`` record into
``store.root/experiments/<id>/`` and starts ``python -m core experiment-worker ID``. The worker
waits for one of the slots training runs use too (``core.jobs.slot``: two cores, one job at a
time by default), then runs ``core.experiments.run_learning_curve`` on that record, which
rewrites the record and results after every run. Between batches it polls for the file
``cancel`` in the folder (``cancel_experiment``). ``reconcile_experiments`` marks an experiment
whose worker died (kill -9, OOM) as failed, together with the run it was training.

Files in the folder besides the experiment's own: ``worker.json`` (pid), ``progress.json``
(which run and epoch is training now), ``cancel``, ``worker.log``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

from core import jobs
from core.errors import StoreError
from core.experiments import (ExperimentConfig, experiment_dir, experiment_label,
                              load_experiment, run_learning_curve)
from core.store import RunStore, new_run_id

LIVE = ("queued", "running")
_DIED = ("The experiment process stopped unexpectedly; the runs finished before that are "
         "kept.")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)  # a reader never sees half a file


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _set_status(store: RunStore, experiment_id: str, status: str,
                error: str | None = None) -> None:
    path = experiment_dir(store, experiment_id) / "experiment.json"
    record = json.loads(path.read_text())
    _write_json(path, {**record, "status": status, "error": error, "updated": time.time()})


def submit_experiment(store: RunStore, dataset, config: ExperimentConfig, *,
                      max_jobs: int = jobs.DEFAULT_MAX_JOBS) -> str:
    """Queue a learning-curve experiment and start its worker process; returns its id at once."""
    from core.data import Dataset

    experiment_id = new_run_id()
    folder = experiment_dir(store, experiment_id)
    folder.mkdir(parents=True)
    frame = pd.DataFrame({"text": list(dataset.texts),
                          "label": [dataset.classes[i] for i in dataset.labels]})
    frame.to_parquet(folder / "dataset.parquet", index=False)
    # The worker rebuilds the data set from this file: record the fingerprint it will see.
    saved = Dataset.from_lists(frame["text"].tolist(), frame["label"].tolist())
    now = time.time()
    _write_json(folder / "experiment.json", {
        "config": config.to_dict(), "fingerprint": saved.fingerprint(), "status": "queued",
        "done": 0, "total": len(config.cells()), "created": now, "updated": now,
        "error": None, "classes": list(saved.classes)})
    with open(folder / "worker.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core", "experiment-worker", experiment_id,
             "--store", str(store.root), "--max-jobs", str(max_jobs)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            cwd=Path(__file__).resolve().parents[1])
    _write_json(folder / "worker.json", {"pid": proc.pid})
    threading.Thread(target=proc.wait, daemon=True).start()  # reap: no zombie that looks alive
    return experiment_id


def cancel_experiment(store: RunStore, experiment_id: str) -> None:
    """Ask a queued or running experiment to stop; finished runs are kept."""
    folder = experiment_dir(store, experiment_id)
    if not (folder / "experiment.json").is_file():
        raise StoreError(f"Experiment {experiment_id} does not exist.")
    (folder / "cancel").touch()


def cancel_requested(store: RunStore, experiment_id: str) -> bool:
    return (experiment_dir(store, experiment_id) / "cancel").exists()


def progress(store: RunStore, experiment_id: str) -> dict[str, Any]:
    """What the worker is training now: ``index``/``total`` (1-based run number), ``init``,
    ``size``, ``seed``, ``epoch``/``epochs``; {} before the first run starts."""
    return _read_json(experiment_dir(store, experiment_id) / "progress.json")


def _worker_gone(store: RunStore, experiment_id: str, status: str, updated: float) -> bool:
    folder = experiment_dir(store, experiment_id)
    if status not in LIVE or not (folder / "worker.json").is_file():
        return False  # finished, or run in-process by the CLI (no worker to watch)
    if status == "queued" and time.time() - updated < jobs.SUBMIT_GRACE:
        return False  # submit_experiment may still be starting the worker
    pid = _read_json(folder / "worker.json").get("pid")
    return not jobs.process_alive(pid, experiment_id)


def _mark_dead(store: RunStore, experiment_id: str) -> None:
    _set_status(store, experiment_id, "failed", _DIED)
    label = experiment_label(experiment_id)
    for run in store.list_runs():  # the run it was training has no worker of its own
        if run.label == label and run.status in LIVE:
            store.set_status(run.run_id, "failed", error=_DIED)


def refresh_experiment(store: RunStore, experiment_id: str):
    """The stored experiment, marked failed first if its worker died while we were away."""
    exp = load_experiment(store, experiment_id)
    if _worker_gone(store, experiment_id, exp.status, exp.updated):
        _mark_dead(store, experiment_id)
        exp = load_experiment(store, experiment_id)
    return exp


def reconcile_experiments(store: RunStore) -> list[str]:
    """Mark queued/running experiments whose worker is gone as failed; returns their ids."""
    root, failed = store.root / "experiments", []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        record = _read_json(folder / "experiment.json")
        if record and _worker_gone(store, folder.name, record.get("status", ""),
                                   float(record.get("updated", 0))):
            _mark_dead(store, folder.name)
            failed.append(folder.name)
    return failed


def _progress_writer(store: RunStore, experiment_id: str, epochs: int):
    path = experiment_dir(store, experiment_id) / "progress.json"

    def on_event(event) -> None:
        inner = event.data.get("event")
        if event.kind == "run_start" or (inner is not None and inner.kind == "epoch"):
            _write_json(path, {"index": event.index, "total": event.total, "init": event.init,
                               "size": event.size, "seed": event.seed, "epochs": epochs,
                               "epoch": 0 if inner is None else inner.epoch})
    return on_event


def run_experiment_worker(store: RunStore, experiment_id: str,
                          max_jobs: int = jobs.DEFAULT_MAX_JOBS) -> str:
    """Body of the worker process: wait for a slot, run the experiment, return its status."""
    from core.data import Dataset

    folder = experiment_dir(store, experiment_id)
    exp = load_experiment(store, experiment_id)
    if exp.status not in LIVE:
        raise StoreError(f"Experiment {experiment_id} is {exp.status}, not queued.")
    _write_json(folder / "worker.json", {"pid": os.getpid()})
    should_stop = jobs.poller(lambda: cancel_requested(store, experiment_id))
    try:
        with jobs.slot(store, experiment_id, max_jobs, should_stop) as got_slot:
            if not got_slot:
                _set_status(store, experiment_id, "cancelled")
                return "cancelled"
            frame = pd.read_parquet(folder / "dataset.parquet")
            dataset = Dataset.from_lists(frame["text"].tolist(), frame["label"].tolist())
            run_learning_curve(dataset, exp.config, store, experiment_id=experiment_id,
                               should_stop=should_stop,
                               callback=_progress_writer(store, experiment_id, exp.config.epochs))
    except BaseException as exc:
        if load_experiment(store, experiment_id).status in LIVE:  # failed before it started
            _set_status(store, experiment_id, "failed", f"{type(exc).__name__}: {exc}")
        raise
    return load_experiment(store, experiment_id).status
