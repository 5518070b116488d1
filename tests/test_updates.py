"""Per-row update counts (contract A): how many optimiser steps' batches held each row."""
from __future__ import annotations

import numpy as np
import pytest

from core.data.loading import Dataset
from core.data.text import tokenize
from core.runs.updates import has_update_counts, updates_received
from core.training.config import TrainConfig
from core.training.trainer import _Trainer, train_run
from tests.conftest import make_keyed_vectors

# Repeated words within a text ("good good") must still count once per step.
TEXTS = ["good good film", "bad film", "good fun", "bad bad noise", "fine film", "poor noise",
         "good river", "bad lake", "great fun", "awful noise", "good", "bad"]
LABELS = ["pos", "neg"] * 6


@pytest.fixture
def tiny():
    return Dataset.from_lists(TEXTS, LABELS)


def _row_ids(store, run_id, texts):
    vocab = store.load_vocab(run_id)["token"].tolist()
    index = {w: i for i, w in enumerate(vocab)}
    return [{index.get(t, 1) for t in tokenize(text)} for text in texts]


def _record_batches(monkeypatch) -> list[list[int]]:
    """The data rows of every optimiser step, in order, as the trainer ran them."""
    batches: list[list[int]] = []
    update = _Trainer.update

    def recording(self, rows, *args):
        batches.append([int(r) for r in rows])
        return update(self, rows, *args)

    monkeypatch.setattr(_Trainer, "update", recording)
    return batches


@pytest.mark.parametrize("arch", ["bag", "cnn"])
def test_counts_are_the_steps_whose_batch_held_each_row(tiny, store, monkeypatch, arch):
    batches = _record_batches(monkeypatch)
    config = TrainConfig(arch=arch, hidden=4, epochs=3, batch_size=3, doc_sample=2,
                         early_stopping=False, val_fraction=0.25)
    run_id = train_run(tiny, config, store).run_id
    run = store.get_run(run_id)
    rows_of_text = _row_ids(store, run_id, TEXTS)
    n_rows = len(store.load_vocab(run_id))
    steps_per_epoch = len(batches) // 3
    assert steps_per_epoch == 3  # 9 training texts, batches of 3
    for snap in run.snapshots:
        expected = np.zeros(n_rows, dtype=np.int64)
        for batch in batches[: snap["step"]]:
            for row in set().union(*(rows_of_text[i] for i in batch)):
                expected[row] += 1
        np.testing.assert_array_equal(updates_received(store, run_id, snap["idx"]), expected)
    assert has_update_counts(store, run_id)
    total = updates_received(store, run_id, run.snapshots[-1]["idx"])
    assert total[0] == 0  # padding is never a word
    assert total.max() <= len(batches)


def test_one_batch_per_epoch_counts_one_per_epoch(tiny, store):
    """batch_size >= training rows: every word of the training texts is in every step."""
    config = TrainConfig(epochs=4, batch_size=64, doc_sample=2, early_stopping=False,
                         val_fraction=0.25)
    run_id = train_run(tiny, config, store).run_id
    seen = store.load_vocab(run_id)["train_count"].to_numpy() > 0
    for idx in range(5):  # step 0 and four epochs, one step each
        counts = updates_received(store, run_id, idx)
        assert (counts[seen] == idx).all() and (counts[~seen] == 0).all()
        interval = np.asarray(store.load_array(run_id, f"snapshots/updates_{idx:04d}"))
        assert (interval[seen] == min(idx, 1)).all()


def test_frozen_table_counts_zero(tiny, store, tmp_path):
    path = tmp_path / "vecs.txt"
    make_keyed_vectors(["good", "bad", "film", "fun", "noise"]).save_word2vec_format(str(path))
    config = TrainConfig(epochs=2, batch_size=3, doc_sample=2, init=str(path), freeze=True)
    run_id = train_run(tiny, config, store).run_id
    last = store.get_run(run_id).snapshots[-1]["idx"]
    assert has_update_counts(store, run_id)
    assert not updates_received(store, run_id, last).any()


def test_ends_mode_intervals_add_up_to_the_same_totals(tiny, store):
    """"ends" (with its held best-epoch snapshot) and "all" train alike: the cumulative
    counts at their last snapshot are equal."""
    base = dict(epochs=4, batch_size=3, doc_sample=2, early_stopping=False, val_fraction=0.25)
    ends = train_run(tiny, TrainConfig(**base, snapshots="ends"), store).run_id
    every = train_run(tiny, TrainConfig(**base), store).run_id
    np.testing.assert_array_equal(updates_received(store, ends, store.get_run(ends).n_snapshots - 1),
                                  updates_received(store, every, 4))


def test_runs_without_counts_give_none(tiny, store):
    run_id = train_run(tiny, TrainConfig(epochs=1, batch_size=4, doc_sample=2), store).run_id
    for path in (store.run_dir(run_id) / "snapshots").glob("updates_*.npy"):
        path.unlink()  # as a run trained before the counts existed
    assert not has_update_counts(store, run_id)
    assert updates_received(store, run_id, 1) is None
    with pytest.raises(ValueError, match="no snapshot 7"):
        updates_received(store, run_id, 7)
