"""Keras, in-process: a fit that raises ends its run failed (with the one-line message) while
the process lives on, as the dashboard's store reader sees it; which layers are tracked is
said, and several can be; the store default is $EXPLORER_STORE."""
from __future__ import annotations

import os

import numpy as np
import pytest

from core.errors import DataError
from core.store.runstore import RunStore
from tests.conftest import TEN_WORDS, wait_for_run

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
from core.track.keras_callback import EmbeddingExplorer  # noqa: E402  (after the backend)

WORDS = ["", "[UNK]"] + TEN_WORDS


def _model(*tables: tuple[str, int]) -> keras.Model:
    """One int input per Embedding layer (name, rows), averaged, concatenated, a Dense."""
    keras.utils.set_random_seed(0)
    inputs = [keras.layers.Input((3,), dtype="int32") for _ in tables]
    pooled = [keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(rows, 4, name=n)(i))
              for i, (n, rows) in zip(inputs, tables)]
    joined = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate()(pooled)
    model = keras.Model(inputs, keras.layers.Dense(2)(joined))
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _data(n_inputs: int = 1):
    rng = np.random.default_rng(0)
    x = [rng.integers(2, len(WORDS), size=(40, 3)) for _ in range(n_inputs)]
    return (x[0] if n_inputs == 1 else x), rng.integers(0, 2, size=40)


class RaiseInEpoch2(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("boom in epoch 2\nsecond line of the message")


class Batches(keras.utils.PyDataset):
    """Data whose second epoch breaks (an error Keras raises outside any callback)."""

    def __init__(self):
        super().__init__()
        self.x, self.y = _data()
        self.calls = 0

    def __len__(self):
        return 4

    def __getitem__(self, i):
        self.calls += 1
        if self.calls > 5:
            raise OSError("the data file went away")
        return self.x[i * 10:(i + 1) * 10], self.y[i * 10:(i + 1) * 10]


def _reader_status(root, run_id):
    """What the dashboard's reader sees (a new store object: no state shared with the writer)."""
    return {r.run_id: r for r in RunStore(root).list_runs()}[run_id]


def test_a_callback_raising_in_epoch_2_fails_the_run_while_the_process_lives(store):
    explorer = EmbeddingExplorer(WORDS, store=store.root, layer="emb")
    x, y = _data()
    with pytest.raises(RuntimeError, match="boom in epoch 2"):
        _model(("emb", len(WORDS))).fit(x, y, batch_size=10, epochs=4, verbose=0,
                                         callbacks=[RaiseInEpoch2(), explorer])
    run = wait_for_run(store, explorer.run_id, lambda r: r.status != "running", timeout=10)
    seen = _reader_status(store.root, explorer.run_id)
    assert seen.status == "failed" and run.status == "failed"
    assert seen.error == "RuntimeError: boom in epoch 2"  # one line
    assert not store.writer_alive(explorer.run_id)
    assert [s["epoch"] for s in seen.snapshots] == [0, 1]


def test_an_error_outside_the_callbacks_fails_the_run_within_seconds(store):
    explorer = EmbeddingExplorer(WORDS, store=store.root)  # layer found: the one with 12 rows
    with pytest.raises(OSError, match="went away"):
        _model(("emb", len(WORDS))).fit(Batches(), epochs=3, verbose=0, callbacks=[explorer])
    run = wait_for_run(store, explorer.run_id, lambda r: r.status != "running", timeout=10)
    assert run.status == "failed" and "fit stopped with an exception" in run.error
    assert _reader_status(store.root, explorer.run_id).status == "failed"
    model = _model(("emb", len(WORDS)))  # the model's own fit is left as it was
    model.fit(*_data(), epochs=1, verbose=0, callbacks=[explorer])
    assert store.get_run(explorer.run_id).status == "done"
    assert "train_function" not in vars(model) or callable(model.train_function)


def test_the_layer_is_found_by_rows_and_several_are_listed(store):
    model = _model(("words", len(WORDS)), ("tags", len(WORDS)))
    with pytest.raises(DataError, match=r"2 Embedding layers have 12 rows.*'words' \(12 x 4\), "
                                        r"'tags' \(12 x 4\)"):
        model.fit(_data(2)[0], _data()[1], epochs=1, verbose=0,
                  callbacks=[EmbeddingExplorer(WORDS, store=store.root)])
    with pytest.raises(DataError, match=r"\['dense'\] is not an Embedding layer.*'words'"):
        model.fit(_data(2)[0], _data()[1], epochs=1, verbose=0,
                  callbacks=[EmbeddingExplorer(WORDS, store=store.root, layer="dense")])
    assert store.list_runs() == []


def test_one_callback_tracks_several_layers_as_grouped_runs(store):
    tags = ["<pad>", "<unk>", "NOUN", "VERB", "ADJ"]
    model = _model(("words", len(WORDS)), ("tags", len(tags)))
    explorer = EmbeddingExplorer(WORDS, store=store.root, layer=["words", "tags"],
                                 vocabularies={"tags": tags}, name="two tables")
    x, y = _data(2)
    x[1] = x[1] % len(tags)
    model.fit(x, y, batch_size=10, epochs=2, verbose=0, callbacks=[explorer])
    runs = {r.config["layer"]: r for r in store.list_runs()}
    assert set(runs) == {"words", "tags"}
    assert {r.status for r in runs.values()} == {"done"}
    assert runs["words"].config["group"] == runs["tags"].config["group"]
    assert runs["tags"].info["name"] == "two tables · tags"
    assert store.load_snapshot(runs["tags"].run_id, 2).shape == (len(tags), 4)
    assert [len(r.snapshots) for r in runs.values()] == [3, 3]


def test_a_wrong_vocabulary_names_the_layer_and_writes_nothing(store):
    explorer = EmbeddingExplorer(WORDS[:-1], store=store.root, layer="emb")
    with pytest.raises(DataError, match="layer 'emb' must be a \\(vocabulary size 11\\)"):
        _model(("emb", len(WORDS))).fit(*_data(), epochs=1, verbose=0, callbacks=[explorer])
    assert store.list_runs() == []


def test_the_callback_honours_explorer_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EXPLORER_STORE", str(tmp_path / "shared"))
    explorer = EmbeddingExplorer(WORDS)
    _model(("emb", len(WORDS))).fit(*_data(), epochs=1, verbose=0, callbacks=[explorer])
    assert RunStore(tmp_path / "shared").get_run(explorer.run_id).status == "done"
    assert not (tmp_path / "runs").exists()
