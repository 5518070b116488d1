"""Training with snapshots: the embedding layer learns from the task's loss like any other
layer, and we keep copies of it (and of the documents seen through the next layer) as it does.

The trainer knows nothing about its caller: progress goes to an optional ``callback``, and an
optional ``should_stop`` is polled between batches to cancel.
"""
from __future__ import annotations

import functools
import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from core.errors import CancelledError, StoreError
from core.training.config import (ModelConfig, TrainConfig, effective_batch_size,
                                  planned_snapshot_count)
from core.training.adam import adam_
from core.training.model import EmbeddingClassifier
from core.training.reporting import validation_parts, validation_scores
from core.training.split import split_indices
from core.store.runstore import RunSize, RunStore, new_run_id
from core.data.text import PAD_ID, Vocab, VocabConfig, corpus_coverage, tokenize
from core.training.corpus import TokenisedCorpus, from_tokens, tokenised

RANDOM_INIT_STD = 0.3  # close to GloVe 6B 50d's per-component spread, so inits are comparable
EMIT_EVERY = 0.05  # seconds between "batch" events (the last batch of an epoch always reports)


@dataclass(frozen=True)
class TrainEvent:
    """What the trainer reports: kind is start|batch|snapshot|epoch|end."""

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


@dataclass
class Prepared:
    """Everything derived from the data before the first update. The texts' row ids are kept
    flat, back to back: text i is the ``lengths[i]`` ids after those of texts 0..i-1 (cut at
    ``max_len``; a text with no token holds one ``<unk>``, or its mean would be undefined)."""

    vocab: Vocab
    flat: np.ndarray
    lengths: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    doc_idx: np.ndarray
    weights: np.ndarray
    in_pretrained: np.ndarray
    coverage: dict[str, float]
    # Per validation row: held apart for reporting (True) or used to choose the epoch. None:
    # no reporting part, every validation row does both (see core.training.reporting).
    report_mask: np.ndarray | None = None

    @functools.cached_property
    def n_unseen(self) -> np.ndarray:
        """Per text, how many of its tokens never occur in a training text (the document
        sample and the validation predictions both record it)."""
        text_of = np.repeat(np.arange(len(self.lengths)), self.lengths)
        unseen = ~self.vocab.seen_in_training[self.flat]
        return np.bincount(text_of, weights=unseen, minlength=len(self.lengths)).astype(np.int64)


def prepare(dataset, config: TrainConfig, *, split: tuple[np.ndarray, np.ndarray] | None = None,
            tokens: list[list[str]] | None = None, doc_idx: np.ndarray | None = None,
            corpus: TokenisedCorpus | None = None,
            report_idx: np.ndarray | None = None) -> Prepared:
    """Split, build the vocabulary and the initial embedding matrix from the tokenised
    ``corpus`` (``train_run`` reads it from the store's cache); without one, the ``tokens``
    given, or the texts tokenised now.

    Experiments pass their own fixed ``split`` (train rows, validation rows), their tokens or
    corpus and the validation ``doc_idx`` to keep, so runs share them, and the validation
    rows held apart for reporting (``report_idx``, a subset of the validation rows)."""
    labels = np.asarray(dataset.labels)
    if corpus is None:
        corpus = from_tokens(tokens if tokens is not None else [tokenize(t) for t in dataset.texts])
    train_idx, val_idx = split if split is not None else split_indices(labels, config)
    train_mask = np.zeros(len(labels), dtype=bool)
    train_mask[train_idx] = True
    vocab, rows = Vocab.from_corpus(corpus.corpus, train_mask, labels, len(dataset.classes),
                                    VocabConfig(min_count=config.min_count,
                                                max_size=config.max_vocab))
    flat, lengths = _clipped(rows, corpus.corpus.offsets, config.max_len)
    weights, found, cov = initial_weights(vocab, corpus, train_idx, config)
    if doc_idx is None:
        rng = np.random.default_rng(config.seed)
        n_docs = min(config.doc_sample, len(val_idx))
        doc_idx = np.sort(rng.choice(val_idx, size=n_docs, replace=False))
    report = None if report_idx is None else np.isin(val_idx, report_idx)
    return Prepared(vocab, flat, lengths, train_idx, val_idx, doc_idx, weights, found, cov,
                    report)


def _clipped(rows: np.ndarray, offsets: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Every text's first ``max_len`` ids, flat, and their lengths; an empty text gets one
    ``<unk>`` id, or its mean would be undefined."""
    lengths = np.diff(offsets)
    position = np.arange(len(rows)) - np.repeat(offsets[:-1], lengths)
    kept = rows[position < max_len].astype(np.int64)
    lengths = np.minimum(lengths, max_len)
    empty = lengths == 0
    if empty.any():
        kept = np.insert(kept, (np.cumsum(lengths) - lengths)[empty], 1)
        lengths[empty] = 1
    return kept, lengths


def initial_weights(vocab: Vocab, corpus: TokenisedCorpus, train_idx: np.ndarray,
                    config: TrainConfig) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """The step-0 lookup table, which rows came from pretrained vectors, and coverage.
    GloVe's part comes from the corpus (its vectors for the corpus's words)."""
    from core.vectors import pretrained
    if config.init == "random":
        kv = None  # only to report coverage and flag words GloVe knows: the corpus has that
        rng = np.random.default_rng(config.seed)
        weights = rng.normal(0.0, RANDOM_INIT_STD, (len(vocab), config.dim)).astype(np.float32)
        weights[0] = 0.0
        glove_words = {w for w, hit in zip(corpus.corpus.types, corpus.glove_found) if hit}
        found = np.array([w in glove_words for w in vocab.itos])
    else:
        if config.init == "glove":
            kv = corpus.glove_kv()
        elif config.init == "word2vec":
            token_lists = corpus.corpus.token_lists()
            kv = pretrained.train_word2vec([token_lists[i] for i in train_idx], dim=config.dim,
                                           algorithm=config.w2v_algorithm, seed=config.seed)
        else:
            kv = pretrained.load_pretrained(Path(config.init), words=vocab.itos)
        weights, found = pretrained.init_matrix(vocab.itos, kv, dim=kv.vector_size,
                                                seed=config.seed)
    known = (corpus.glove_found if kv is None else
             np.array([t in kv.key_to_index for t in corpus.corpus.types], dtype=bool))
    cov = corpus_coverage(corpus.corpus, known)
    return weights, found, {"token_share": float(cov.token_share),
                            "vocab_share": float(cov.vocab_share)}


class _Flat:
    """All texts as one 1-D id tensor (the input ``EmbeddingBag`` takes without padding)."""

    def __init__(self, flat: np.ndarray, lengths: np.ndarray) -> None:
        self.lens = torch.from_numpy(np.asarray(lengths, dtype=np.int64))
        self.ids = torch.from_numpy(np.asarray(flat, dtype=np.int64))
        self.starts = torch.cumsum(self.lens, 0) - self.lens

    def gather(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The texts ``rows``, in that order: their ids back to back and where each starts."""
        lens = self.lens[rows]
        offsets = torch.cumsum(lens, 0) - lens
        total = int(lens.sum())
        where = torch.repeat_interleave(self.starts[rows] - offsets, lens, output_size=total)
        return self.ids.index_select(0, where.add_(torch.arange(total))), offsets


class _Distinct:
    """A batch's distinct ids, sorted, and each id's place among them: what
    ``torch.unique(ids, return_inverse=True)`` returns, from a mark per vocabulary row
    instead of a sort (0.57 -> 0.11 ms a batch of 1,024 headlines, measured). ``mark`` then
    flags the batch's rows, which is what the update counts add."""

    def __init__(self, n_rows: int) -> None:
        self.mark = torch.zeros(n_rows, dtype=torch.bool)
        self.slot = torch.zeros(n_rows, dtype=torch.int64)

    def __call__(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.mark.zero_()
        self.mark.index_fill_(0, ids, True)
        used = self.mark.nonzero().squeeze(1)
        self.slot.index_copy_(0, used, torch.arange(len(used)))
        return used, self.slot.index_select(0, ids)


def _mean_grad(inverse: torch.Tensor, offsets: torch.Tensor, d_docs: torch.Tensor,
               n_rows: int) -> torch.Tensor:
    """The gradient of the texts' means with respect to the ``n_rows`` distinct rows they
    read: row u gets ``d_docs[text]`` (already divided by the text's length) summed over the
    tokens holding u. That is (texts x rows matrix of ones, one per token)^T @ d_docs, which
    scipy's sparse product does in one pass over the tokens: 0.21 ms a batch, against 0.48
    for ``index_add_`` and ~0.9 for autograd's ``embedding_bag`` backward (which sorts the
    tokens), measured on clickbait batches of 1,024."""
    from scipy import sparse  # already imported with sklearn (the split)

    indptr = np.append(offsets.numpy(), len(inverse))
    ones = np.ones(len(inverse), dtype=np.float32)
    tokens = sparse.csr_matrix((ones, inverse.numpy(), indptr), shape=(len(offsets), n_rows))
    return torch.from_numpy(np.ascontiguousarray(tokens.T @ d_docs.numpy()))


class _BagAdam:
    """Adam for the bag model, without ``torch.optim``, for two measured reasons
    (bench/README.md):

    - The table is updated lazily, as torch's ``SparseAdam`` does (rows outside the batch keep
      their moments and do not move), but from the batch's unique rows with a dense
      (rows x dim) gradient: no sparse tensor with one row per token to build, sort and mask
      at every step, which was most of an update's time.
    - The first ``torch.optim`` optimizer in a process imports ``torch._dynamo``: 3-7 s on
      these machines, in every fresh worker process - longer than the bag's whole training.

    The arithmetic is ``adam.adam_``: torch's own fused Adam kernel (``torch._fused_adam_``,
    what ``torch.optim.Adam(fused=True)`` calls) when an import-time check finds it and its
    numbers agree, else the same Adam in plain tensor operations: one pass over the rows
    instead of seven tensor operations (0.34 -> 0.13 ms a batch, measured). Moments are stored
    (2, rows, ...) so that each one of a gathered block is contiguous, as the kernel needs.
    """

    def __init__(self, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.lr, self.eps = lr, eps
        self.beta1, self.beta2 = betas
        self.moments: dict[int, torch.Tensor] = {}  # per parameter: first and second, stacked
        self.t = 0
        self.steps = torch.zeros(())  # the kernel reads the step count from a tensor

    def tick(self) -> None:
        """Start a step (the bias corrections count steps, shared by all parameters)."""
        self.t += 1
        self.steps.fill_(self.t)

    def _moments(self, param: torch.Tensor) -> torch.Tensor:
        if id(param) not in self.moments:
            self.moments[id(param)] = param.new_zeros((2,) + tuple(param.shape))
        return self.moments[id(param)]

    def _fused(self, params: list[torch.Tensor], grads: list[torch.Tensor],
               moments: list[torch.Tensor]) -> None:
        """One Adam step of ``params`` in place (each with its (2, ...) ``moments``)."""
        adam_(params, grads, [m[0] for m in moments], [m[1] for m in moments], self.t,
              self.steps, lr=self.lr, beta1=self.beta1, beta2=self.beta2, eps=self.eps)

    @torch.no_grad()
    def step_rows(self, table: torch.Tensor, rows: torch.Tensor, old: torch.Tensor,
                  grad: torch.Tensor) -> None:
        """Update the unique ``rows`` of ``table``, whose values were ``old`` (a copy, which
        is updated in place too), by ``grad``."""
        moments = self._moments(table)
        picked = moments.index_select(1, rows)
        self._fused([old], [grad.contiguous()], [picked])
        table.index_copy_(0, rows, old)
        moments.index_copy_(1, rows, picked)

    @torch.no_grad()
    def step_dense(self, param: torch.Tensor, grad: torch.Tensor | None = None) -> None:
        """Update the whole ``param`` by ``grad`` (default: its ``.grad``)."""
        grad = param.grad if grad is None else grad
        if grad is not None:
            self._fused([param], [grad], [self._moments(param)])


@contextmanager
def _threads(n: int | None):
    """Run with ``n`` intra-op threads (None: leave as is), then restore the previous count."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _padded(flat: np.ndarray, lengths: np.ndarray) -> torch.Tensor:
    """The texts as a (texts x longest) table, 0 (padding) after each text's ids."""
    table = np.zeros((len(lengths), max(int(lengths.max()), 1)), dtype=np.int64)
    text_of = np.repeat(np.arange(len(lengths)), lengths)
    table[text_of, np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)] = flat
    return torch.from_numpy(table)


@dataclass
class _Best:
    """Early stopping's bookkeeping. ``epoch`` is the epoch with the lowest validation loss
    so far (ties: the earlier); ``waited`` counts epochs since the loss last improved by more
    than ``min_delta`` on the best before it (the two differ only when min_delta > 0)."""

    min_delta: float
    epoch: int = 0
    step: int = 0
    loss: float = math.inf
    accuracy: float = math.nan
    predictions: np.ndarray | None = None
    reference: float = math.inf
    waited: int = 0

    def see(self, epoch: int, step: int, loss: float, accuracy: float,
            predictions: np.ndarray) -> bool:
        """Record an epoch's validation result; True when it is the new best."""
        if loss < self.reference - self.min_delta:
            self.reference, self.waited = loss, 0
        else:
            self.waited += 1
        if not loss < self.loss:  # NaN never becomes the best
            return False
        self.epoch, self.step, self.loss, self.accuracy = epoch, step, loss, accuracy
        self.predictions = predictions
        return True


@dataclass
class _Snapshot:
    """One snapshot's arrays, taken now and written now or later (see ``_Trainer.hold``)."""

    epoch: int
    step: int
    embedding: np.ndarray
    docs: np.ndarray | None
    out: np.ndarray
    bias: np.ndarray
    updates: np.ndarray


class _Trainer:
    """One run's loop. Small methods; state is the model, optimisers and counters."""

    def __init__(self, model: EmbeddingClassifier, prep: Prepared, labels: np.ndarray,
                 config: TrainConfig, store: RunStore, run_id: str,
                 callback: Callable[[TrainEvent], None] | None,
                 should_stop: Callable[[], bool] | None) -> None:
        self.model, self.prep, self.config = model, prep, config
        self.store, self.run_id = store, run_id
        self.callback, self.should_stop = callback, should_stop
        self.labels = torch.from_numpy(np.array(labels, dtype=np.int64))  # writable copy
        self.loss_fn = nn.CrossEntropyLoss()
        # The bag trains on flat input through _BagAdam (see bag_update); cnn/gru use torch.optim
        # on the padded table.
        self.flat = _Flat(prep.flat, prep.lengths) if config.arch == "bag" else None
        self.table = _padded(prep.flat, prep.lengths) if self.flat is None else None
        self.adam = _BagAdam(config.lr) if self.flat is not None else None
        self.distinct = _Distinct(len(prep.vocab)) if self.flat is not None else None
        self.optimizers = _optimizers(model, config.lr) if self.adam is None else []
        self.batch_size = effective_batch_size(config, len(prep.train_idx))
        self.emitted_at = 0.0
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step = 0
        self.n_snapshots = 0
        # optimiser steps whose batch held each row, since the last snapshot written
        self.updates = torch.zeros(len(prep.vocab), dtype=torch.int64)
        self.written: dict[tuple[int, int], int] = {}  # (epoch, step) -> snapshot index
        self.held: _Snapshot | None = None
        self.best = _Best(config.min_delta)

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
        train_idx = torch.from_numpy(self.prep.train_idx)
        order = train_idx[torch.randperm(len(train_idx), generator=self.generator)]
        size = self.batch_size
        total, n_batches = 0.0, (len(order) + size - 1) // size
        if self.flat is not None:  # gather the epoch once; each batch is then a slice
            ids, offsets = self.flat.gather(order)
            bounds = offsets.tolist() + [len(ids)]
            lengths = self.flat.lens[order].to(torch.float32).unsqueeze(1)
            labels = self.labels[order]
            onehot = F.one_hot(labels, self.model.out.out_features).to(torch.float32)
        for b in range(n_batches):
            if self.should_stop is not None and self.should_stop():
                raise CancelledError("Training was cancelled.")
            lo, hi = b * size, min((b + 1) * size, len(order))
            rows = order[lo:hi]
            if self.flat is not None:
                loss = self.update(rows, ids[bounds[lo]:bounds[hi]], offsets[lo:hi] - bounds[lo],
                                   lengths[lo:hi], labels[lo:hi], onehot[lo:hi])
            else:
                loss = self.update(rows)
            self.step += 1
            value = loss.item()  # on the CPU this is a read, not a device sync
            total += value * len(rows)
            self.report_batch(epoch, value, b + 1, n_batches)
            if self.config.snapshot_every and self.step % self.config.snapshot_every == 0:
                self.snapshot(epoch)
        return total / max(len(order), 1)

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
            return self.bag_update(rows, *bag)
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
    def bag_update(self, rows: torch.Tensor, ids: torch.Tensor, offsets: torch.Tensor,
                   lengths: torch.Tensor, labels: torch.Tensor,
                   onehot: torch.Tensor) -> torch.Tensor:
        """One step of the bag on the texts ``ids``/``offsets`` (their ``lengths``, column;
        ``labels`` and as ``onehot`` rows), on a copy of just the rows the batch uses.

        The model is the bag's forward (mean of rows, linear, cross-entropy), computed here
        with its gradients written out: d loss/d logits = (softmax - onehot) / n, and the
        mean's gradient per distinct row (``_mean_grad``). Autograd did the same at ~1.5x
        the time (it sorts the tokens in ``embedding_bag``'s backward). Flat ids never hold
        the padding index (every text has >= 1 real or <unk> id), so no padding_idx."""
        used, inverse = self.distinct(ids)
        table, out = self.model.embedding.weight, self.model.out
        sub = table.index_select(0, used)
        docs = F.embedding_bag(inverse, sub, offsets, mode="mean")
        log_p = F.log_softmax(F.linear(docs, out.weight, out.bias), dim=1)
        loss = F.nll_loss(log_p, labels)  # = the cross-entropy the model's loss_fn computes
        d_logits = log_p.exp_().sub_(onehot).div_(len(rows))
        self.adam.tick()
        if table.requires_grad:
            d_docs = (d_logits @ out.weight).div_(lengths)
            self.adam.step_rows(table, used, sub, _mean_grad(inverse, offsets, d_docs,
                                                             len(used)))
            self.updates += self.distinct.mark  # once per distinct row, never padding
        self.adam.step_dense(out.weight, d_logits.t() @ docs)
        self.adam.step_dense(out.bias, d_logits.sum(0))
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
    def capture(self, epoch: int) -> _Snapshot:
        """The snapshot's arrays now (copies: the model keeps training)."""
        self.model.eval()
        rows = torch.from_numpy(self.prep.doc_idx)
        docs = self.model.pool(*self.inputs(rows)).numpy().copy() if len(rows) else None
        self.model.train()
        return _Snapshot(epoch, self.step, self.model.embedding_matrix(), docs,
                         self.model.out.weight.detach().numpy().copy(),
                         self.model.out.bias.detach().numpy().copy(),
                         self.updates.numpy().copy())

    def write(self, snap: _Snapshot) -> None:
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
        """Snapshot now; a held best-epoch snapshot, taken earlier, is written first."""
        if self.held is not None:
            self.write(self.held)
            self.held = None
        self.write(self.capture(epoch))

    def hold(self, epoch: int) -> None:
        """Keep this (best so far) epoch's snapshot in memory when the mode would not write
        one. With ``snapshots="ends"`` only step 0 and the last epoch are written; without
        this, the best epoch of a run that trained past it would have no snapshot, and the
        views could not show the table the validation loss picked. Holding it (rather than
        writing every improving epoch) costs one table in memory and at most one extra
        snapshot on disk; it is written before any later snapshot, or dropped when a later
        epoch becomes the best."""
        self.held = self.capture(epoch) if (epoch, self.step) not in self.written else None

    def epoch_end(self, epoch: int, metrics: dict[str, Any], predictions: np.ndarray) -> bool:
        """After an epoch's evaluation: track the best, snapshot when due; True when
        training ends after this epoch (the last one, or early stopping)."""
        is_best = self.best.see(epoch, self.step, metrics["val_loss"], metrics["val_accuracy"],
                                predictions)
        last = epoch == self.config.epochs or (
            self.config.early_stopping and self.best.waited >= self.config.patience)
        if is_best:
            self.held = None  # an earlier best is no longer worth a snapshot of its own
        if _snapshot_due(self.config, epoch, self.step, last):
            self.snapshot(epoch)
        elif is_best:
            self.hold(epoch)
        return last

    def best_info(self, stopped_at: int) -> dict[str, Any]:
        """The run.info keys of the best epoch and of early stopping (contract B)."""
        best = self.best
        return {"best_epoch": best.epoch, "best_val_accuracy": best.accuracy,
                "best_val_loss": best.loss,
                "best_snapshot": self.written.get((best.epoch, best.step)),
                "stopped_early": stopped_at < self.config.epochs,
                "stopped_at_epoch": stopped_at, "predictions_epoch": best.epoch}


def _optimizers(model: EmbeddingClassifier, lr: float) -> list[torch.optim.Optimizer]:
    # The sparse embedding gradient needs SparseAdam; everything else uses plain Adam.
    emb = [p for p in model.embedding.parameters() if p.requires_grad]
    rest = [p for n, p in model.named_parameters() if not n.startswith("embedding.")]
    opts: list[torch.optim.Optimizer] = [torch.optim.Adam(rest, lr=lr)]
    if emb:
        opts.append(torch.optim.SparseAdam(emb, lr=lr))
    return opts


def _save_inputs(store: RunStore, run_id: str, dataset, prep: Prepared) -> None:
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


def _start_info(dataset, prep: Prepared, dim: int) -> dict[str, Any]:
    val_labels = np.asarray(dataset.labels)[prep.val_idx]
    # accuracy of always answering the most frequent validation class: the floor to beat
    majority = float(np.bincount(val_labels).max() / len(val_labels)) if len(val_labels) else None
    return {"n_train": int(len(prep.train_idx)), "n_val": int(len(prep.val_idx)),
            "majority_baseline": majority,
            "vocab_size": len(prep.vocab), "dim": dim, "classes": list(dataset.classes),
            "pretrained_coverage": prep.coverage, "n_docs": int(len(prep.doc_idx)),
            "n_in_pretrained": int(prep.in_pretrained.sum()), **validation_parts(prep.report_mask)}


def train_run(dataset, config: TrainConfig, store: RunStore, *, run_id: str | None = None,
              callback: Callable[[TrainEvent], None] | None = None,
              should_stop: Callable[[], bool] | None = None,
              split: tuple[np.ndarray, np.ndarray] | None = None,
              tokens: list[list[str]] | None = None,
              doc_idx: np.ndarray | None = None,
              corpus: TokenisedCorpus | None = None,
              report_idx: np.ndarray | None = None) -> RunSummary:
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
            if corpus is None and tokens is None:
                corpus = tokenised(dataset, store, fingerprint)
            prep = prepare(dataset, config, split=split, tokens=tokens, doc_idx=doc_idx,
                           corpus=corpus, report_idx=report_idx)
            return _train_prepared(dataset, prep, config, store, run_id, callback,
                                   should_stop, started)
        except CancelledError:
            store.set_status(run_id, "cancelled")
            return _summary(store, run_id, time.perf_counter() - started)
        except BaseException as exc:  # record the failure, keep what was written, re-raise
            _record_failure(store, run_id, exc)
            raise


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
                    run_id: str, callback, should_stop, started: float) -> RunSummary:
    dim = prep.weights.shape[1]
    mconf = ModelConfig(arch=config.arch, vocab_size=len(prep.vocab), dim=dim,
                        n_classes=len(dataset.classes), hidden=config.hidden)
    model = EmbeddingClassifier(mconf, prep.weights, freeze=config.freeze)
    info = {**_start_info(dataset, prep, dim), **_check_size(store, prep, config, model)}
    store.update_info(run_id, **info)
    _save_inputs(store, run_id, dataset, prep)
    trainer = _Trainer(model, prep, dataset.labels, config, store, run_id, callback, should_stop)
    trainer.emit("start", 0, **info, epochs=config.epochs)
    trainer.snapshot(0)  # step 0: before any update
    # The bag's operations are small. On these shared 2-core machines, with other jobs
    # running, a second intra-op thread made its epochs ~20x slower (threads waiting for each
    # other at every operation); one thread does not wait (bench/README.md).
    with _threads(1 if config.arch == "bag" else None):
        epoch = _epochs(trainer, config, store, run_id)
    _save_predictions(store, run_id, prep, dataset.labels, trainer.best.predictions)
    seconds = time.perf_counter() - started
    store.update_info(run_id, train_seconds=seconds, **trainer.best_info(epoch))
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
        last = trainer.epoch_end(epoch, metrics, predictions)
        if last:  # the last row says whether it ended early: charts read it from the epochs
            metrics["stopped_early"] = epoch < config.epochs
        store.add_epoch(run_id, epoch, metrics)
        trainer.emit("epoch", epoch, **metrics)
        if last:
            return epoch
    return config.epochs


def _snapshot_due(config: TrainConfig, epoch: int, step: int, last: bool) -> bool:
    """Whether the end of ``epoch`` is snapshotted (``last``: training ends after it)."""
    if config.snapshot_every and step % config.snapshot_every == 0:
        return False  # the step snapshot was just taken
    return config.snapshots == "all" or last


def _save_predictions(store: RunStore, run_id: str, prep: Prepared, labels: np.ndarray,
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


def _summary(store: RunStore, run_id: str, seconds: float) -> RunSummary:
    run = store.get_run(run_id)
    info, best = run.info, run.best()
    return RunSummary(
        run_id=run_id, status=run.status, n_train=info.get("n_train", 0),
        n_val=info.get("n_val", 0), vocab_size=info.get("vocab_size", 0),
        dim=info.get("dim", 0), pretrained_coverage=info.get("pretrained_coverage", {}),
        train_loss=[e["train_loss"] for e in run.epochs],
        val_loss=[e["val_loss"] for e in run.epochs],
        val_accuracy=[e["val_accuracy"] for e in run.epochs],
        snapshots=run.n_snapshots, train_seconds=round(seconds, 3),
        best_epoch=best["epoch"] if best else None,
        best_val_accuracy=best["val_accuracy"] if best else None,
        stopped_early=bool(info.get("stopped_early", False)))
