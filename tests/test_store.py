"""Run store: atomic arrays, status lifecycle, listing, deletion, id validation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import StoreError
from core.store.runstore import RunStore, check_run_id, new_run_id


def test_run_lifecycle(store):
    run_id = store.create_run({"arch": "bag"}, fingerprint="abc", info={"n_train": 3})
    assert store.get_run(run_id).status == "running"
    store.add_epoch(run_id, 1, {"val_accuracy": 0.5})
    store.update_info(run_id, vocab_size=10)
    store.set_status(run_id, "done")
    run = store.get_run(run_id)
    assert run.status == "done"
    assert run.config == {"arch": "bag"}
    assert run.info == {"n_train": 3, "vocab_size": 10}
    assert run.epochs == [{"epoch": 1, "val_accuracy": 0.5}]


def test_snapshots_round_trip_read_only(store):
    run_id = store.create_run({})
    emb = np.arange(12, dtype=np.float32).reshape(4, 3)
    store.add_snapshot(run_id, 0, 0, 0, emb, docvecs=emb[:2])
    loaded = store.load_snapshot(run_id, 0)
    np.testing.assert_array_equal(loaded, emb)
    np.testing.assert_array_equal(store.load_docvecs(run_id, 0), emb[:2])
    assert not loaded.flags.writeable
    assert store.get_run(run_id).snapshots == [{"idx": 0, "epoch": 0, "step": 0}]


def test_array_write_leaves_no_temp_files(store):
    run_id = store.create_run({})
    store.save_array(run_id, "x", np.ones(5))
    leftovers = [p.name for p in store.run_dir(run_id).iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_frames_round_trip(store):
    run_id = store.create_run({})
    df = pd.DataFrame({"token": ["a", "b"], "count": [2, 1]})
    store.save_frame(run_id, "vocab", df)
    pd.testing.assert_frame_equal(store.load_vocab(run_id), df)


def test_list_newest_first_and_delete(store):
    first = store.create_run({}, run_id="20260101-000000-aaaaaa")
    second = store.create_run({}, run_id="20260102-000000-bbbbbb")
    assert [r.run_id for r in store.list_runs()] == [second, first]
    store.delete_run(first)
    assert [r.run_id for r in store.list_runs()] == [second]
    assert not (store.root / first).exists()


def test_cancel_flag(store):
    run_id = store.create_run({})
    assert not store.cancel_requested(run_id)
    store.request_cancel(run_id)
    assert store.cancel_requested(run_id)


def test_new_run_ids_are_valid_and_distinct():
    ids = {new_run_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(check_run_id(i) == i for i in ids)


@pytest.mark.parametrize("bad", ["../etc", "..", "/tmp/x", "20260101-000000-aaaaa/",
                                 "20260101-000000-AAAAAA", "", "a" * 200],
                         ids=["parent", "dotdot", "absolute", "slash", "upper", "empty", "long"])
def test_bad_run_ids_refused(store, bad):
    with pytest.raises(StoreError, match="not a valid run id"):
        store.run_dir(bad)


@pytest.mark.parametrize("name", ["../../x", "a/../../b", ".hidden", "a b"],
                         ids=["traversal", "nested-traversal", "hidden", "space"])
def test_bad_array_names_refused(store, name):
    run_id = store.create_run({})
    with pytest.raises(StoreError, match="not an allowed file name"):
        store.save_array(run_id, name, np.zeros(1))


def test_unknown_run(store):
    with pytest.raises(StoreError, match="does not exist"):
        store.get_run("20260101-000000-abcdef")


def test_missing_array(store):
    run_id = store.create_run({})
    with pytest.raises(StoreError, match="no array"):
        store.load_snapshot(run_id, 3)


def test_bad_status(store):
    run_id = store.create_run({})
    with pytest.raises(ValueError, match="status must be one of"):
        store.set_status(run_id, "sleeping")


OLD_SCHEMA = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, created REAL, updated REAL, status TEXT, label TEXT,
    config TEXT, fingerprint TEXT, info TEXT, error TEXT, pid INTEGER,
    cancel_requested INTEGER DEFAULT 0);
CREATE TABLE epochs (run_id TEXT, epoch INTEGER, metrics TEXT, PRIMARY KEY (run_id, epoch));
CREATE TABLE snapshots (run_id TEXT, idx INTEGER, epoch INTEGER, step INTEGER, created REAL,
    PRIMARY KEY (run_id, idx));
"""


def test_a_store_from_before_the_jobs_table_still_opens(tmp_path):
    """Runs lived alone in a table 'runs' and experiments kept their status in JSON files
    with eight training fields flat: both are read into the one jobs table."""
    import json
    import sqlite3

    from core.training.experiments import list_experiments, load_experiment

    run_id, exp_id = "20250101-000000-aaaaaa", "20250102-000000-bbbbbb"
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO runs VALUES (?, 1.0, 2.0, 'done', 'x', '{\"arch\": \"cnn\"}',"
                   " 'fp', '{}', NULL, 1, 0)", (run_id,))
        db.execute("INSERT INTO epochs VALUES (?, 1, '{\"val_accuracy\": 0.7}')", (run_id,))
    folder = tmp_path / "experiments" / exp_id
    folder.mkdir(parents=True)
    flat = {"sizes": [100, "all"], "inits": ["random"], "seeds": 2, "split_seed": 0,
            "arch": "bag", "dim": 50, "epochs": 4, "batch_size": 16, "lr": 0.02,
            "val_fraction": 0.2, "doc_sample": 50, "snapshots": "ends"}
    (folder / "experiment.json").write_text(json.dumps({
        "config": flat, "fingerprint": "fp2", "status": "running", "done": 1, "total": 4,
        "created": 5.0, "updated": 6.0, "error": None, "classes": ["a", "b"]}))
    (folder / "worker.json").write_text(json.dumps({"pid": 4242}))
    (folder / "progress.json").write_text(json.dumps({"index": 2, "total": 4}))
    (folder / "cancel").touch()

    store = RunStore(tmp_path)
    (run,) = store.list_runs()
    assert (run.run_id, run.status, run.config, run.kind) == (run_id, "done", {"arch": "cnn"},
                                                               "run")
    assert run.epochs == [{"epoch": 1, "val_accuracy": 0.7}]
    exp = load_experiment(store, exp_id)
    assert (exp.status, exp.done, exp.total, exp.created) == ("running", 1, 4, 5.0)
    assert exp.config.train.epochs == 4 and exp.config.train.snapshots == "ends"
    assert exp.config.sizes == (100, "all") and exp.config.seeds == 2
    job = store.get_job(exp_id)
    assert job.pid == 4242 and job.cancel_requested and job.info["progress"]["index"] == 2
    assert not any((folder / n).exists() for n in ("experiment.json", "worker.json", "cancel"))
    assert [e.experiment_id for e in list_experiments(RunStore(tmp_path))] == [exp_id]
    assert [r.run_id for r in store.list_runs()] == [run_id]  # experiments are not runs


def test_a_jobs_table_without_writer_columns_gets_them(tmp_path):
    """Stores made before liveness locks had no host/started columns: they are added and the
    old rows keep their values."""
    import sqlite3

    with sqlite3.connect(tmp_path / "runs.sqlite") as db:
        db.executescript("""
            CREATE TABLE jobs (job_id TEXT PRIMARY KEY, kind TEXT NOT NULL DEFAULT 'run',
                created REAL, updated REAL, status TEXT, label TEXT, config TEXT,
                fingerprint TEXT, info TEXT, error TEXT, pid INTEGER,
                cancel_requested INTEGER DEFAULT 0);
            INSERT INTO jobs VALUES ('20250101-000000-aaaaaa', 'run', 1, 2, 'done', '', '{}',
                '', '{}', NULL, 7, 0);""")
    store = RunStore(tmp_path)
    (run,) = store.list_runs()
    assert (run.status, run.pid, run.host, run.started) == ("done", 7, None, None)
    fresh = store.create_run({})
    assert store.get_run(fresh).host and store.get_run(fresh).started
