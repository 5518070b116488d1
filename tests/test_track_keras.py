"""End to end: the Keras example trains with the EmbeddingExplorer callback (Keras 3 on the
torch backend) and leaves an ordinary run the engine projects; the PyTorch example too."""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

from core.jobs.engine import Engine
from core.runs import evolution as chain
from core.runs import views as runviews
from core.store.runstore import RunStore
from core.track.run import TrackedRun
from tests.conftest import REPO, TEN_WORDS

sys.path.insert(0, str(REPO / "examples"))
import _sample  # noqa: E402  (the examples' own data preparation)


def _example(script: str, store, *args: str) -> dict:
    """Run an example script as ``python examples/<script> --store <store> ...`` would, in
    this process (a fresh interpreter paid torch's and Keras's imports again: most of the
    test's time); its JSON summary line."""
    import contextlib
    import io
    import runpy

    os.environ.setdefault("KERAS_BACKEND", "torch")  # as the command line sets it
    out, argv, cwd = io.StringIO(), sys.argv, os.getcwd()
    sys.argv = [f"examples/{script}", "--store", str(store), *args]
    try:
        os.chdir(REPO)
        with contextlib.redirect_stdout(out):
            runpy.run_path(str(REPO / "examples" / script), run_name="__main__")
    finally:
        sys.argv = argv
        os.chdir(cwd)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def _expected_vocabulary() -> list[str]:
    return ["<pad>", "<unk>"] + _sample.load().vocabulary[2:]  # Keras's "" and [UNK] mapped


@pytest.mark.slow
def test_keras_example_makes_a_run_the_engine_projects(tmp_path):
    epochs = 3
    out = _example("keras_sentiment.py", tmp_path / "runs", "--epochs", str(epochs))
    store = RunStore(tmp_path / "runs")
    run = store.get_run(out["run_id"])
    assert run.status == "done" and run.config["source"] == "keras"
    assert out["snapshots"] == run.n_snapshots == epochs + 1
    assert [s["epoch"] for s in run.snapshots] == list(range(epochs + 1))
    assert store.load_vocab(run.run_id)["token"].tolist() == _expected_vocabulary()
    assert {"val_accuracy", "val_loss", "train_loss"} <= set(run.epochs[-1])
    Engine(store, warm=False, method="pca").tick()
    assert chain.latest_frame(store, run.run_id).snapshot == epochs
    evo = runviews.evolution(store, run.run_id, "pca")
    assert evo.coords.shape[0] == epochs + 1 and "great" in evo.words
    assert store.get_run(run.run_id).info["views"] == "ready"
    docs = runviews.document_views(store, run.run_id, "pca")
    assert docs.learned.shape == (epochs + 1, run.info["n_docs"], 2)


@pytest.mark.slow
def test_pytorch_example_records_update_counts(tmp_path):
    out = _example("pytorch_loop.py", tmp_path / "runs", "--epochs", "2", "--every", "7")
    store = RunStore(tmp_path / "runs")
    run = store.get_run(out["run_id"])
    assert run.status == "done" and run.config["source"] == "pytorch"
    assert [s["epoch"] for s in run.snapshots][0] == 0 and run.snapshots[-1]["epoch"] == 2
    counts = [store.load_array(run.run_id, f"snapshots/updates_{s['idx']:04d}")
              for s in run.snapshots]
    assert counts[0].sum() == 0 and all(c[0] == 0 for c in counts)  # padding never counted
    steps = [s["step"] for s in run.snapshots]
    for c, before, after in zip(counts[1:], steps, steps[1:]):
        assert c.max() <= after - before  # a row counts once per step at most
    assert counts[-1].sum() > 0


def _keras():
    """Keras 3 on the torch backend (no TensorFlow), as the product installs it."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    return keras


def _fit_cancelled_after(store, batches: int, epochs: int = 5):
    """A tiny model, 4 batches an epoch, whose run is cancelled from the store (as the
    dashboard's "Cancel this run" does) once ``batches`` batches are done."""
    keras = _keras()
    from core.track.keras_callback import EmbeddingExplorer

    words = ["", "[UNK]"] + TEN_WORDS
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Input((3,), dtype="int32"),
                              keras.layers.Embedding(len(words), 4, name="embedding"),
                              keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(2)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x, y = rng.integers(2, len(words), size=(40, 3)), rng.integers(0, 2, size=40)
    explorer = EmbeddingExplorer(words, store=store)

    class CancelAfter(keras.callbacks.Callback):  # runs before the explorer (listed first)
        seen = 0

        def on_train_batch_end(self, batch, logs=None):
            CancelAfter.seen += 1
            if CancelAfter.seen == batches:
                store.request_cancel(explorer.run_id)

    history = model.fit(x, y, batch_size=10, epochs=epochs, verbose=0, shuffle=False,
                        callbacks=[CancelAfter(), explorer])
    return explorer, history


def test_keras_callback_stops_fit_at_the_epoch_end_after_a_cancel(store, monkeypatch):
    # no read of the flag between batches (the default reads it every 0.5 s: on a loaded
    # machine two batches can take that long, and it then stops mid-epoch, as the next test)
    monkeypatch.setattr(TrackedRun, "POLL_SECONDS", 3600.0)
    explorer, history = _fit_cancelled_after(store, batches=6)  # during the second epoch
    run = store.get_run(explorer.run_id)
    assert len(history.history["loss"]) == 2  # fit ended early: 2 of 5 epochs
    assert run.status == "cancelled" and run.error is None
    assert [s["epoch"] for s in run.snapshots] == [0, 1, 2]  # the epoch under way completed
    assert explorer.step == 8 and not store.writer_alive(run.run_id)


def test_keras_callback_stops_between_batches_when_polled(store, monkeypatch):
    monkeypatch.setattr(TrackedRun, "POLL_SECONDS", 0.0)  # poll the store after every batch
    explorer, history = _fit_cancelled_after(store, batches=6)
    run = store.get_run(explorer.run_id)
    assert explorer.step == 6 and len(history.history["loss"]) == 2
    assert run.status == "cancelled"
    # the snapshots written before the cancel are kept; the cut-short epoch adds none
    assert [s["epoch"] for s in run.snapshots] == [0, 1]
    assert [e["epoch"] for e in run.epochs] == [1]
