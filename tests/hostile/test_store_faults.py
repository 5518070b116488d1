"""Faults around the run store: hostile run ids and names, kill -9 of writers mid-write and of
the training worker mid-epoch, and a "restart" (a fresh store + reconcile) afterwards."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from core.jobs import queue as jobs
from core.errors import StoreError
from core.store.runstore import RunStore, check_run_id
from tests.conftest import medium_dataset, wait_for_run

REPO = Path(__file__).resolve().parents[2]
TRAVERSALS = ["../../etc", "..", ".", "/etc/passwd", "20260101-120000-abcdef/../../etc",
              "../20260101-120000-abcdef", "20260101-120000-abcdef\n", "20260101-120000-abcdef/",
              "%2e%2e%2fetc", "..\\..\\etc", "20260101-120000-ABCDEF", "", " ", "\x00",
              "20260101-120000-abcdef\x00.npy"]


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "store" / "runs")


@pytest.mark.parametrize("bad", TRAVERSALS, ids=repr)
def test_hostile_run_ids_are_refused_everywhere(store, bad):
    outside = store.root.parent / "victim"
    outside.mkdir(exist_ok=True)
    (outside / "keep.txt").write_text("mine")
    for call in (check_run_id, store.get_run, store.run_dir, store.cache_dir, store.delete_run,
                 lambda r: store.load_snapshot(r, 0), lambda r: store.load_vocab(r),
                 lambda r: store.set_status(r, "done")) + (
                     (lambda r: store.create_run({}, run_id=r)),) * bool(bad):
        with pytest.raises(StoreError, match="not a valid run id"):
            call(bad)
    assert (outside / "keep.txt").read_text() == "mine"
    made = [p for p in store.root.iterdir() if p.is_dir() and p.name != ".locks"]
    assert made == []  # no folder was made (.locks is the store's own)


@pytest.mark.parametrize("name", ["../x", "snapshots/../../x", "/etc/passwd", "a/..", "x\n",
                                  "..", "snapshots/.hidden/../x", "a\\..\\b"], ids=repr)
def test_hostile_array_names_are_refused(store, name):
    run_id = store.create_run({})
    with pytest.raises(StoreError, match="not an allowed file name"):
        store.save_array(run_id, name, np.zeros(2))
    with pytest.raises(StoreError, match="not an allowed file name"):
        store.load_array(run_id, name)


_WRITER = """
import sys, numpy as np
from core.store.runstore import RunStore
store, run_id, start = RunStore(sys.argv[1]), sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
for idx in range(start, start + 1000):
    store.add_snapshot(run_id, idx, idx, idx, np.full((1500, 400), idx, np.float32),
                       np.full((300, 400), -idx, np.float32))
    store.add_epoch(run_id, idx, {"val_accuracy": idx / 1000})
"""


def test_kill_9_mid_write_never_leaves_a_readable_half_array(store):
    """A writer of 2.4 MB snapshots is killed at random moments, five times, while a reader
    keeps loading the newest listed snapshot: every array ever read is whole and right."""
    run_id = store.create_run({}, status="running")
    seen, problems, stop = [0], [], threading.Event()

    def reader() -> None:
        local = RunStore(store.root)
        while not stop.is_set():
            snaps = local.get_run(run_id).snapshots
            if not snaps:
                continue
            idx = snaps[-1]["idx"]
            emb, doc = local.load_snapshot(run_id, idx), local.load_docvecs(run_id, idx)
            if emb.shape != (1500, 400) or not (np.all(emb == idx) and np.all(doc == -idx)):
                problems.append(idx)
            seen[0] += 1

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    rng, start = random.Random(3), 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(store.root), run_id,
                                 str(start)], stdout=subprocess.PIPE, env=env, cwd=REPO)
        proc.stdout.readline()
        time.sleep(rng.uniform(0.2, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        start = max([s["idx"] for s in store.get_run(run_id).snapshots], default=-1) + 1
    stop.set()
    thread.join(10)
    assert not problems, f"half-written snapshots read: {problems}"
    assert seen[0] > 0
    run = store.get_run(run_id)
    assert run.n_snapshots >= 5
    for snap in run.snapshots:  # listed means complete, after every kill
        assert np.all(store.load_snapshot(run_id, snap["idx"]) == snap["idx"])
    with sqlite3.connect(store.root / "runs.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # temp files a kill left behind are never taken for snapshots
    names = {p.name for p in (store.run_dir(run_id) / "snapshots").iterdir()}
    assert all(n.startswith(".") and n.endswith(".tmp") for n in names
               if not n.startswith(("emb_", "doc_")))


@pytest.fixture
def medium_ds():
    return medium_dataset()


@pytest.mark.slow
def test_worker_kill_9_mid_epoch_then_restart(store, medium_ds):
    """A finished run and a run whose worker is killed mid-epoch: the dead one is marked failed
    by ``refresh`` while the dashboard is up and by ``reconcile`` after a restart; everything
    finished before the kill is listed and opens."""
    from core.training.config import TrainConfig

    done = jobs.submit_run(store, medium_ds, TrainConfig(epochs=2, batch_size=64, doc_sample=10))
    assert wait_for_run(store, done, lambda r: r.status in ("done", "failed")).status == "done"
    victim = jobs.submit_run(store, medium_ds, TrainConfig(epochs=500, batch_size=8, early_stopping=False, doc_sample=10))
    run = wait_for_run(store, victim, lambda r: len(r.epochs) >= 2)
    time.sleep(random.Random(5).uniform(0.05, 0.5))  # somewhere inside the next epoch
    os.kill(run.pid, signal.SIGKILL)
    wait_for_run(store, victim, lambda r: not psutil.pid_exists(r.pid), timeout=10)
    assert jobs.refresh(store, victim).status == "failed"  # seen live, no restart needed

    restarted = RunStore(store.root)  # a new server process opens the same store
    assert jobs.reconcile(restarted) == []
    runs = {r.run_id: r for r in restarted.list_runs()}
    assert runs[done].status == "done" and len(runs[done].epochs) == 2
    dead = runs[victim]
    assert dead.status == "failed" and dead.error.startswith("interrupted: the process writing")
    assert len(dead.epochs) >= 2 and dead.n_snapshots >= len(dead.epochs)
    for run_id in (done, victim):
        for snap in runs[run_id].snapshots:
            assert restarted.load_snapshot(run_id, snap["idx"]).shape[0] > 300
        assert len(restarted.load_vocab(run_id)) > 300


def test_reconcile_after_restart_marks_dead_running_runs_failed(store):
    """A run left "running" by a process that no longer holds its lock (a store written
    before liveness locks, or a writer gone) is failed; a run this process writes is not."""
    run_id = "20260101-000000-aaaaaa"
    with sqlite3.connect(store.root / "runs.sqlite") as db:  # as an older version left it
        db.execute("INSERT INTO jobs (job_id, kind, created, updated, status, config, info, pid)"
                   " VALUES (?, 'run', 1, 1, 'running', '{}', '{}', ?)", (run_id, 2**22 + 12345))
    mine = store.create_run({}, status="running")  # in-process (CLI, tracker): watched too
    assert jobs.reconcile(RunStore(store.root)) == [run_id]
    assert store.get_run(run_id).status == "failed"
    assert store.get_run(mine).status == "running"


def test_queued_run_waiting_for_a_worker_is_not_declared_dead(store, monkeypatch):
    """submit() queues the run; a queued run waits (for a slot, or for its worker to start)
    and is never failed for it — long after, reconcile starts a worker for it instead."""
    started = []
    monkeypatch.setattr(jobs, "spawn", lambda *a, **k: started.append(a) or 2**22 + 1)
    run_id = store.create_run({}, status="queued", info={"worker": True})
    assert jobs.reconcile(store) == [] and jobs.refresh(store, run_id).status == "queued"
    assert started == []  # inside the grace: left to the submit that queued it
    with sqlite3.connect(store.root / "runs.sqlite") as db:
        db.execute("UPDATE jobs SET updated = updated - ? WHERE job_id = ?",
                   (jobs.SUBMIT_GRACE + 1, run_id))
    assert jobs.refresh(store, run_id).status == "queued" and len(started) == 1
