"""Training jobs in worker processes: they finish, cancel, queue, and a killed worker is
detected without losing the snapshots it had written."""
from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from core.jobs import queue as jobs
from core.training.config import TrainConfig
from tests.conftest import medium_dataset, wait_for_run

pytestmark = pytest.mark.slow


@pytest.fixture
def medium_ds():
    return medium_dataset()


def test_job_runs_to_done_in_its_own_process(store, medium_ds):
    run_id = jobs.submit_run(store, medium_ds, TrainConfig(epochs=2, batch_size=32, doc_sample=10))
    run = wait_for_run(store, run_id, lambda r: r.status in ("done", "failed"))
    assert run.status == "done", run.error
    assert run.pid != os.getpid() and run.n_snapshots == 3


def test_cancel_running_job(store, medium_ds):
    run_id = jobs.submit_run(store, medium_ds, TrainConfig(epochs=500, batch_size=8, early_stopping=False))
    wait_for_run(store, run_id, lambda r: r.n_snapshots >= 1)
    jobs.cancel(store, run_id)
    run = wait_for_run(store, run_id, lambda r: r.status != "running")
    assert run.status == "cancelled"


def test_second_job_queues_until_a_slot_frees(store, medium_ds):
    first = jobs.submit_run(store, medium_ds, TrainConfig(epochs=500, batch_size=8, early_stopping=False), max_jobs=1)
    wait_for_run(store, first, lambda r: r.status == "running")
    second = jobs.submit_run(store, medium_ds, TrainConfig(epochs=1), max_jobs=1)
    time.sleep(2.0)
    assert store.get_run(second).status == "queued"
    assert jobs.busy_slots(store) == 1
    jobs.cancel(store, first)
    assert wait_for_run(store, second, lambda r: r.status in ("done", "failed")).status == "done"


def test_killed_worker_is_marked_failed_and_snapshots_survive(store, medium_ds):
    run_id = jobs.submit_run(store, medium_ds, TrainConfig(epochs=500, batch_size=8, early_stopping=False))
    run = wait_for_run(store, run_id, lambda r: r.n_snapshots >= 2)
    os.kill(run.pid, signal.SIGKILL)
    wait_for_run(store, run_id, lambda r: not psutil.pid_exists(r.pid), timeout=10)
    assert jobs.reconcile(store) == [run_id]
    run = store.get_run(run_id)
    assert run.status == "failed"
    assert run.error.startswith("interrupted: the process writing this run stopped (")
    for snap in run.snapshots:  # every listed snapshot is complete and readable
        assert store.load_snapshot(run_id, snap["idx"]).shape[0] > 300
    assert jobs.reconcile(store) == []
