"""Training with snapshots on tiny data: the facts the product shows must hold here."""
from __future__ import annotations

import numpy as np
import pytest

from core.data.loading import Dataset
from core.errors import DataError
from core.training.config import TrainConfig
from core.training.split import split_indices
from core.training.trainer import train_run
from tests.conftest import make_keyed_vectors


@pytest.fixture
def tiny_ds(tiny_dataset):
    return tiny_dataset


FAST = dict(epochs=3, batch_size=4, doc_sample=4, lr=0.05)


def _snapshots(store, run_id):
    run = store.get_run(run_id)
    return [np.asarray(store.load_snapshot(run_id, s["idx"])) for s in run.snapshots]


def test_run_writes_snapshots_metrics_and_tables(tiny_ds, store):
    summary = train_run(tiny_ds, TrainConfig(**FAST), store)
    assert summary.status == "done"
    assert summary.snapshots == 4  # step 0 + one per epoch
    assert len(summary.val_accuracy) == 3
    assert summary.n_train + summary.n_val == 20
    vocab = store.load_vocab(summary.run_id)
    assert len(vocab) == summary.vocab_size
    docs = store.load_docs(summary.run_id)
    assert len(docs) == 4 and set(docs["label"]) <= {"pos", "neg"}
    assert store.load_docvecs(summary.run_id, 3).shape == (4, 50)


def test_embedding_is_trained_by_the_loss_and_unseen_rows_never_move(tiny_ds, store):
    summary = train_run(tiny_ds, TrainConfig(**FAST), store)
    snaps = _snapshots(store, summary.run_id)
    vocab = store.load_vocab(summary.run_id)
    seen = vocab["train_count"].to_numpy() > 0
    moved = np.abs(snaps[-1] - snaps[0]).max(axis=1) > 0
    assert moved[seen].all()  # every word used in training got gradient updates
    assert not moved[~seen].any()  # words never seen in training keep their start vectors
    assert (~seen).sum() > 0


def test_frozen_pretrained_embedding_never_changes(tiny_ds, store, tmp_path):
    path = tmp_path / "vecs.txt"
    make_keyed_vectors().save_word2vec_format(str(path), binary=False)
    summary = train_run(tiny_ds, TrainConfig(**FAST, init=str(path), freeze=True), store)
    snaps = _snapshots(store, summary.run_id)
    assert summary.dim == 8
    assert all(np.array_equal(s, snaps[0]) for s in snaps[1:])


def test_same_seed_same_metrics(tiny_ds, store):
    a = train_run(tiny_ds, TrainConfig(**FAST, seed=7), store)
    b = train_run(tiny_ds, TrainConfig(**FAST, seed=7), store)
    c = train_run(tiny_ds, TrainConfig(**FAST, seed=8), store)
    assert a.train_loss == b.train_loss and a.val_accuracy == b.val_accuracy
    np.testing.assert_array_equal(_snapshots(store, a.run_id)[-1], _snapshots(store, b.run_id)[-1])
    assert a.train_loss != c.train_loss


def test_callbacks_report_in_order(tiny_ds, store):
    events = []
    train_run(tiny_ds, TrainConfig(**FAST), store, callback=events.append)
    # the preparation steps report first ("stage": core.training.progress), then the run
    stages = [e.data["stage"] for e in events if e.kind == "stage"]
    assert stages[0] != "training" and stages[-1] == "training"
    kinds = [e.kind for e in events if e.kind != "stage"]
    assert kinds[0] == "start" and kinds[1] == "snapshot" and kinds[-1] == "end"
    assert kinds.count("epoch") == 3 and kinds.count("snapshot") == 4
    assert kinds.index("batch") < kinds.index("epoch")


def test_cancel_between_batches_keeps_what_was_written(tiny_ds, store):
    calls = {"n": 0}

    def stop_after_five():
        calls["n"] += 1
        return calls["n"] > 5

    summary = train_run(tiny_ds, TrainConfig(**FAST), store, should_stop=stop_after_five)
    assert summary.status == "cancelled"
    assert store.get_run(summary.run_id).status == "cancelled"
    assert store.load_snapshot(summary.run_id, 0).shape[1] == 50


def test_failure_is_recorded_and_raised(tiny_ds, store, monkeypatch):
    import core.training.trainer as train_mod

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(train_mod._Trainer, "evaluate", boom)
    with pytest.raises(RuntimeError):
        train_run(tiny_ds, TrainConfig(**FAST), store)
    run = store.list_runs()[0]
    assert run.status == "failed" and "disk on fire" in run.error
    vocab_size = len(store.load_vocab(run.run_id))
    assert store.load_snapshot(run.run_id, 0).shape == (vocab_size, TrainConfig().dim)


def test_snapshot_every_n_steps(tiny_ds, store):
    summary = train_run(tiny_ds, TrainConfig(**{**FAST, "epochs": 2}, snapshot_every=2), store)
    steps = [s["step"] for s in store.get_run(summary.run_id).snapshots]
    assert steps[0] == 0 and steps == sorted(steps) and len(set(steps)) == len(steps)
    assert len(steps) > 3


def test_training_cap_keeps_the_validation_set():
    labels = np.array([0, 1] * 50)
    _, val_all = split_indices(labels, TrainConfig())
    train_cap, val_cap = split_indices(labels, TrainConfig(train_size=10))
    assert len(train_cap) == 10 and np.bincount(labels[train_cap]).tolist() == [5, 5]
    np.testing.assert_array_equal(val_all, val_cap)


@pytest.mark.parametrize("arch", ["cnn", "gru"])
def test_other_architectures_train(tiny_ds, store, arch):
    summary = train_run(tiny_ds, TrainConfig(**FAST, arch=arch, hidden=8), store)
    assert summary.status == "done"
    assert store.load_docvecs(summary.run_id, 1).shape[1] == (8 if arch == "cnn" else 16)


@pytest.mark.parametrize("algorithm", ["skipgram", "cbow"])
def test_word2vec_init_follows_dim(tiny_ds, store, algorithm):
    summary = train_run(tiny_ds, TrainConfig(**FAST, init="word2vec", dim=12,
                                             w2v_algorithm=algorithm), store)
    assert summary.dim == 12 and summary.status == "done"


def test_single_example_class_is_refused(store):
    ds = Dataset.from_lists(["a b", "c d", "e f", "g h"], ["x", "x", "x", "y"])
    with pytest.raises(DataError, match="at least 2 examples"):
        train_run(ds, TrainConfig(**FAST), store)


@pytest.mark.parametrize("field, value", [
    ("arch", "lstm"), ("init", ""), ("w2v_algorithm", "glove"), ("dim", 1), ("epochs", 0),
    ("batch_size", 0), ("lr", 0.0), ("train_size", 1), ("val_fraction", 0.9),
    ("snapshot_every", -1), ("seed", -1), ("min_count", 0), ("max_vocab", 5),
    ("doc_sample", -1), ("freeze", True)],
    ids=lambda v: str(v))
def test_bad_train_config(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_each_epoch_reports_its_last_batch(tiny_ds, store):
    events = []
    train_run(tiny_ds, TrainConfig(**{**FAST, "batch_size": 1}), store, callback=events.append)
    batches = [e for e in events if e.kind == "batch"]
    n_batches = batches[0].data["n_batches"]
    for epoch in (1, 2, 3):
        last = [e for e in batches if e.epoch == epoch][-1]
        assert last.data["batch"] == n_batches
    assert all({"loss", "batch", "n_batches"} <= set(e.data) for e in batches)


def test_run_records_the_majority_class_baseline(store):
    """Always guessing the most frequent validation class: the floor accuracy charts draw."""
    from core.data.loading import Dataset
    from core.training.split import split_indices

    texts = [f"word{i} other{i % 3}" for i in range(40)]
    labels = ["a"] * 30 + ["b"] * 10  # 75 % one class
    ds = Dataset.from_lists(texts, labels)
    config = TrainConfig(epochs=1, batch_size=8)
    run_id = train_run(ds, config, store).run_id
    _, val = split_indices(ds.labels, config)
    expected = np.bincount(ds.labels[val]).max() / len(val)
    assert store.get_run(run_id).info["majority_baseline"] == pytest.approx(expected)
    assert 0.7 <= expected <= 0.8  # the split is stratified
