"""The Keras 3 callback: ``model.fit(..., callbacks=[EmbeddingExplorer(vocabulary=...)])``
streams the ``Embedding`` layer's table into the run store as it trains.

Any Keras 3 backend works; the product installs Keras with the torch backend
(``KERAS_BACKEND=torch``), never TensorFlow. Imported on first use of
``core.track.EmbeddingExplorer`` only. A ``fit`` that raises ends the runs failed
(``keras_guard``): Keras itself calls no callback then.
"""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np

from core.errors import DataError
from core.store.runstore import RunStore
from core.track.keras_guard import FitGuard
from core.track.run import TrackedRun, check_table, open_run
from core.track.vocabulary import vocabulary_tokens


def embedding_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers that hold an embedding table (Keras ``Embedding`` and any layer
    with a 2-D ``embeddings`` variable), nested models included, in build order."""
    found = []
    for layer in model._flatten_layers(include_self=False):
        table = getattr(layer, "embeddings", None)
        if table is not None and len(getattr(table, "shape", ())) == 2:
            found.append(layer)
    return found


def _described(layers: Sequence[keras.layers.Layer]) -> str:
    return ", ".join(f"'{x.name}' ({x.embeddings.shape[0]} x {x.embeddings.shape[1]})"
                     for x in layers) or "none"


def pick_layers(model: keras.Model, layer: str | Sequence[str] | None,
                n_rows: dict[str | None, int]) -> list[keras.layers.Layer]:
    """The layers to track: those named, or (``layer`` None) the one Embedding layer whose
    row count is the vocabulary's (``n_rows[None]``); ``DataError`` listing the model's
    Embedding layers when a name is not one of them, or when none or several fit."""
    tables = embedding_layers(model)
    by_name = {x.name: x for x in tables}
    if layer is None:
        fits = [x for x in tables if x.embeddings.shape[0] == n_rows[None]]
        if len(fits) != 1:
            raise DataError(f"{'no' if not fits else len(fits)} Embedding layers have "
                            f"{n_rows[None]} rows (the vocabulary's size); give layer=... "
                            f"(one name or a list). The model's Embedding layers: "
                            f"{_described(tables)}")
        return fits
    names = [layer] if isinstance(layer, str) else list(layer)
    missing = [n for n in names if n not in by_name]
    if missing or not names:
        raise DataError(f"layer {missing or names} is not an Embedding layer of the model; its "
                        f"Embedding layers: {_described(tables)}")
    return [by_name[n] for n in names]


class EmbeddingExplorer(keras.callbacks.Callback):
    """Snapshot Embedding layers before training (step 0) and after every epoch
    (``every="epoch"``) or every ``every`` batches (plus each epoch's end, with its metrics).

    ``layer``: the layer's name; a list of names tracks each (one run per layer, grouped by
    ``info["group"]``, as TensorBoard's ``embeddings_freq`` covers them all); None: the one
    Embedding layer with as many rows as the vocabulary (refused, listing the model's
    Embedding layers, when none or several have). ``vocabulary``: the tokens of the layer's
    rows (a list, a token -> row mapping, or a ``TextVectorization`` — anything with
    ``get_vocabulary()``); ``vocabularies``: per layer name, another one. ``store``: None is
    ``$EXPLORER_STORE`` or ``./runs``. ``doc_inputs`` (the model's input for ``documents``)
    and ``doc_layer`` (the layer after the embedding, e.g. the pooling) record the
    documents' vectors too (first layer only). Other keyword arguments go to ``open_run``
    (``counts``, ``class_counts``, ``classes``, ``documents``, ``labels``, ``pretrained``,
    ``config``).

    The dashboard's "Cancel this run" (on any of the runs) stops ``fit``
    (``model.stop_training``): the flag is read after a batch at most every
    ``TrackedRun.POLL_SECONDS`` or when a snapshot is due, and at every epoch's end once that
    epoch is recorded. The runs then end ``cancelled`` with the snapshots so far; the epoch
    cut short adds none. A ``fit`` that raises ends them ``failed`` (``keras_guard``).
    """

    def __init__(self, vocabulary: Any, store: RunStore | str | Path | None = None,
                 layer: str | Sequence[str] | None = None, every: int | str = "epoch",
                 name: str = "", doc_inputs: Any = None, doc_layer: str | None = None,
                 vocabularies: dict[str, Any] | None = None, **run_options: Any) -> None:
        super().__init__()
        if every != "epoch" and not (isinstance(every, int) and every >= 1):
            raise ValueError(f"every must be 'epoch' or a number of batches >= 1, got {every!r}")
        if (doc_inputs is None) != (doc_layer is None):
            raise ValueError("doc_inputs and doc_layer go together (document vectors need both)")
        self.vocabulary, self.store, self.layer_name = vocabulary, store, layer
        self.vocabularies = dict(vocabularies or {})
        self.every, self.name, self.options = every, name, run_options
        self.doc_inputs, self.doc_layer = doc_inputs, doc_layer
        self.runs: list[TrackedRun] = []
        self.layers: list[keras.layers.Layer] = []
        self.guard: FitGuard | None = None
        self.step = self.epoch = self.last_snapshot_step = 0
        self._docs_model = None

    @property
    def run(self) -> TrackedRun | None:
        """The first layer's run (the only one unless several layers are tracked)."""
        return self.runs[0] if self.runs else None

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else self.run.run_id

    def on_train_begin(self, logs: dict | None = None) -> None:
        for run in self.runs:  # a callback reused after a fit the guard could not watch
            run.fail("training stopped before it finished (fit raised or was interrupted)")
        self.runs, self.step, self.epoch = [], 0, 0
        vocabularies = {None: self.vocabulary, **self.vocabularies}
        tokens = {key: vocabulary_tokens(v) for key, v in vocabularies.items()}
        self.layers = pick_layers(self.model, self.layer_name, {None: len(tokens[None])})
        # every starting table checked before any run is written
        tables = [check_table(self._table(x), len(tokens.get(x.name, tokens[None])),
                              layer=x.name) for x in self.layers]
        group = uuid.uuid4().hex[:12] if len(self.layers) > 1 else None
        for layer, table in zip(self.layers, tables):
            self.runs.append(self._open(layer, table, tokens.get(layer.name, tokens[None]),
                                        group))
        self.guard = FitGuard(self.runs, self.model)

    def _open(self, layer: keras.layers.Layer, table: np.ndarray, tokens: list[str],
              group: str | None) -> TrackedRun:
        name = self.name or "keras model"
        options = dict(self.options)
        if group is not None:
            options["config"] = {**options.get("config", {}), "group": group}
        run = open_run(self.store, tokens, name=f"{name} · {layer.name}" if group else name,
                       source="keras", epochs=self.params.get("epochs"), layer=layer.name,
                       **{**options, "config": {**options.get("config", {}),
                                                **self._config(layer)}})
        try:
            run.add_snapshot(table, 0, 0, docvecs=self._docvecs(layer))
        except BaseException as exc:
            run.fail(exc)
            raise
        return run

    def _config(self, layer: keras.layers.Layer) -> dict[str, Any]:
        return {"dim": int(layer.embeddings.shape[1]), "every": self.every,
                "keras_backend": keras.backend.backend(),
                "optimizer": type(self.model.optimizer).__name__ if self.model.optimizer else None}

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch + 1  # Keras counts epochs from 0, the product from 1

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.step += 1
        due = self.every != "epoch" and self.step % self.every == 0
        if not self._stopped_by_cancel(now=due) and due:
            self._snapshot(epoch=self.epoch)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.run.status != "running":  # cancelled within the epoch: nothing more is saved
            return
        if self.last_snapshot_step == self.step:  # a batch snapshot was just taken
            for run in self.runs:
                run.add_metrics(epoch + 1, self.step, logs or {})
        else:
            self._snapshot(epoch=epoch + 1, metrics=logs or {})
        self._stopped_by_cancel(now=True)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.guard is not None:
            self.guard.restore()
        for run in self.runs:
            run.finish()  # nothing to do once cancelled

    def _stopped_by_cancel(self, now: bool) -> bool:
        """End the runs ``cancelled`` and stop ``fit`` if a cancel was requested on any
        (polled at most every ``TrackedRun.POLL_SECONDS`` unless ``now``)."""
        if not any([run.cancel_requested(now) for run in self.runs]):
            return False
        for run in self.runs:
            run.cancel()
        self.model.stop_training = True
        return True

    @staticmethod
    def _table(layer: keras.layers.Layer) -> np.ndarray:
        return np.asarray(keras.ops.convert_to_numpy(layer.embeddings))

    def _snapshot(self, epoch: int, metrics: dict | None = None) -> None:
        for layer, run in zip(self.layers, self.runs):
            run.add_snapshot(self._table(layer), epoch, self.step, metrics=metrics,
                             docvecs=self._docvecs(layer))
        self.last_snapshot_step = self.step

    def _docvecs(self, layer: keras.layers.Layer) -> np.ndarray | None:
        if self.doc_layer is None or layer is not self.layers[0]:
            return None
        if self._docs_model is None:
            self._docs_model = keras.Model(self.model.inputs,
                                           self.model.get_layer(self.doc_layer).output)
        out = self._docs_model.predict(self.doc_inputs, verbose=0, batch_size=1024)
        return keras.ops.convert_to_numpy(out)
