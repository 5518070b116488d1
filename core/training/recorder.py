"""The recorder: what a run writes to the store while it trains. Its snapshots (written now,
or the best epoch's kept in memory until it is due), the per-row update counts between them,
the inputs the views read (vocabulary, document sample, split) and the best epoch's
validation predictions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

from core.store.runstore import RunStore
from core.training.config import TrainConfig
from core.training.preparation import Prepared
from core.training.reporting import validation_parts
from core.training.stopping import Best, snapshot_due


@dataclass
class Snapshot:
    """One snapshot's arrays, taken now and written now or later (see
    ``Recorder.defer_best``)."""

    epoch: int
    step: int
    embedding: np.ndarray
    docs: np.ndarray | None
    out: np.ndarray
    bias: np.ndarray
    updates: np.ndarray


class Recorder:
    """One run's snapshots. ``capture(epoch)`` takes the model's arrays now (the loop owns
    the model); ``emit(kind, epoch, **data)`` reports a written snapshot. ``updates`` counts,
    per row, the optimiser steps whose batch held it since the last snapshot written."""

    def __init__(self, store: RunStore, run_id: str, config: TrainConfig, n_rows: int,
                 capture: Callable[[int], Snapshot], emit: Callable[..., None]) -> None:
        self.store, self.run_id, self.config = store, run_id, config
        self.capture, self.emit = capture, emit
        self.updates = torch.zeros(n_rows, dtype=torch.int64)
        self.n_snapshots = 0
        self.written: dict[tuple[int, int], int] = {}  # (epoch, step) -> snapshot index
        self.pending_best: Snapshot | None = None
        self.best = Best(config.min_delta)

    def write(self, snap: Snapshot) -> None:
        """Store a snapshot (its counts are the steps since the one before it) as the next
        index. Arrays first, the row last (``add_snapshot``): readers see complete ones."""
        idx = self.n_snapshots
        self.store.save_array(self.run_id, f"snapshots/out_{idx:04d}", snap.out)
        self.store.save_array(self.run_id, f"snapshots/bias_{idx:04d}", snap.bias)
        self.store.save_array(self.run_id, f"snapshots/updates_{idx:04d}", snap.updates)
        self.store.add_snapshot(self.run_id, idx, snap.epoch, snap.step, snap.embedding,
                                snap.docs)
        self.updates -= torch.from_numpy(snap.updates)
        self.written[(snap.epoch, snap.step)] = idx
        self.n_snapshots += 1
        self.emit("snapshot", snap.epoch, index=idx)

    def snapshot(self, epoch: int) -> None:
        """Snapshot now; a pending best-epoch snapshot, taken earlier, is written first."""
        if self.pending_best is not None:
            self.write(self.pending_best)
            self.pending_best = None
        self.write(self.capture(epoch))

    def defer_best(self, epoch: int, step: int) -> None:
        """Keep this (best so far) epoch's snapshot in memory when the mode would not write
        one. With ``snapshots="ends"`` only step 0 and the last epoch are written; without
        this, the best epoch of a run that trained past it would have no snapshot, and the
        views could not show the table the validation loss picked. Keeping it (rather than
        writing every improving epoch) costs one table in memory and at most one extra
        snapshot on disk; it is written before any later snapshot, or dropped when a later
        epoch becomes the best."""
        self.pending_best = self.capture(epoch) if (epoch, step) not in self.written else None

    def epoch_end(self, epoch: int, step: int, metrics: dict[str, Any],
                  predictions: np.ndarray) -> bool:
        """After an epoch's evaluation: track the best, snapshot when due; True when
        training ends after this epoch (the last one, or early stopping)."""
        is_best = self.best.record_epoch(epoch, step, metrics["val_loss"],
                                         metrics["val_accuracy"], predictions)
        last = epoch == self.config.epochs or (
            self.config.early_stopping and self.best.waited >= self.config.patience)
        if is_best:
            self.pending_best = None  # an earlier best is no longer worth a snapshot of its own
        if snapshot_due(self.config, epoch, step, last):
            self.snapshot(epoch)
        elif is_best:
            self.defer_best(epoch, step)
        return last

    def best_info(self, stopped_at: int) -> dict[str, Any]:
        """The run.info keys of the best epoch and of early stopping (contract B)."""
        best = self.best
        return {"best_epoch": best.epoch, "best_val_accuracy": best.accuracy,
                "best_val_loss": best.loss,
                "best_snapshot": self.written.get((best.epoch, best.step)),
                "stopped_early": stopped_at < self.config.epochs,
                "stopped_at_epoch": stopped_at, "predictions_epoch": best.epoch}


def save_inputs(store: RunStore, run_id: str, dataset, prep: Prepared) -> None:
    """Persist what the views need besides snapshots: vocabulary and the document sample."""
    vocab = prep.vocab.to_frame()
    vocab["in_pretrained"] = prep.in_pretrained
    store.save_frame(run_id, "vocab", vocab)
    docs = pd.DataFrame({
        "row": prep.doc_idx,
        "text": [dataset.texts[i] for i in prep.doc_idx],
        "label_id": np.asarray(dataset.labels)[prep.doc_idx],
        "label": [dataset.classes[dataset.labels[i]] for i in prep.doc_idx],
        "n_tokens": prep.lengths[prep.doc_idx],
        "n_unseen": prep.n_unseen[prep.doc_idx],
    })
    store.save_frame(run_id, "docs", docs)
    store.save_array(run_id, "split_train", prep.train_idx)
    store.save_array(run_id, "split_val", prep.val_idx)


def start_info(dataset, prep: Prepared, dim: int) -> dict[str, Any]:
    val_labels = np.asarray(dataset.labels)[prep.val_idx]
    # accuracy of always answering the most frequent validation class: the floor to beat
    majority = float(np.bincount(val_labels).max() / len(val_labels)) if len(val_labels) else None
    return {"n_train": int(len(prep.train_idx)), "n_val": int(len(prep.val_idx)),
            "majority_baseline": majority,
            "vocab_size": len(prep.vocab), "dim": dim, "classes": list(dataset.classes),
            # texts per class in the whole data set: which classes keep a colour of their own
            "class_sizes": np.bincount(np.asarray(dataset.labels),
                                       minlength=len(dataset.classes)).tolist(),
            "pretrained_coverage": prep.coverage, "n_docs": int(len(prep.doc_idx)),
            "n_in_pretrained": int(prep.in_pretrained.sum()), **validation_parts(prep.report_mask)}


def save_predictions(store: RunStore, run_id: str, prep: Prepared, labels: np.ndarray,
                      pred: np.ndarray | None) -> None:
    """The best epoch's prediction for every validation row (the model early stopping
    keeps; experiments score it), with whether the row holds a word never seen in training
    (the "unseen words" measure reads this)."""
    unseen = prep.n_unseen[prep.val_idx] > 0
    if pred is None:  # no epoch had a finite validation loss
        pred = np.full(len(prep.val_idx), -1)
    frame = pd.DataFrame({"row": prep.val_idx, "label_id": np.asarray(labels)[prep.val_idx],
                          "pred": pred.astype(np.int64), "unseen_any": unseen})
    if prep.report_mask is not None:  # which rows may score the run (core.training.reporting)
        frame["report"] = prep.report_mask
    store.save_frame(run_id, "val_predictions", frame)
