"""Experiments in worker processes: they finish, cancel, wait for a slot a training run holds,
and a killed worker is detected (experiment and the run it was training marked failed)."""
from __future__ import annotations

import json
import os
import signal
import time

import psutil
import pytest

from core.jobs import process, workers
from core.jobs import queue as jobs
from core.store.runstore import LIVE
from core.cli import main
from core.errors import StoreError
from core.training.config import ExperimentConfig
from core.training.experiments import experiment_dir, experiment_label, load_experiment
from core.training.config import TrainConfig
from tests.conftest import NoProcess, labelled

pytestmark = pytest.mark.slow


@pytest.fixture
def tiny(tiny_dataset_x3):
    return tiny_dataset_x3


def tiny_config(**kw) -> ExperimentConfig:
    args = dict(sizes=(10, "all"), inits=("random",), seeds=1, epochs=2, doc_sample=10)
    return ExperimentConfig.from_dict({**args, **kw})


def _wait(store, experiment_id, predicate, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        exp = load_experiment(store, experiment_id)
        if predicate(exp):
            return exp
        time.sleep(0.2)
    log = (experiment_dir(store, experiment_id) / "worker.log").read_text(errors="replace")
    raise AssertionError(f"timed out; last status {exp.status}; worker log:\n{log}")


def test_submitted_experiment_runs_to_done_in_its_own_process(store, tiny):
    exp_id = jobs.submit_experiment(store, tiny, tiny_config())
    queued = load_experiment(store, exp_id)  # listed at once, before the worker writes
    assert queued.status in ("queued", "running") and queued.total == 2
    exp = _wait(store, exp_id, lambda e: e.status not in LIVE)
    assert exp.status == "done", exp.error
    assert list(exp.results["size"]) == ["10", "all"] and exp.done == 2
    assert (exp.results["status"] == "done").all()
    pid = store.get_job(exp_id).pid
    assert pid != os.getpid()
    assert jobs.progress(store, exp_id)["index"] == 2
    assert {r.label for r in store.list_runs()} == {experiment_label(exp_id)}
    assert jobs.reconcile(store) == []


def test_cancel_while_waiting_for_a_slot_held_by_a_training_run(store, tiny):
    big = labelled(50)
    run_id = jobs.submit_run(store, big, TrainConfig(epochs=500, batch_size=8, early_stopping=False), max_jobs=1)
    end = time.monotonic() + 60
    while store.get_run(run_id).status != "running" and time.monotonic() < end:
        time.sleep(0.2)
    exp_id = jobs.submit_experiment(store, tiny, tiny_config(), max_jobs=1)
    time.sleep(2.0)
    assert load_experiment(store, exp_id).status == "queued"  # the shared slot is taken
    jobs.cancel(store, exp_id)
    exp = _wait(store, exp_id, lambda e: e.status not in LIVE)
    assert exp.status == "cancelled" and exp.done == 0
    jobs.cancel(store, run_id)


def test_cancel_running_experiment_keeps_finished_runs(store, tiny):
    exp_id = jobs.submit_experiment(store, tiny, tiny_config(sizes=(10, 20, "all"), epochs=300))
    # running from the moment its worker takes it: wait until a run is past its first epoch
    _wait(store, exp_id, lambda e: jobs.progress(store, exp_id).get("epoch", 0) >= 1)
    jobs.cancel(store, exp_id)
    exp = _wait(store, exp_id, lambda e: e.status not in LIVE)
    assert exp.status == "cancelled"
    assert exp.done < 3 and "cancelled" in set(exp.results["status"])


def test_killed_worker_marks_experiment_and_its_run_failed(store, tiny):
    exp_id = jobs.submit_experiment(store, tiny, tiny_config(epochs=1000, snapshots="ends"))
    _wait(store, exp_id, lambda e: e.status == "running")
    end = time.monotonic() + 60
    while not any(r.status == "running" for r in store.list_runs()) and time.monotonic() < end:
        time.sleep(0.2)
    pid = store.get_job(exp_id).pid
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)
    assert jobs.refresh_experiment(store, exp_id).status == "failed"
    exp = load_experiment(store, exp_id)
    assert exp.error.startswith("interrupted: the process writing this experiment stopped")
    assert [r.status for r in store.list_runs()] == ["failed"]
    assert jobs.reconcile(store) == []  # already marked


def test_reconcile_finds_a_dead_worker(store, tiny):
    exp_id = jobs.submit_experiment(store, tiny, tiny_config(epochs=1000, snapshots="ends"))
    _wait(store, exp_id, lambda e: e.status == "running")
    pid = store.get_job(exp_id).pid
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)
    assert set(jobs.reconcile(store)) >= {exp_id}  # and the run it was training


def _wait_gone(pid: int) -> None:
    end = time.monotonic() + 10
    while psutil.pid_exists(pid) and time.monotonic() < end:
        time.sleep(0.1)


def test_queued_experiment_is_never_failed_for_waiting(store, tiny, monkeypatch):
    monkeypatch.setattr(process.subprocess, "Popen", NoProcess)
    exp_id = jobs.submit_experiment(store, tiny, tiny_config())
    assert jobs.reconcile(store) == []  # submit may still be starting the worker
    monkeypatch.setattr(jobs, "SUBMIT_GRACE", 0.0)
    assert jobs.reconcile(store) == []  # no worker came: one is started, nothing failed
    assert load_experiment(store, exp_id).status == "queued"




def test_worker_refuses_a_finished_experiment(store, tiny, monkeypatch):
    monkeypatch.setattr(process.subprocess, "Popen", NoProcess)
    exp_id = jobs.submit_experiment(store, tiny, tiny_config())
    store.set_status(exp_id, "done")
    with pytest.raises(StoreError, match="not queued"):
        workers.run_job(store, exp_id)


@pytest.mark.parametrize("bad_id", ["../x", "nope"], ids=["traversal", "not-an-id"])
def test_cancel_refuses_bad_ids(store, bad_id):
    with pytest.raises(StoreError):
        jobs.cancel(store, bad_id)


def test_worker_runs_in_process_through_the_cli(store, tiny, monkeypatch, capsys):
    monkeypatch.setattr(process.subprocess, "Popen", NoProcess)
    exp_id = jobs.submit_experiment(store, tiny, tiny_config(sizes=("all",)))
    code = main(["worker", exp_id, "--store", str(store.root)])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and out == {"job_id": exp_id, "kind": "experiment", "status": "done"}
    assert main(["worker", exp_id, "--store", str(store.root)]) == 2  # not queued


def test_worker_with_impossible_size_ends_failed_with_the_reason(store, tiny, monkeypatch):
    monkeypatch.setattr(process.subprocess, "Popen", NoProcess)
    exp_id = jobs.submit_experiment(store, tiny, tiny_config(sizes=(5000,)))
    assert main(["worker", exp_id, "--store", str(store.root)]) == 2
    exp = load_experiment(store, exp_id)
    assert exp.status == "failed" and "5000" in exp.error
