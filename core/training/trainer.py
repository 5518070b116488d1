"""Training with snapshots: the embedding layer learns from the task's loss like any other
layer, and we keep copies of it (and of the documents seen through the next layer) as it does.

The trainer knows nothing about its caller: progress goes to an optional ``callback``, and an
optional ``should_stop`` is polled between batches to cancel.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from core.data.text import PAD_ID
from core.errors import CancelledError, StoreError
from core.store.disk import RunSize
from core.store.runstore import RunStore, new_run_id
from core.training.bag import BagAdam, DistinctRows, EpochInput, bag_update
from core.training.config import (TrainConfig, effective_batch_size,
                                  planned_snapshot_count)
from core.training.corpus import TokenisedCorpus, tokenised
from core.training.loop_parts import build_model, optimizers, padded, threads
from core.training.model import EmbeddingClassifier
from core.training.preparation import Prepared, prepare
from core.training.progress import TRAINING
from core.training.recorder import Recorder, Snapshot, save_inputs, save_predictions, start_info
from core.training.reporting import validation_scores

EMIT_EVERY = 0.05  # seconds between "batch" events (the last batch of an epoch always reports)


@dataclass(frozen=True)
class TrainEvent:
    """What the trainer reports: kind is stage|start|batch|snapshot|epoch|end (a stage: a
    preparation step begins, ``core.training.progress``)."""

    kind: str
    run_id: str
    epoch: int
    step: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    status: str
    n_train: int
    n_val: int
    vocab_size: int
    dim: int
    pretrained_coverage: dict[str, float]
    train_loss: list[float]
    val_loss: list[float]
    val_accuracy: list[float]
    snapshots: int
    train_seconds: float
    best_epoch: int | None = None  # lowest validation loss (RunInfo.best)
    best_val_accuracy: float | None = None
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

class _Trainer:
    """One run's loop. Small methods; state is the model, optimisers and counters; what is
    written to the store goes through ``recorder`` (snapshots, update counts, the best epoch)."""

    def __init__(self, model: EmbeddingClassifier, prep: Prepared, labels: np.ndarray,
                 config: TrainConfig, store: RunStore, run_id: str,
                 callback: Callable[[TrainEvent], None] | None,
                 should_stop: Callable[[], bool] | None, group=None) -> None:
        self.model, self.prep, self.config = model, prep, config
        self.group = group  # distributed.Group: one of several processes; None: the only one
        self.exchange = None  # shared_steps.Exchange: the buffer a shared step sums
        self.store, self.run_id = store, run_id
        self.callback, self.should_stop = callback, should_stop
        self.labels = torch.from_numpy(np.array(labels, dtype=np.int64))  # writable copy
        self.loss_fn = nn.CrossEntropyLoss()
        # The bag trains on flat input through BagAdam (see bag.bag_update); cnn/gru use
        # torch.optim on the padded table.
        self.batch_size = effective_batch_size(config, len(prep.train_idx))
        self.flat = prep.bag_input(self.batch_size) if config.arch == "bag" else None
        self.table = padded(prep.flat, prep.lengths) if self.flat is None else None
        self.adam = BagAdam(config.lr) if self.flat is not None else None
        self.distinct = DistinctRows(len(prep.vocab)) if self.flat is not None else None
        self.optimizers = optimizers(model, config.lr) if self.adam is None else []
        self.emitted_at = 0.0
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step = 0
        self.recorder = Recorder(store, run_id, config, len(prep.vocab), self.capture, self.emit)
        self.updates = self.recorder.updates  # the same tensor: updated in place by each step

    def emit(self, kind: str, epoch: int, **data: Any) -> None:
        if self.callback is not None:
            self.callback(TrainEvent(kind, self.run_id, epoch, self.step, data))

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        width = int(self.prep.lengths[rows.numpy()].max())
        return self.table[rows, :width]

    def inputs(self, rows: torch.Tensor) -> tuple:
        """The model's input for the texts ``rows``: flat for the bag, padded otherwise."""
        return self.flat.gather(rows) if self.flat is not None else (self.batch(rows),)

    def train_epoch(self, epoch: int) -> float:
        self.model.train()
        size = self.batch_size
        order = self.prep.epoch_order(self.generator, size)
        total, n_batches = 0.0, (len(order) + size - 1) // size
        if self.flat is not None:  # gathered by blocks; each batch is then a slice
            epoch_input = EpochInput(self.flat, order, self.labels, self.model.out.out_features)
        for b in range(n_batches):
            if self.group is None and self.stopping():
                raise CancelledError("Training was cancelled.")
            lo, hi = b * size, min((b + 1) * size, len(order))
            rows = order[lo:hi]
            if self.group is not None:
                loss = self.shared_update(epoch_input if self.flat is not None else None,
                                          order, lo, hi)
            elif self.flat is not None:
                loss = self.update(rows, *epoch_input.batch(lo, hi))
            else:
                loss = self.update(rows)
            self.step += 1
            value = loss.item()  # on the CPU this is a read, not a device sync
            total += value * len(rows)
            self.report_batch(epoch, value, b + 1, n_batches)
            if self.writes and self.config.snapshot_every and (
                    self.step % self.config.snapshot_every == 0):
                self.recorder.snapshot(epoch)
        return total / max(len(order), 1)

    @property
    def writes(self) -> bool:
        """Whether this process writes the run (the only one, or rank 0 of several)."""
        return self.group is None or self.group.leader

    def stopping(self) -> bool:
        return self.should_stop is not None and self.should_stop()

    def shared_update(self, epoch_input, order: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
        """One step on the global batch lo..hi-1 of ``order``, shared with the other ranks
        (``core.training.shared_steps``); rank 0's cancel travels with the gradients."""
        from core.training import shared_steps

        if epoch_input is not None:
            return shared_steps.shared_bag_update(self, self.group, epoch_input, lo, hi,
                                                  self.stopping())
        return shared_steps.shared_autograd_update(self, self.group, order[lo:hi],
                                                   self.stopping())

    def report_batch(self, epoch: int, loss: float, batch: int, n_batches: int) -> None:
        # At most ~20 events a second: a progress bar needs no more, and a callback that
        # writes somewhere would otherwise cost more than a small batch's update.
        now = time.perf_counter()
        if batch == n_batches or now - self.emitted_at >= EMIT_EVERY:
            self.emitted_at = now
            self.emit("batch", epoch, loss=loss, batch=batch, n_batches=n_batches)

    def update(self, rows: torch.Tensor, *bag: torch.Tensor) -> torch.Tensor:
        """One optimisation step on the texts ``rows`` (for the bag also given flat: see
        ``bag_update``); returns the batch's loss."""
        if self.adam is not None:
            return bag_update(self.model, self.adam, self.distinct, self.updates, *bag)
        for opt in self.optimizers:
            opt.zero_grad()
        batch = self.batch(rows)
        loss = self.loss_fn(self.model(batch), self.labels[rows])
        loss.backward()
        for opt in self.optimizers:
            opt.step()
        if self.model.embedding.weight.requires_grad:
            used = torch.unique(batch)
            self.updates[used[used != PAD_ID]] += 1  # padding is never a word
        return loss

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float, np.ndarray, dict[str, float]]:
        """Validation loss and accuracy on the rows choosing the epoch, every validation row's
        predicted class, the reporting part's accuracy (``validation_scores``)."""
        self.model.eval()
        val = torch.from_numpy(self.prep.val_idx)
        losses, predicted = [], []
        chunk = 8192 if self.flat is not None else 2048
        for start in range(0, len(val), chunk):
            rows = val[start:start + chunk]
            logits = self.model(*self.inputs(rows))
            predicted.append(logits.argmax(dim=1).numpy())
            losses.append(F.cross_entropy(logits, self.labels[rows], reduction="none").numpy())
        preds = np.concatenate(predicted) if predicted else np.zeros(0, dtype=np.int64)
        hit = preds == self.labels.numpy()[self.prep.val_idx]
        loss, accuracy, report = validation_scores(
            np.concatenate(losses) if losses else np.zeros(0), hit, self.prep.report_mask)
        return loss, accuracy, preds, report

    @torch.no_grad()
    def capture(self, epoch: int) -> Snapshot:
        """The snapshot's arrays now (copies: the model keeps training)."""
        self.model.eval()
        rows = torch.from_numpy(self.prep.doc_idx)
        docs = self.model.pool(*self.inputs(rows)).numpy().copy() if len(rows) else None
        self.model.train()
        return Snapshot(epoch, self.step, self.model.embedding_matrix(), docs,
                         self.model.out.weight.detach().numpy().copy(),
                         self.model.out.bias.detach().numpy().copy(),
                         self.updates.numpy().copy())


def train_run(dataset, config: TrainConfig, store: RunStore, *, run_id: str | None = None,
              callback: Callable[[TrainEvent], None] | None = None,
              should_stop: Callable[[], bool] | None = None,
              split: tuple[np.ndarray, np.ndarray] | None = None,
              tokens: list[list[str]] | None = None,
              doc_idx: np.ndarray | None = None,
              corpus: TokenisedCorpus | None = None,
              report_idx: np.ndarray | None = None,
              prepared: Prepared | None = None, group=None) -> RunSummary:
    """Train one model, snapshotting the embedding at step 0 and after every epoch.

    ``run_id`` may name a run created beforehand (e.g. queued by a job runner); otherwise a
    new one is created. Cancellation ends with status ``cancelled`` and keeps what was
    written; any other failure is recorded as ``failed`` and re-raised. ``split``,
    ``tokens``/``corpus``, ``doc_idx`` and ``report_idx`` are passed to ``prepare``
    (experiments fix them);
    without tokens or corpus, the texts' tokens come from the store's tokenised-corpus cache
    (``core.training.corpus``). The run's writer lock is held throughout
    (``RunStore.writing``): if this process dies, readers mark the run failed. A run that
    would not fit on the store's disk is refused before its first snapshot. With
    ``config.early_stopping`` training ends once the validation loss has not improved for
    ``config.patience`` epochs; the best epoch is in ``run.info`` (``RunInfo.best``).
    ``group``: this process is rank 0 of several (``core.training.distributed``): it
    prepares, shares the prepared data and writes; the others train their part of each batch.
    """
    torch.manual_seed(config.seed)
    new = run_id is None
    run_id = run_id or new_run_id()
    fingerprint = dataset.fingerprint()  # once: it hashes every text
    with store.writing(run_id):
        if new:
            store.create_run(config.to_dict(), fingerprint, status="running", run_id=run_id)
        else:
            store.set_status(run_id, "running")
        started = time.perf_counter()
        try:
            stage = _stage_reporter(callback, run_id)
            prep = prepared or _prepare(dataset, config, store, fingerprint, split=split,
                                        tokens=tokens, doc_idx=doc_idx, corpus=corpus,
                                        report_idx=report_idx, stage=stage)
            if config.objective != "classify":
                return _word2vec_run(dataset, prep, config, store, run_id, callback,
                                     should_stop, started)
            return _train_prepared(dataset, prep, config, store, run_id, callback,
                                   should_stop, started, group)
        except CancelledError:
            store.set_status(run_id, "cancelled")
            return _summary(store, run_id, time.perf_counter() - started)
        except BaseException as exc:  # record the failure, keep what was written, re-raise
            _record_failure(store, run_id, exc)
            raise


def _stage_reporter(callback, run_id: str) -> Callable[..., None]:
    """``stage(name, fraction=None)``: a preparation step begins (or reports how far it is)
    as a "stage" event (``core.training.progress`` names the steps)."""
    def stage(name: str, fraction: float | None = None) -> None:
        if callback is not None:
            callback(TrainEvent("stage", run_id, 0, 0, {"stage": name, "fraction": fraction}))
    return stage


def _prepare(dataset, config: TrainConfig, store: RunStore, fingerprint: str, *, split,
             tokens, doc_idx, corpus, report_idx, stage) -> Prepared:
    """``prepare`` on the texts' tokens, from the store's tokenised-corpus cache unless given."""
    if corpus is None and tokens is None:
        corpus = tokenised(dataset, store, fingerprint, stage=stage)
    from core.training.run_init import run_vectors

    return prepare(dataset, config, split=split, tokens=tokens, doc_idx=doc_idx,
                   corpus=corpus, init_vectors=run_vectors(store, config.init),
                   report_idx=report_idx, stage=stage)


def _word2vec_run(dataset, prep: Prepared, config: TrainConfig, store: RunStore, run_id: str,
                  callback, should_stop, started: float) -> RunSummary:
    """The same table trained by word2vec's objective (``core.training.word2vec``)."""
    from core.training.word2vec import train_word2vec

    def emit(kind: str, epoch: int, at_step: int, **data) -> None:  # data may hold "step"
        if callback is not None:
            callback(TrainEvent(kind, run_id, epoch, at_step, data))

    emit("stage", 0, 0, stage=TRAINING)
    train_word2vec(dataset, prep, config, store, run_id, emit, should_stop)
    summary = _summary(store, run_id, time.perf_counter() - started)
    store.update_info(run_id, train_seconds=summary.train_seconds)
    emit("end", config.epochs, 0, **summary.to_dict())
    return summary


def _record_failure(store: RunStore, run_id: str, exc: BaseException) -> None:
    try:
        store.set_status(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
    except StoreError:
        pass  # a full disk: readers mark the run failed once this process lets go of it


def _check_size(store: RunStore, prep: Prepared, config: TrainConfig, model) -> dict[str, Any]:
    """Refuse a run that would not fit on the store's disk (StoreError); its estimated size,
    and a warning when it is above the store's per-run budget."""
    snapshots = planned_snapshot_count(config, len(prep.train_idx))
    size = RunSize(rows=len(prep.vocab), dim=prep.weights.shape[1], snapshots=snapshots,
                   docs=len(prep.doc_idx), doc_dim=model.pooled_dim,
                   classes=int(model.out.out_features), texts=len(prep.lengths))
    warning = store.check_space(size)
    return {"estimated_bytes": size.bytes, **({"size_warning": warning} if warning else {})}


def _train_prepared(dataset, prep: Prepared, config: TrainConfig, store: RunStore,
                    run_id: str, callback, should_stop, started: float,
                    group=None) -> RunSummary:
    model = build_model(prep, config, len(dataset.classes))
    info = {**start_info(dataset, prep, model.embedding.weight.shape[1]),
            **_check_size(store, prep, config, model)}
    store.update_info(run_id, **info)
    save_inputs(store, run_id, dataset, prep)
    if group is not None:  # the other ranks build the same model from the same data
        group.share((prep, np.asarray(dataset.labels), len(dataset.classes), config))
    trainer = _Trainer(model, prep, dataset.labels, config, store, run_id, callback,
                       should_stop, group)
    trainer.emit("start", 0, **info, epochs=config.epochs)
    trainer.emit("stage", 0, stage="snapshot")
    trainer.recorder.snapshot(0)  # step 0: before any update
    trainer.emit("stage", 0, stage=TRAINING)
    # The bag's operations are small. On these shared 2-core machines, with other jobs
    # running, a second intra-op thread made its epochs ~20x slower (threads waiting for each
    # other at every operation); one thread does not wait (bench/README.md).
    with threads(1 if config.arch == "bag" else None):
        epoch = _epochs(trainer, config, store, run_id)
    save_predictions(store, run_id, prep, dataset.labels, trainer.recorder.best.predictions)
    seconds = time.perf_counter() - started
    store.update_info(run_id, train_seconds=seconds, **trainer.recorder.best_info(epoch))
    store.set_status(run_id, "done")
    summary = _summary(store, run_id, seconds)
    trainer.emit("end", epoch, **summary.to_dict())
    return summary


def _epochs(trainer: _Trainer, config: TrainConfig, store: RunStore, run_id: str) -> int:
    """Train epoch after epoch until the last or until early stopping; returns the last."""
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        train_loss = trainer.train_epoch(epoch)
        loop_seconds = time.perf_counter() - t0
        val_loss, val_acc, predictions, report = trainer.evaluate()
        metrics = {"train_loss": train_loss, "val_loss": val_loss, "val_accuracy": val_acc,
                   **report, "seconds": time.perf_counter() - t0, "loop_seconds": loop_seconds,
                   "step": trainer.step}
        last = trainer.recorder.epoch_end(epoch, trainer.step, metrics, predictions)
        if last:  # the last row says whether it ended early: charts read it from the epochs
            metrics["stopped_early"] = epoch < config.epochs
        store.add_epoch(run_id, epoch, metrics)
        trainer.emit("epoch", epoch, **metrics)
        if trainer.group is not None:  # rank 0 decides for every rank
            trainer.group.decide(last)
        if last:
            return epoch
    return config.epochs


def follow_run(group, shared: tuple) -> None:
    """A rank other than 0 (``distributed.follow``): rank 0's ``shared`` (prepared data,
    labels, class count, config), the same model, its part of every batch; writes nothing."""
    prep, labels, n_classes, config = shared
    torch.manual_seed(config.seed)
    trainer = _Trainer(build_model(prep, config, n_classes), prep, labels, config, None, "", None,
                       None, group)
    with threads(1 if config.arch == "bag" else None):
        for epoch in range(1, config.epochs + 1):
            trainer.train_epoch(epoch)
            if group.decide():
                return


def _summary(store: RunStore, run_id: str, seconds: float) -> RunSummary:
    run = store.get_run(run_id)
    info, best = run.info, run.best()
    return RunSummary(
        run_id=run_id, status=run.status, n_train=info.get("n_train", 0),
        n_val=info.get("n_val", 0), vocab_size=info.get("vocab_size", 0),
        dim=info.get("dim", 0), pretrained_coverage=info.get("pretrained_coverage", {}),
        train_loss=[e["train_loss"] for e in run.epochs],
        val_loss=[e["val_loss"] for e in run.epochs if "val_loss" in e],
        val_accuracy=[e["val_accuracy"] for e in run.epochs if "val_accuracy" in e],
        snapshots=run.n_snapshots, train_seconds=round(seconds, 3),
        best_epoch=best["epoch"] if best else None,
        best_val_accuracy=best["val_accuracy"] if best else None,
        stopped_early=bool(info.get("stopped_early", False)))
