"""The Keras 3 callback: ``model.fit(..., callbacks=[EmbeddingExplorer(vocabulary=...)])``
streams the ``Embedding`` layer's table into the run store as it trains.

Any Keras 3 backend works; the product installs Keras with the torch backend
(``KERAS_BACKEND=torch``), never TensorFlow. Imported on first use of
``core.track.EmbeddingExplorer`` only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from core.store.runstore import RunStore
from core.track.run import TrackedRun, open_run


class EmbeddingExplorer(keras.callbacks.Callback):
    """Snapshot the layer named ``layer`` before training (step 0) and after every epoch
    (``every="epoch"``) or every ``every`` batches (plus each epoch's end, with its metrics).

    ``vocabulary``: the tokens of the layer's rows (a list, a token -> row mapping, or a
    ``TextVectorization`` — anything with ``get_vocabulary()``). ``doc_inputs`` (the model's
    input for ``documents``) and ``doc_layer`` (the layer after the embedding, e.g. the
    pooling) record the documents' vectors too. Other keyword arguments go to ``open_run``
    (``counts``, ``class_counts``, ``classes``, ``documents``, ``labels``, ``pretrained``).

    The dashboard's "Cancel this run" stops ``fit`` (``model.stop_training``): the flag is
    read after a batch at most every ``TrackedRun.POLL_SECONDS`` or when a snapshot is due,
    and at every epoch's end once that epoch is recorded. The run then ends ``cancelled``
    with the snapshots so far; the epoch cut short adds none.
    """

    def __init__(self, vocabulary: Any, store: RunStore | str | Path = "runs",
                 layer: str = "embedding", every: int | str = "epoch", name: str = "",
                 doc_inputs: Any = None, doc_layer: str | None = None, **run_options: Any) -> None:
        super().__init__()
        if every != "epoch" and not (isinstance(every, int) and every >= 1):
            raise ValueError(f"every must be 'epoch' or a number of batches >= 1, got {every!r}")
        if (doc_inputs is None) != (doc_layer is None):
            raise ValueError("doc_inputs and doc_layer go together (document vectors need both)")
        self.vocabulary, self.store, self.layer_name = vocabulary, store, layer
        self.every, self.name, self.options = every, name, run_options
        self.doc_inputs, self.doc_layer = doc_inputs, doc_layer
        self.run: TrackedRun | None = None
        self.step = self.epoch = self.last_snapshot_step = 0
        self._docs_model = None

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else self.run.run_id

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.run is not None and self.run.status == "running":
            self.run.fail("training stopped before it finished (fit raised or was interrupted)")
        self.layer = self.model.get_layer(self.layer_name)
        self.run = open_run(self.store, self.vocabulary, name=self.name, source="keras",
                            epochs=self.params.get("epochs"), config=self._config(),
                            **self.options)
        self.step = self.epoch = 0
        self._snapshot(epoch=0)

    def _config(self) -> dict[str, Any]:
        table = self.layer.embeddings
        return {"layer": self.layer_name, "dim": int(table.shape[1]),
                "every": self.every, "keras_backend": keras.backend.backend(),
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
            self.run.add_metrics(epoch + 1, self.step, logs or {})
        else:
            self._snapshot(epoch=epoch + 1, metrics=logs or {})
        self._stopped_by_cancel(now=True)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.run is not None:
            self.run.finish()  # nothing to do once cancelled

    def _stopped_by_cancel(self, now: bool) -> bool:
        """End the run ``cancelled`` and stop ``fit`` if a cancel was requested (polled at
        most every ``TrackedRun.POLL_SECONDS`` unless ``now``)."""
        if not self.run.cancel_requested(now):
            return False
        self.run.cancel()
        self.model.stop_training = True
        return True

    def _snapshot(self, epoch: int, metrics: dict | None = None) -> None:
        table = keras.ops.convert_to_numpy(self.layer.embeddings)
        self.run.add_snapshot(np.asarray(table), epoch, self.step, metrics=metrics,
                              docvecs=self._docvecs())
        self.last_snapshot_step = self.step

    def _docvecs(self) -> np.ndarray | None:
        if self.doc_layer is None:
            return None
        if self._docs_model is None:
            self._docs_model = keras.Model(self.model.inputs,
                                           self.model.get_layer(self.doc_layer).output)
        out = self._docs_model.predict(self.doc_inputs, verbose=0, batch_size=1024)
        return keras.ops.convert_to_numpy(out)
