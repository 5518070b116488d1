"""Waiting jobs are rows, not processes: with one slot, six submitted runs make one worker
process at a time, which runs them oldest first; queued jobs left without a worker get one,
and cancelling a queued job needs no worker."""
from __future__ import annotations

import threading
import time

import psutil
import pytest

from core.jobs import process, workers
from core.jobs import queue as jobs
from core.store.runstore import LIVE
from core.training.config import TrainConfig
from tests.conftest import NoProcess, labelled, wait_for_run

pytestmark = pytest.mark.slow

FAST = TrainConfig(epochs=2, batch_size=16, doc_sample=10)


def worker_pids(store) -> set[int]:
    """Processes running ``core worker`` for this store (other tests' stores are not ours)."""
    found = set()
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            if ("core worker" in cmd and str(store.root) in cmd
                    and proc.info["status"] != psutil.STATUS_ZOMBIE):
                found.add(proc.info["pid"])
        except psutil.Error:
            continue
    return found


class Sampler:
    """Counts worker processes every 50 ms in the background; ``most`` is the peak."""

    def __init__(self, store) -> None:
        self.store, self.most, self.seen = store, 0, set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            pids = worker_pids(self.store)
            self.most, self.seen = max(self.most, len(pids)), self.seen | pids
            time.sleep(0.05)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


def test_six_submits_make_one_worker_at_a_time_and_run_in_order(store):
    sampler = Sampler(store)
    try:
        ids = [jobs.submit_run(store, labelled(3), FAST, max_jobs=1) for _ in range(6)]
        runs = [wait_for_run(store, i, lambda r: r.status not in LIVE) for i in ids]
    finally:
        sampler.close()
    assert [r.status for r in runs] == ["done"] * 6, [r.error for r in runs]
    assert sampler.most == 1, f"{sampler.most} worker processes at once"
    finished = [r.updated for r in runs]
    assert finished == sorted(finished)  # oldest first
    assert len({r.pid for r in runs}) < 6  # one process took several jobs


def test_a_queued_job_without_a_worker_gets_one_and_is_never_failed(store, monkeypatch):
    started = []
    monkeypatch.setattr(jobs, "spawn", lambda *a, **k: started.append(a) or 2**22 + 1)
    run_id = jobs.submit_run(store, labelled(3), FAST)
    assert len(started) == 1  # a free slot: submit starts a worker
    assert jobs.reconcile(store) == [] and len(started) == 1  # inside the grace: left alone
    monkeypatch.setattr(jobs, "SUBMIT_GRACE", 0.0)  # ...long after, and no worker came
    assert jobs.reconcile(store) == [] and len(started) == 2
    assert jobs.refresh(store, run_id).status == "queued"  # waiting is not dying


def test_a_busy_slot_means_no_new_worker(store, monkeypatch):
    started = []
    monkeypatch.setattr(jobs, "spawn", lambda *a, **k: started.append(a) or 2**22 + 1)
    held = jobs.free_slot(store, 1)  # a worker holds the only slot
    try:
        jobs.submit_run(store, labelled(3), FAST, max_jobs=1)
        monkeypatch.setattr(jobs, "SUBMIT_GRACE", 0.0)
        jobs.reconcile(store)
        assert started == []
    finally:
        held.close()


def test_cancel_of_a_queued_job_needs_no_worker(store, monkeypatch):
    monkeypatch.setattr(jobs, "spawn", lambda *a, **k: 2**22 + 1)
    run_id = jobs.submit_run(store, labelled(3), FAST)
    jobs.cancel(store, run_id)
    run = store.get_run(run_id)
    assert run.status == "cancelled" and run.cancel_requested
    jobs.delete_run(store, run_id)  # over, so it can be deleted
    assert store.list_runs() == []


def test_an_in_process_worker_serves_the_whole_queue_oldest_first(store, monkeypatch):
    monkeypatch.setattr(process.subprocess, "Popen", NoProcess)
    ids = [jobs.submit_run(store, labelled(3), FAST) for _ in range(3)]
    jobs.cancel(store, ids[1])
    done = workers.serve(store, 1)
    assert done == [(ids[0], "run", "done"), (ids[2], "run", "done")]
    assert store.get_run(ids[1]).status == "cancelled"
    assert workers.serve(store, 1) == []  # nothing left


