"""A plain PyTorch training loop's ``nn.Embedding`` / ``nn.EmbeddingBag`` in the run store.

    with EmbeddingTracker(model.embedding, vocabulary=itos, store="runs", every=50) as tracker:
        for epoch in range(epochs):
            for ids, offsets, y in batches:
                ...; optimizer.step()
                tracker.step(ids)          # ids optional: they let it count row updates
            tracker.epoch_end({"val_accuracy": acc, "val_loss": loss})

An exception inside the ``with`` block marks the run failed (and is re-raised). The
dashboard's "Cancel this run" is polled by ``step`` (at most every
``TrackedRun.POLL_SECONDS``, and when a snapshot is due) and ``epoch_end`` (always, after
recording the epoch): they raise ``core.errors.CancelledError``, and the ``with`` block ends
the run ``cancelled``, keeps what was written and carries on after the block. Imported on
first use of ``core.track.EmbeddingTracker`` only. In a notebook, without a ``with``
block: ``tracker.start()``, then ``finish()`` or ``fail(error)``. Lightning:
``core.track.lightning_callback.EmbeddingExplorerCallback`` calls these same methods.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.errors import DataError
from core.store.runstore import RunStore
from core.track.run import TrackedRun, open_run

# Modules whose ``weight`` is an embedding table (rows = vocabulary).
EMBEDDING_MODULES = (torch.nn.Embedding, torch.nn.EmbeddingBag)


def embedding_table(embedding: Any) -> torch.Tensor:
    """The table to track: an ``nn.Embedding``/``nn.EmbeddingBag``'s weight, or a 2-D
    parameter given by name (a custom module's table); else ``DataError`` saying what was
    given (a ``Linear`` whose weight happens to have the vocabulary's row count is refused)."""
    if isinstance(embedding, EMBEDDING_MODULES):
        return embedding.weight
    if isinstance(embedding, torch.nn.Parameter) and embedding.dim() == 2:
        return embedding
    what = type(embedding).__name__
    shape = getattr(getattr(embedding, "weight", None), "shape", None)
    raise DataError(f"the tracked module must be an nn.Embedding or nn.EmbeddingBag (or a 2-D "
                    f"nn.Parameter: the table itself), got {what}"
                    + (f" with a weight of shape {tuple(shape)}" if shape is not None else ""))


class EmbeddingTracker:
    """Snapshots of ``embedding.weight``: at the start, every ``every`` calls of ``step``
    (None: never) and at each ``epoch_end``. Row updates (contract A) are counted when every
    ``step`` gets the batch's ids; ``open_run``'s keyword arguments pass through."""

    def __init__(self, embedding: torch.nn.Module | torch.nn.Parameter, vocabulary: Any,
                 store: RunStore | str | Path | None = None, every: int | None = None,
                 name: str = "", epochs: int | None = None,
                 config: dict[str, Any] | None = None, **run_options: Any) -> None:
        self.weight = embedding_table(embedding)
        if every is not None and (not isinstance(every, int) or every < 1):
            raise ValueError(f"every must be None or a number of steps >= 1, got {every!r}")
        self.embedding, self.every, self.user_config = embedding, every, dict(config or {})
        self.open_args = dict(store=store, vocabulary=vocabulary, name=name, epochs=epochs,
                              source="pytorch", **run_options)
        self.run: TrackedRun | None = None
        self.n_steps = self.epoch = self.last_snapshot_step = 0
        self.counting: bool | None = None  # decided by the first step
        self.touched = np.zeros(int(self.weight.shape[0]), dtype=np.int64)

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else self.run.run_id

    def __enter__(self) -> EmbeddingTracker:
        return self.start()

    def start(self) -> EmbeddingTracker:
        """Open the run and keep the starting table (what ``with`` does on entry). The table
        is checked (rows, values) before anything is written: a refused one leaves no run."""
        own = {"module": type(self.embedding).__name__, "every": self.every,
               "dim": int(self.weight.shape[1]), "freeze": not self.weight.requires_grad}
        clash = sorted(set(own) & set(self.user_config))
        if clash:
            raise ValueError(f"config keys {clash} are the tracker's own; rename them")
        self.run = open_run(config={**self.user_config, **own}, initial=self._table(),
                            **self.open_args)
        return self

    def log(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Per-step numbers (``TrackedRun.log``); ``step`` defaults to the steps so far."""
        self.run.log(metrics, self.n_steps if step is None else step)

    def finish(self) -> None:
        """The run is done (what leaving the ``with`` block does)."""
        self.run.finish()

    def fail(self, error: BaseException | str) -> None:
        """The run failed with ``error`` (its one-line message is kept)."""
        self.run.fail(error)

    def _table(self) -> np.ndarray:
        return self.weight.detach().cpu().float().numpy().copy()

    def step(self, ids: torch.Tensor | np.ndarray | None = None) -> None:
        """Call after each optimiser step; ``ids``: the batch's token ids (any shape).
        Raises ``CancelledError`` once the run's cancel was requested (nothing more is saved)."""
        due = bool(self.every) and (self.n_steps + 1) % self.every == 0
        self.run.check_cancel(now=due)  # a store read every step would slow a fast loop
        if self.counting is None:
            self.counting = ids is not None
        elif self.counting != (ids is not None):
            raise ValueError("pass the batch's ids to every step() call, or to none")
        self.n_steps += 1
        if ids is not None and self.weight.requires_grad:
            rows = np.unique(np.asarray(torch.as_tensor(ids).detach().cpu()).ravel())
            rows = rows[(rows >= 0) & (rows < len(self.touched))]
            pad = getattr(self.embedding, "padding_idx", None)
            self.touched[rows[rows != pad] if pad is not None else rows] += 1
        if due:
            self._snapshot(epoch=self.epoch + 1)  # within the epoch under way

    def epoch_end(self, metrics: dict[str, float] | None = None) -> None:
        """One epoch is over: snapshot (unless ``step`` just took one) and its metrics; then
        ``CancelledError`` if the run's cancel was requested (the finished epoch is kept)."""
        if self.run.status == "cancelled":  # a step saw the cancel: nothing more is written
            self.run.check_cancel()
        self.epoch += 1
        step = self.n_steps if self.counting is not None else self.epoch
        if self.last_snapshot_step == step:  # step >= 1 here: not the start's snapshot
            if metrics:
                self.run.add_metrics(self.epoch, step, metrics)
        else:
            self._snapshot(self.epoch, metrics or {}, step)
        self.run.check_cancel(now=True)

    def _snapshot(self, epoch: int = 0, metrics: dict | None = None,
                  step: int | None = None) -> None:
        step = self.n_steps if step is None else step
        table = self._table()
        updates = None
        if self.counting and self.run.n_snapshots > 0:
            updates, self.touched = self.touched, np.zeros_like(self.touched)
        self.run.add_snapshot(table, epoch, step, metrics=metrics or None, updates=updates)
        self.last_snapshot_step = step

    def __exit__(self, kind, exc, tb) -> bool:
        """Done, failed (the exception re-raised) or cancelled (``CancelledError`` ends the
        block quietly)."""
        return self.run.__exit__(kind, exc, tb) if self.run is not None else False
