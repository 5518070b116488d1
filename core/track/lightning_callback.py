"""The Lightning callback: ``Trainer(callbacks=[EmbeddingExplorerCallback(vocabulary)])``
tracks a LightningModule's ``nn.Embedding`` / ``nn.EmbeddingBag`` through the torch tracker
(``EmbeddingTracker``): a snapshot at the start, every ``every`` steps and at each epoch's
end with ``trainer.callback_metrics`` (the validation numbers included: Lightning validates
before ``on_train_epoch_end``).

"Cancel this run" on the Train page sets ``trainer.should_stop``: ``fit`` ends cleanly after
the batch (or the epoch) under way and the run is ``cancelled``. An exception in ``fit``
(Lightning's ``on_exception``) ends the run ``failed`` with its one-line message.

``lightning`` is an optional extra (``requirements-lightning.txt``): this module imports it,
and only ``core.track.EmbeddingExplorerCallback`` (resolved lazily) imports this module.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import lightning.pytorch as pl
import torch

from core.errors import CancelledError, DataError
from core.store.runstore import RunStore
from core.track.torch_tracker import EMBEDDING_MODULES, EmbeddingTracker
from core.track.vocabulary import vocabulary_tokens


def find_embedding(module: torch.nn.Module, name: str | None, n_rows: int) -> torch.nn.Module:
    """The submodule called ``name`` (a dotted path), or (None) the one embedding module with
    ``n_rows`` rows; ``DataError`` listing the module's embeddings otherwise."""
    tables = {n: m for n, m in module.named_modules() if isinstance(m, EMBEDDING_MODULES)}
    listed = ", ".join(f"'{n}' ({m.weight.shape[0]} x {m.weight.shape[1]})"
                       for n, m in tables.items()) or "none"
    if name is not None:
        if name not in tables:
            raise DataError(f"'{name}' is not an nn.Embedding/nn.EmbeddingBag of the module; "
                            f"its embeddings: {listed}")
        return tables[name]
    fits = [m for m in tables.values() if m.weight.shape[0] == n_rows]
    if len(fits) != 1:
        raise DataError(f"{'no' if not fits else len(fits)} embeddings have {n_rows} rows "
                        f"(the vocabulary's size); give embedding='name'. The module's "
                        f"embeddings: {listed}")
    return fits[0]


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    """``trainer.callback_metrics`` (scalar tensors) as plain numbers."""
    out = {}
    for key, value in metrics.items():
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            out[key] = float(value.detach().cpu())
        elif isinstance(value, (int, float)):
            out[key] = float(value)
    return out


class EmbeddingExplorerCallback(pl.Callback):
    """``embedding``: the submodule's name (``"embedding"``, ``"encoder.tokens"``); None: the
    one with as many rows as ``vocabulary``. ``batch_ids(batch)``: the batch's token ids,
    to count row updates (optional). ``store`` None: ``$EXPLORER_STORE`` or ``./runs``.
    Other keyword arguments go to ``EmbeddingTracker`` / ``open_run`` (``every``, ``name``,
    ``counts``, ``classes``, ``config``...)."""

    def __init__(self, vocabulary: Any, embedding: str | None = None,
                 store: RunStore | str | Path | None = None,
                 batch_ids: Callable[[Any], Any] | None = None, **options: Any) -> None:
        super().__init__()
        self.vocabulary, self.embedding, self.store = vocabulary, embedding, store
        self.batch_ids, self.options = batch_ids, options
        self.tracker: EmbeddingTracker | None = None

    @property
    def run_id(self) -> str | None:
        return None if self.tracker is None else self.tracker.run_id

    def _live(self) -> bool:
        return self.tracker is not None and self.tracker.run.status == "running"

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        n_rows = len(vocabulary_tokens(self.vocabulary))
        module = find_embedding(pl_module, self.embedding, n_rows)
        self.tracker = EmbeddingTracker(module, self.vocabulary, store=self.store,
                                        epochs=trainer.max_epochs, **self.options)
        self.tracker.open_args["source"] = "lightning"
        self.tracker.start()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        if self._live():
            ids = None if self.batch_ids is None else self.batch_ids(batch)
            self._unless_cancelled(trainer, self.tracker.step, ids)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._live():
            metrics = _numbers(trainer.callback_metrics)
            self._unless_cancelled(trainer, self.tracker.epoch_end, metrics)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._live():
            self.tracker.finish()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                     exception: BaseException) -> None:
        if self._live():
            self.tracker.fail(exception)

    @staticmethod
    def _unless_cancelled(trainer: pl.Trainer, call: Callable, *args: Any) -> None:
        """``call``; a cancel from the page (``CancelledError``, the run already ended
        ``cancelled``) asks Lightning to stop after this batch instead of raising."""
        try:
            call(*args)
        except CancelledError:
            trainer.should_stop = True
