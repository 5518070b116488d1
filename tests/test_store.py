"""Run store: atomic arrays, status lifecycle, listing, deletion, id validation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import StoreError
from core.store import check_run_id, new_run_id


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
