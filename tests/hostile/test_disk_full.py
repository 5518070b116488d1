"""A full disk under the run store: one StoreError naming the problem (never a traceback from
numpy or sqlite3), no temporary file left, the run marked failed (now, or by the next reader
once the writer is gone), the store still readable; and runs that would not fit are refused
before they start, with their estimated size."""
from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import StoreError
from core.jobs import queue as jobs
from core.store import runstore
from core.store.disk import DiskBudget, RunSize, planned_snapshots
from core.store.runstore import RunStore
from core.training.config import TrainConfig
from tests.conftest import REPO, labelled, medium_dataset

FULL = "the disk holding the run store is full"
_CONNECT = sqlite3.connect  # the real one (a test's Disk replaces it)


def _stored_status(store) -> str:
    """The only job's status as written in the database (not as readers are shown it)."""
    db = _CONNECT(store.root / "runs.sqlite")
    try:
        return db.execute("SELECT status FROM jobs").fetchone()[0]
    finally:
        db.close()


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp")]


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


class Disk:
    """A disk that can fill up: array writes then fail with ENOSPC, SQLite writes with
    SQLITE_FULL ("database or disk is full"), as on a real full disk."""

    def __init__(self, monkeypatch) -> None:
        self.full = False
        real_save, real_connect, disk = np.save, _CONNECT, self

        def save(*args, **kwargs):
            if disk.full:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_save(*args, **kwargs)

        class Connection:
            def __init__(self, *args, **kwargs):
                self.db = real_connect(*args, **kwargs)

            def execute(self, sql, *args):
                if disk.full and sql.lstrip().upper().startswith(("UPDATE", "INSERT")):
                    raise sqlite3.OperationalError("database or disk is full")
                return self.db.execute(sql, *args)

            def close(self):
                self.db.close()

            @property
            def row_factory(self):
                return self.db.row_factory

            @row_factory.setter
            def row_factory(self, value):
                self.db.row_factory = value

        monkeypatch.setattr(np, "save", save)
        monkeypatch.setattr(runstore.sqlite3, "connect", Connection)


@pytest.fixture
def disk(monkeypatch) -> Disk:
    return Disk(monkeypatch)


@pytest.mark.parametrize("error", [
    OSError(errno.ENOSPC, "No space left on device"),
    OSError("302000 requested and 301024 written"),  # numpy's tofile on a full disk: no errno
], ids=["enospc", "numpy-short-write"])
def test_a_full_disk_while_saving_an_array_is_one_store_error(store, monkeypatch, error):
    run_id = store.create_run({})

    def fail(*args, **kwargs):
        raise error
    monkeypatch.setattr(np, "save", fail)
    with pytest.raises(StoreError, match=FULL):
        store.save_array(run_id, "snapshots/emb_0000", np.ones((50, 4), np.float32))
    assert _temp_files(store.root) == []  # the temporary file was removed


def test_a_full_disk_under_sqlite_is_one_store_error(store, disk):
    run_id = store.create_run({})
    disk.full = True
    with pytest.raises(StoreError, match=FULL):
        store.add_epoch(run_id, 1, {"val_accuracy": 0.5})
    assert store.get_run(run_id).status == "running"  # reads still work


def test_training_on_a_full_disk_ends_with_one_error_and_the_run_failed_later(store, disk):
    """The disk fills after the first snapshot: the next snapshot fails and so does recording
    the failure. train_run raises the one disk-full StoreError; once it has let go of the run
    readers show it failed (without room to write that), and write it when there is room."""
    from core.training.trainer import train_run

    def fill_after_first_snapshot(event):
        if event.kind == "snapshot":
            disk.full = True
    with pytest.raises(StoreError, match=FULL):
        train_run(labelled(3), TrainConfig(epochs=3, batch_size=8, doc_sample=10), store,
                  callback=fill_after_first_snapshot)
    assert _temp_files(store.root) == []
    (run,) = store.list_runs()  # still full: shown failed, not "running"
    assert run.status == "failed" and run.error.startswith("interrupted: the process writing")
    assert _stored_status(store) == "running"  # ...but not written: no room
    assert run.n_snapshots == 1 and store.load_snapshot(run.run_id, 0).shape[1] == 50
    disk.full = False  # space freed
    assert store.reap() == [run.run_id]
    assert _stored_status(store) == "failed"


# -- the budget ------------------------------------------------------------------------------
def _usage(free_mb: float, total_mb: float = 100_000):
    return shutil._ntuple_diskusage(int(total_mb * 2**20), 0, int(free_mb * 2**20))


def test_a_run_that_would_not_fit_is_refused_with_its_estimate(store, monkeypatch):
    monkeypatch.setattr(runstore.shutil, "disk_usage", lambda p: _usage(free_mb=60))
    size = RunSize(rows=10_000, dim=1000, snapshots=21, docs=500, doc_dim=1000)
    refusal = r"needs about 845\.\d MB .* has 60\.0 MB free and 50\.0 MB must stay free"
    with pytest.raises(StoreError, match=refusal):
        store.check_space(size)
    small = RunSize(rows=1000, dim=50, snapshots=6, docs=100, doc_dim=50)
    assert store.check_space(small) is None


def test_above_the_run_budget_is_a_warning_and_the_store_budget_a_refusal(tmp_path):
    store = RunStore(tmp_path / "runs", budget=DiskBudget(run_mb=1, store_mb=2))
    size = RunSize(rows=5000, dim=50, snapshots=6, docs=100, doc_dim=50)  # ~6 MB
    with pytest.raises(StoreError, match=r"store_mb"):
        store.check_space(size)
    store = RunStore(tmp_path / "runs", budget=DiskBudget(run_mb=1))
    assert "above the per-run budget of 1.0 MB" in store.check_space(size)
    with pytest.raises(ValueError, match="run_mb"):
        DiskBudget(run_mb=0)


def test_train_run_refuses_before_its_first_snapshot(store, monkeypatch):
    from core.training.trainer import train_run

    monkeypatch.setattr(runstore.shutil, "disk_usage", lambda p: _usage(free_mb=0.5))
    with pytest.raises(StoreError, match="needs about .* free"):
        train_run(labelled(3), TrainConfig(epochs=3, dim=1000, batch_size=8), store)
    (run,) = store.list_runs()
    assert run.status == "failed" and "needs about" in run.error and run.n_snapshots == 0


@pytest.mark.parametrize("config", [
    dict(epochs=3), dict(epochs=4, snapshots="ends"), dict(epochs=3, snapshot_every=4),
    dict(epochs=2, snapshot_every=3, snapshots="ends"), dict(epochs=2, arch="cnn")],
    ids=["all", "ends", "every-4", "every-3-ends", "cnn"])
def test_the_estimate_before_training_matches_the_run(store, config):
    """The size the Train page shows (queue.estimate_size, no torch) and the one the trainer
    checks agree; both count the snapshots the run takes: exactly when every epoch is kept,
    else at most the plan plus the best epoch's tables (Recorder.defer_best)."""
    from core.training.trainer import train_run

    ds = medium_dataset()  # no early stopping: the lower bound needs every planned epoch
    cfg = TrainConfig(batch_size=64, doc_sample=50, early_stopping=False, **config)
    before = jobs.estimate_size(ds, cfg)
    run = store.get_run(train_run(ds, cfg, store).run_id)
    planned = planned_snapshots(cfg.epochs, -(-run.info["n_train"] // 64),
                                cfg.snapshots == "all", cfg.snapshot_every)
    if cfg.snapshots == "all":
        assert before.snapshots == run.n_snapshots == planned
    else:
        assert planned <= run.n_snapshots <= before.snapshots
    assert before.bytes == pytest.approx(run.info["estimated_bytes"], rel=0.02)
    written = sum(p.stat().st_size for p in store.run_dir(run.run_id).rglob("*") if p.is_file())
    assert written < before.bytes  # an estimate that never falls short


def test_planned_snapshots_counts_step_and_epoch_snapshots():
    assert planned_snapshots(5, 10, True, 0) == 6
    assert planned_snapshots(5, 10, False, 0) == 2
    assert planned_snapshots(2, 10, True, 5) == 5  # steps 5, 10, 15, 20: no extra epoch ends
    assert planned_snapshots(1000, 20, True, 0) == 1001


# -- a real 12 MB disk ---------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 12 MB tmpfs (needs root and mount); skipped where it cannot be mounted."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)




def _runs(root) -> list[dict]:
    res = subprocess.run([sys.executable, "-m", "core", "runs", "--store", str(root)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return [json.loads(line) for line in res.stdout.splitlines()]


@pytest.mark.slow
def test_dim_1000_on_a_12_mb_disk_is_refused_up_front(small_disk, medium_csv):
    root = small_disk / "runs"
    res = subprocess.run([sys.executable, "-m", "core", "train", str(medium_csv), "--store",
                          str(root), "--dim", "1000", "--epochs", "20", "--quiet"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs about" in lines[0] and "MB free" in lines[0], res.stderr
    assert _temp_files(small_disk) == []
    (run,) = _runs(root)
    assert run["status"] == "failed" and run["snapshots"] == 0


@pytest.mark.slow
def test_a_disk_that_fills_during_training(small_disk, medium_csv):
    """The disk fills after the first snapshot: exit 2 with one line, no temporary file, the
    run failed, and ``runs`` works while the disk is still full and after."""
    root = small_disk / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "core", "train", str(medium_csv), "--store",
                             str(root), "--dim", "20", "--epochs", "50", "--batch-size", "1",
                             "--quiet"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not ((root / "runs.sqlite").exists() and RunStore(root).list_runs()
                   and RunStore(root).list_runs()[0].n_snapshots >= 1):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        filler = small_disk / "filler"
        with open(filler, "wb") as fh:
            with pytest.raises(OSError):
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and FULL in lines[0], err.decode()
    assert _temp_files(small_disk) == []
    (run,) = _runs(root)  # the disk is still full
    assert run["status"] == "failed" and run["snapshots"] >= 1, run
    filler.unlink()
    (run,) = _runs(root)
    assert run["status"] == "failed"
    store = RunStore(root)
    assert store.load_snapshot(run["run_id"], 0).shape == (store.get_run(run["run_id"]).info[
        "vocab_size"], 20)
