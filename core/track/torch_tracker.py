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
first use of ``core.track.EmbeddingTracker`` only. Lightning is not supported (a Lightning
callback would call these same three methods).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.store.runstore import RunStore
from core.track.run import TrackedRun, open_run


class EmbeddingTracker:
    """Snapshots of ``embedding.weight``: at the start, every ``every`` calls of ``step``
    (None: never) and at each ``epoch_end``. Row updates (contract A) are counted when every
    ``step`` gets the batch's ids; ``open_run``'s keyword arguments pass through."""

    def __init__(self, embedding: torch.nn.Module, vocabulary: Any,
                 store: RunStore | str | Path = "runs", every: int | None = None,
                 name: str = "", epochs: int | None = None, **run_options: Any) -> None:
        if not isinstance(getattr(embedding, "weight", None), torch.Tensor):
            raise ValueError("embedding must be an nn.Embedding or nn.EmbeddingBag "
                             f"(a module with a weight table), got {type(embedding).__name__}")
        if every is not None and (not isinstance(every, int) or every < 1):
            raise ValueError(f"every must be None or a number of steps >= 1, got {every!r}")
        self.embedding, self.every = embedding, every
        self.open_args = dict(store=store, vocabulary=vocabulary, name=name, epochs=epochs,
                              source="pytorch", **run_options)
        self.run: TrackedRun | None = None
        self.n_steps = self.epoch = self.last_snapshot_step = 0
        self.counting: bool | None = None  # decided by the first step
        self.touched = np.zeros(int(embedding.weight.shape[0]), dtype=np.int64)

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else self.run.run_id

    def __enter__(self) -> EmbeddingTracker:
        config = {"module": type(self.embedding).__name__, "every": self.every,
                  "dim": int(self.embedding.weight.shape[1]),
                  "freeze": not self.embedding.weight.requires_grad}
        self.run = open_run(config=config, **self.open_args)
        self._snapshot()
        return self

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
        if ids is not None and self.embedding.weight.requires_grad:
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
        table = self.embedding.weight.detach().cpu().float().numpy().copy()
        updates = None
        if self.counting and self.run.n_snapshots > 0:
            updates, self.touched = self.touched, np.zeros_like(self.touched)
        self.run.add_snapshot(table, epoch, step, metrics=metrics or None, updates=updates)
        self.last_snapshot_step = step

    def __exit__(self, kind, exc, tb) -> bool:
        """Done, failed (the exception re-raised) or cancelled (``CancelledError`` ends the
        block quietly)."""
        return self.run.__exit__(kind, exc, tb) if self.run is not None else False
