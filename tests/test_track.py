"""core.track: a run written from outside the product's trainer is an ordinary run; what the
user did not give is absent and said so; the writer lock lives as long as the run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from core.data.text import Vocab, vocab_frame
from core.errors import CancelledError, DataError, StoreError
from core.jobs.engine import Engine
from core.runs import views as runviews
from core.track import EmbeddingTracker, TrackedRun, open_run
from core.track.vocabulary import vocabulary_tokens
from tests.conftest import REPO, TEN_WORDS

WORDS = ["<pad>", "<unk>"] + TEN_WORDS


def _tables(n: int, rows: int = len(WORDS), dim: int = 4, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(rows, dim)).astype(np.float32) for _ in range(n)]


class FakeTextVectorization:
    """What Keras's TextVectorization hands back (importing it would need TensorFlow)."""

    def get_vocabulary(self):
        return ["", "[UNK]"] + TEN_WORDS


def test_vocabulary_forms_and_specials():
    assert vocabulary_tokens(FakeTextVectorization()) == WORDS
    assert vocabulary_tokens({w: i for i, w in enumerate(WORDS)}) == WORDS
    assert vocabulary_tokens(np.array(WORDS)) == WORDS
    assert vocabulary_tokens(["the", "cat"]) == ["the", "cat"]  # no specials invented


@pytest.mark.parametrize("vocab, message", [
    (["a", "b", "a"], "rows 0 and 2 are both 'a'"),
    (["<pad>", "a", ""], "row 2 is an empty token"),
    ({"a": 0, "b": 2}, "rows [1] have no token"),
    ("abc", "must be a list of tokens"),
    ([], "is empty"),
])
def test_vocabulary_refusals(vocab, message):
    with pytest.raises(DataError, match=message.replace("[", r"\[").replace("]", r"\]")):
        vocabulary_tokens(vocab)


def test_tracked_run_without_extras_is_an_ordinary_run(store):
    run = open_run(store, FakeTextVectorization(), name="mine", source="python", epochs=2)
    assert store.get_run(run.run_id).status == "running" and store.writer_alive(run.run_id)
    for epoch, table in enumerate(_tables(3)):
        run.add_snapshot(table, epoch=epoch, step=epoch * 10,
                         metrics={"loss": 1.0 / (epoch + 1)} if epoch else None)
    run.finish()
    info = store.get_run(run.run_id)
    assert info.status == "done" and not store.writer_alive(run.run_id)
    assert info.config["source"] == "python" and info.info["name"] == "mine"
    assert info.info["counts_known"] is False and "classes" not in info.info
    assert info.epochs[-1]["train_loss"] == pytest.approx(1 / 3)  # Keras's name renamed
    assert store.load_vocab(run.run_id)["token"].tolist() == WORDS
    assert np.isnan(info.val_accuracy_at(info.snapshots[-1]))  # not given, no crash
    Engine(store, warm=False, method="pca").tick()
    after = store.get_run(run.run_id)
    assert after.info["views"] == "ready", after.info.get("views_error")
    evo = runviews.evolution(store, run.run_id, "pca")
    # no counts: the words in vocabulary order, the special rows left out
    assert evo.coords.shape == (3, len(TEN_WORDS), 2) and evo.words == TEN_WORDS
    assert runviews.document_views(store, run.run_id, "pca") is None
    assert "no documents" in runviews.documents_missing(store, run.run_id)


def test_counts_documents_and_doc_vectors(store):
    docs = ["good film", "bad film", "great lake", "awful river", "fine day", "poor day"]
    labels = ["pos", "neg", "pos", "neg", "pos", "neg"]
    class_counts = np.arange(len(WORDS) * 2).reshape(-1, 2)
    run = open_run(store, WORDS, class_counts=class_counts, classes=["neg", "pos"],
                   documents=docs, labels=labels)
    rng = np.random.default_rng(1)
    for epoch, table in enumerate(_tables(2)):
        run.add_snapshot(table, epoch=epoch, step=epoch, docvecs=rng.normal(size=(6, 3)))
    with pytest.raises(DataError, match="one vector per document"):
        run.add_snapshot(_tables(1)[0], epoch=2, step=2, docvecs=np.zeros((5, 3)))
    run.finish()
    vocab = store.load_vocab(run.run_id)
    assert vocab["train_count"].tolist() == class_counts.sum(axis=1).tolist()
    assert vocab["count_1"].tolist() == class_counts[:, 1].tolist()
    saved = store.load_docs(run.run_id)
    assert saved["label"].tolist() == labels and saved["label_id"].tolist() == [1, 0] * 3
    assert store.get_run(run.run_id).info["classes"] == ["neg", "pos"]
    assert runviews.documents_missing(store, run.run_id) is None
    views = runviews.document_views(store, run.run_id, "pca")
    assert views.learned.shape == (2, 6, 2)


def test_snapshot_refusals(store):
    run = open_run(store, WORDS)
    with pytest.raises(DataError, match="vocabulary size 12"):
        run.add_snapshot(np.zeros((11, 4)), epoch=0, step=0)
    run.add_snapshot(np.zeros((12, 4)), epoch=0, step=0)
    with pytest.raises(DataError, match="earlier ones had 4"):
        run.add_snapshot(np.zeros((12, 5)), epoch=1, step=1)
    bad = np.zeros((12, 4))
    bad[3, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        run.add_snapshot(bad, epoch=1, step=1)
    run.finish()
    with pytest.raises(StoreError, match="is done"):
        run.add_snapshot(np.zeros((12, 4)), epoch=1, step=1)


def test_context_manager_marks_failure_and_keeps_snapshots(store):
    with pytest.raises(RuntimeError):
        with open_run(store, WORDS) as run:
            run.add_snapshot(_tables(1)[0], epoch=0, step=0)
            raise RuntimeError("loss is nan")
    info = store.get_run(run.run_id)
    assert info.status == "failed" and "loss is nan" in info.error and info.n_snapshots == 1
    assert not store.writer_alive(run.run_id)


def test_update_counts_follow_contract_a(store):
    run = open_run(store, WORDS)
    run.add_snapshot(_tables(1)[0], epoch=0, step=0)
    run.add_snapshot(_tables(1)[0], epoch=1, step=3, updates=np.full(len(WORDS), 3))
    with pytest.raises(DataError, match="every snapshot after the first"):
        run.add_snapshot(_tables(1)[0], epoch=2, step=6)
    run.finish()
    assert store.load_array(run.run_id, "snapshots/updates_0000").tolist() == [0] * len(WORDS)
    assert store.load_array(run.run_id, "snapshots/updates_0001").tolist() == [3] * len(WORDS)
    plain = open_run(store, WORDS)
    plain.add_snapshot(_tables(1)[0], epoch=0, step=0)
    plain.add_snapshot(_tables(1)[0], epoch=1, step=3)
    plain.finish()
    assert not store.has_array(plain.run_id, "snapshots/updates_0000")


def test_torch_tracker_counts_rows_each_step_touched(store):
    emb = torch.nn.Embedding(len(WORDS), 4, padding_idx=0)
    with EmbeddingTracker(emb, WORDS, store=store, every=2, epochs=1) as tracker:
        for ids in ([[2, 2, 3, 0]], [[3, 4, 0, 0]]):
            tracker.step(torch.tensor(ids))
        tracker.step(torch.tensor([[5, 0]]))
        tracker.epoch_end({"val_accuracy": 0.5})
    run = store.get_run(tracker.run_id)
    assert [(s["epoch"], s["step"]) for s in run.snapshots] == [(0, 0), (1, 2), (1, 3)]
    assert run.status == "done" and run.val_accuracy_at(run.snapshots[-1]) == 0.5
    first = store.load_array(run.run_id, "snapshots/updates_0001")
    assert first[[0, 2, 3, 4, 5]].tolist() == [0, 1, 2, 1, 0]  # once per step; padding never
    assert store.load_array(run.run_id, "snapshots/updates_0002")[5] == 1


def test_torch_tracker_marks_the_run_failed_when_the_loop_raises(store):
    emb = torch.nn.EmbeddingBag(len(WORDS), 4)
    with pytest.raises(ValueError, match="diverged"):
        with EmbeddingTracker(emb, WORDS, store=store) as tracker:
            tracker.epoch_end({"val_loss": 1.0})
            raise ValueError("diverged")
    run = store.get_run(tracker.run_id)
    assert run.status == "failed" and "diverged" in run.error and run.n_snapshots == 2



def test_torch_tracker_stops_at_the_epoch_end_after_a_cancel(store):
    """The dashboard's "Cancel this run" sets the store's flag; the epoch under way is kept,
    then epoch_end raises CancelledError and the context manager records "cancelled"."""
    emb = torch.nn.Embedding(len(WORDS), 4)
    finished_epochs = []
    with EmbeddingTracker(emb, WORDS, store=store, epochs=5) as tracker:
        for epoch in range(5):
            for ids in ([[2, 3]], [[4, 5]], [[6, 7]]):
                tracker.step(torch.tensor(ids))
            if epoch == 1:
                store.request_cancel(tracker.run_id)
            tracker.epoch_end({"val_loss": 1.0})
            finished_epochs.append(epoch)
    run = store.get_run(tracker.run_id)
    assert finished_epochs == [0]  # the CancelledError left the loop at epoch 1's end
    assert run.status == "cancelled" and run.error is None
    assert [(s["epoch"], s["step"]) for s in run.snapshots] == [(0, 0), (1, 3), (2, 6)]
    assert [e["epoch"] for e in run.epochs] == [1, 2]
    assert not store.writer_alive(run.run_id)


def test_torch_tracker_step_raises_once_cancel_is_requested(store, monkeypatch):
    monkeypatch.setattr(TrackedRun, "POLL_SECONDS", 0.0)  # poll the store at every step
    emb = torch.nn.Embedding(len(WORDS), 4)
    with EmbeddingTracker(emb, WORDS, store=store, every=10) as tracker:
        tracker.step()
        store.request_cancel(tracker.run_id)
        with pytest.raises(CancelledError):
            tracker.step()
        with pytest.raises(CancelledError):  # and every call after it
            tracker.epoch_end()
    run = store.get_run(tracker.run_id)  # the block ended normally: still cancelled, not done
    assert run.status == "cancelled" and run.n_snapshots == 1


def test_torch_tracker_polls_the_store_at_most_every_poll_interval(store, monkeypatch):
    monkeypatch.setattr(TrackedRun, "POLL_SECONDS", 3600.0)
    emb = torch.nn.Embedding(len(WORDS), 4)
    steps = 0
    with EmbeddingTracker(emb, WORDS, store=store) as tracker:
        store.request_cancel(tracker.run_id)
        for _ in range(5):
            tracker.step()  # not due: no store read, no cancel yet
            steps += 1
        with pytest.raises(CancelledError):
            tracker.epoch_end()  # an epoch's end always asks
    assert steps == 5 and store.get_run(tracker.run_id).status == "cancelled"


def test_the_context_manager_swallows_only_a_cancel(store):
    with pytest.raises(KeyError):
        with open_run(store, WORDS) as run:
            run.add_snapshot(_tables(1)[0], epoch=0, step=0)
            raise KeyError("not a cancel")
    assert store.get_run(run.run_id).status == "failed"
    with open_run(store, WORDS) as run:
        run.add_snapshot(_tables(1)[0], epoch=0, step=0)
        store.request_cancel(run.run_id)
        run.check_cancel(now=True)
        raise AssertionError("check_cancel should have raised CancelledError")
    assert store.get_run(run.run_id).status == "cancelled"


def test_tracked_vocabulary_has_the_trainers_columns_and_dtypes(store):
    class_counts = np.arange(len(WORDS) * 2).reshape(-1, 2)
    vocab = Vocab(WORDS, class_counts.sum(axis=1) + 3, class_counts)  # 3 more outside training
    run = open_run(store, WORDS, counts=vocab.counts, class_counts=vocab.class_counts)
    run.add_snapshot(_tables(1)[0], epoch=0, step=0)
    run.finish()
    saved = store.load_vocab(run.run_id).drop(columns=["in_pretrained"])
    store.save_frame(run.run_id, "trainer_vocab", vocab.to_frame())  # as the trainer writes it
    expected = store.load_frame(run.run_id, "trainer_vocab")
    pd.testing.assert_frame_equal(saved, expected)
    assert list(saved.columns) == ["token", "count", "train_count", "count_0", "count_1"]


def test_vocab_frame_defaults_and_refusals():
    frame = vocab_frame(["a", "b"], [3, 1])
    assert frame["train_count"].tolist() == [0, 0] and list(frame.columns) == [
        "token", "count", "train_count"]
    assert frame.dtypes["count"] == np.int64 and frame.dtypes["train_count"] == np.int64
    assert vocab_frame(["a", "b"], [3, 1], train_counts=[2, 1])["train_count"].tolist() == [2, 1]
    with pytest.raises(ValueError, match="train_counts"):
        vocab_frame(["a", "b"], [3, 1], [[1, 1], [0, 1]], train_counts=[1, 1])
    with pytest.raises(ValueError, match="class_counts"):
        vocab_frame(["a", "b"], [3, 1], [[1, 1]])


_WRITER = """
import sys, time, numpy as np
from core.track import open_run
run = open_run(sys.argv[1], ["<pad>", "<unk>", "a", "b", "c", "d"], name="killed")
run.add_snapshot(np.ones((6, 3)), epoch=0, step=0)
print(run.run_id, flush=True)
time.sleep(120)
"""


def test_a_killed_tracking_process_leaves_an_interrupted_run(store):
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(store.root)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "EXPLORER_WARM_UP": "0"})
    try:
        run_id = proc.stdout.readline().strip()
        assert store.list_runs()[0].status == "running"  # the live writer holds its lock
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    run = store.list_runs()[0]
    assert run.run_id == run_id and run.status == "failed" and "interrupted" in run.error
    assert run.n_snapshots == 1


def test_core_track_imports_without_keras():
    code = "import sys, core.track; print('keras' in sys.modules, 'torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "False"]  # keras, torch
