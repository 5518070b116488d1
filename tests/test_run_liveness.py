"""A run whose process dies never stays "running": every writer holds a lock the kernel drops
on any death (``kill -9`` included); readers (``runs``, the dashboard, the engine) that can take
it mark the run failed, keeping what it saved. SIGTERM ends a run "cancelled"."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from core.jobs import queue as jobs
from core.jobs.engine import Engine
from core.store.runstore import LIVE, RunStore, new_run_id
from tests.conftest import REPO, medium_dataset, wait_for_run

INTERRUPTED = "interrupted: the process writing this run stopped ("


def _cli(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, **kw)


def _runs(root) -> list[dict]:
    res = _cli("runs", "--store", root)
    assert res.returncode == 0, res.stderr
    return [json.loads(line) for line in res.stdout.splitlines()]




def _start_training(csv, root) -> tuple[subprocess.Popen, str]:
    """``python -m core train`` in its own process, once it has written two snapshots."""
    proc = subprocess.Popen([sys.executable, "-m", "core", "train", str(csv), "--store",
                             str(root), "--epochs", "500", "--batch-size", "8", "--quiet",
                             "--no-early-stopping"],  # it must still be training when killed
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    store, deadline = RunStore(root), time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = store.list_runs()
        if runs and runs[0].n_snapshots >= 2:
            return proc, runs[0].run_id
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("no snapshot within 120 s")


@pytest.mark.slow
def test_cli_train_killed_with_9_is_listed_failed_and_can_be_deleted(medium_csv, tmp_path):
    root = tmp_path / "runs"
    proc, run_id = _start_training(medium_csv, root)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    (listed,) = _runs(root)
    assert listed["status"] == "failed" and listed["error"].startswith(INTERRUPTED), listed
    assert f"pid {proc.pid} on " in listed["error"] and listed["pid"] == proc.pid
    store = RunStore(root)
    run = store.list_runs()[0]  # what the Runs page lists: over, so Delete is offered
    assert run.status not in LIVE and run.n_snapshots >= 2
    for snap in run.snapshots:  # what was saved stays readable
        assert store.load_snapshot(run_id, snap["idx"]).shape[0] > 300
    jobs.delete_run(store, run_id)  # the Runs page's Delete
    assert store.list_runs() == [] and not (root / run_id).exists()


@pytest.mark.slow
def test_cli_train_sigterm_ends_cancelled(medium_csv, tmp_path):
    root = tmp_path / "runs"
    proc, run_id = _start_training(medium_csv, root)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert json.loads(out.decode().splitlines()[-1])["status"] == "cancelled"
    (listed,) = _runs(root)
    assert listed["status"] == "cancelled" and listed["error"] is None
    jobs.delete_run(RunStore(root), run_id)


_WRITER = """
import sys
from core.store.runstore import RunStore
store = RunStore(sys.argv[1])
store.create_run({}, run_id=sys.argv[2])            # a tracker: "running", then nothing
store.create_job("experiment", {}, job_id=sys.argv[3])
print("ready", flush=True)
if sys.argv[4] == "wait":
    sys.stdin.read()
"""


def _writer(root, run_id, exp_id, mode) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(root), run_id, exp_id, mode],
                            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    return proc


def test_every_reader_fails_a_dead_writers_jobs_but_not_a_live_ones(store):
    run_id, exp_id = new_run_id(), "20260101-000000-abcdef"
    live = _writer(store.root, run_id, exp_id, "wait")
    try:
        assert jobs.reconcile(store) == []
        assert [r.status for r in store.list_jobs()] == ["running", "running"]
        assert store.get_run(run_id).pid == live.pid and store.get_run(run_id).host
    finally:
        live.kill()
        live.communicate()
    (run,) = store.list_runs()  # the CLI's `runs` and the Runs page read this
    assert run.status == "failed" and run.error.startswith(INTERRUPTED)
    assert f"pid {live.pid}" in run.error
    exp = store.get_job(exp_id)
    assert exp.status == "running"  # listing runs only looks at runs
    assert jobs.refresh(store, exp_id).status == "failed"  # the Experiments page polls this
    assert "the process writing this experiment stopped" in store.get_job(exp_id).error
    assert jobs.reconcile(store) == []  # recorded once


def test_the_engine_fails_a_dead_writers_run(store):
    run_id = new_run_id()
    _writer(store.root, run_id, new_run_id(), "exit").communicate()
    Engine(store, warm=False, method="pca").tick()  # it polls list_runs
    assert store.get_job(run_id).status == "failed"


def test_cancel_of_a_dead_writers_run_ends_it(store):
    run_id = new_run_id()
    _writer(store.root, run_id, new_run_id(), "exit").communicate()
    jobs.cancel(store, run_id)  # the Train page's Cancel: no worker will ever see the flag
    assert store.get_job(run_id).status == "failed"


def test_a_live_run_cannot_be_deleted(store):
    run_id = store.create_run({})  # written by this process
    with pytest.raises(Exception, match="still running: cancel it first"):
        jobs.delete_run(store, run_id)
    store.set_status(run_id, "done")
    jobs.delete_run(store, run_id)


def test_a_second_writer_is_refused(store):
    """Two writers of one job: the second is refused (naming the first's pid)."""
    run_id, exp_id = new_run_id(), new_run_id()
    live = _writer(store.root, run_id, exp_id, "wait")
    try:
        with pytest.raises(Exception, match=f"being written by another process \\(pid {live.pid}"):
            with store.writing(run_id, wait=0.2):
                pass
    finally:
        live.kill()
        live.communicate()
    with store.writing(run_id):  # free once that process is gone
        assert store.writer_alive(run_id)
    assert not store.writer_alive(run_id)


@pytest.mark.slow
def test_worker_sigterm_cancels_its_job_and_takes_no_next(store):
    ds = medium_dataset()
    from core.training.config import TrainConfig

    first = jobs.submit_run(store, ds, TrainConfig(epochs=500, batch_size=8, early_stopping=False), max_jobs=1)
    second = jobs.submit_run(store, ds, TrainConfig(epochs=1), max_jobs=1)
    run = wait_for_run(store, first, lambda r: r.n_snapshots >= 1)
    os.kill(run.pid, signal.SIGTERM)
    assert wait_for_run(store, first, lambda r: r.status not in LIVE).status == "cancelled"
    time.sleep(1.0)
    assert store.get_run(second).status == "queued"  # left for the next worker
    jobs.cancel(store, second)
