"""Training with snapshots: the embedding layer learns from the task's loss like any other
layer, and we keep copies of it (and of the documents seen through the next layer) as it does.

The trainer knows nothing about its caller: progress goes to an optional ``callback``, and an
optional ``should_stop`` is polled between batches to cancel.
"""
from __future__ import annotations

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
from core.training.config import ModelConfig, TrainConfig, effective_batch_size
from core.training.model import EmbeddingClassifier
from core.training.split import split_indices
from core.store.runstore import RunSize, RunStore, new_run_id, planned_snapshots
from core.data.text import Vocab, VocabConfig, coverage, tokenize

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Prepared:
    """Everything derived from the data before the first update."""

    vocab: Vocab
    ids: list[np.ndarray]
    train_idx: np.ndarray
    val_idx: np.ndarray
    doc_idx: np.ndarray
    weights: np.ndarray
    in_pretrained: np.ndarray
    coverage: dict[str, float]


def prepare(dataset, config: TrainConfig, *, split: tuple[np.ndarray, np.ndarray] | None = None,
            tokens: list[list[str]] | None = None, doc_idx: np.ndarray | None = None
            ) -> Prepared:
    """Tokenise, split, build the vocabulary and the initial embedding matrix.

    Experiments pass their own fixed ``split`` (train rows, validation rows), the ``tokens``
    they already have and the validation ``doc_idx`` to keep, so runs share them."""
    labels = np.asarray(dataset.labels)
    token_lists = tokens if tokens is not None else [tokenize(t) for t in dataset.texts]
    train_idx, val_idx = split if split is not None else split_indices(labels, config)
    train_mask = np.zeros(len(labels), dtype=bool)
    train_mask[train_idx] = True
    vocab = Vocab.build(token_lists, train_mask, labels, len(dataset.classes),
                        VocabConfig(min_count=config.min_count, max_size=config.max_vocab))
    ids = [_clip(vocab.encode(toks), config.max_len) for toks in token_lists]
    weights, found, cov = initial_weights(vocab, token_lists, train_idx, config)
    if doc_idx is None:
        rng = np.random.default_rng(config.seed)
        n_docs = min(config.doc_sample, len(val_idx))
        doc_idx = np.sort(rng.choice(val_idx, size=n_docs, replace=False))
    return Prepared(vocab, ids, train_idx, val_idx, doc_idx, weights, found, cov)


def _clip(ids: np.ndarray, max_len: int) -> np.ndarray:
    # A text whose tokens are all unknown still needs one index, or its mean is undefined.
    return ids[:max_len] if len(ids) else np.array([1], dtype=np.int64)


def initial_weights(vocab: Vocab, token_lists: list[list[str]], train_idx: np.ndarray,
                    config: TrainConfig) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """The step-0 lookup table, which rows came from pretrained vectors, and coverage."""
    from core.vectors import pretrained
    if config.init == "random":
        kv = pretrained.glove()  # only to report coverage and flag words GloVe knows
        rng = np.random.default_rng(config.seed)
        weights = rng.normal(0.0, RANDOM_INIT_STD, (len(vocab), config.dim)).astype(np.float32)
        weights[0] = 0.0
        found = np.array([w in kv.key_to_index for w in vocab.itos])
    else:
        if config.init == "glove":
            kv = pretrained.glove()
        elif config.init == "word2vec":
            kv = pretrained.train_word2vec([token_lists[i] for i in train_idx], dim=config.dim,
                                           algorithm=config.w2v_algorithm, seed=config.seed)
        else:
            kv = pretrained.load_pretrained(Path(config.init), words=vocab.itos)
        weights, found = pretrained.init_matrix(vocab.itos, kv, dim=kv.vector_size,
                                                seed=config.seed)
    cov = coverage(token_lists, kv)
    return weights, found, {"token_share": float(cov.token_share),
                            "vocab_share": float(cov.vocab_share)}


class _Flat:
    """All texts as one 1-D id tensor (the input ``EmbeddingBag`` takes without padding)."""

    def __init__(self, ids: list[np.ndarray]) -> None:
        self.lens = torch.from_numpy(np.array([len(x) for x in ids], dtype=np.int64))
        self.ids = torch.from_numpy(np.concatenate(ids).astype(np.int64))
        self.starts = torch.cumsum(self.lens, 0) - self.lens

    def gather(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The texts ``rows``, in that order: their ids back to back and where each starts."""
        lens = self.lens[rows]
        offsets = torch.cumsum(lens, 0) - lens
        total = int(lens.sum())
        where = torch.repeat_interleave(self.starts[rows] - offsets, lens, output_size=total)
        return self.ids[where + torch.arange(total)], offsets


class _BagAdam:
    """Adam for the bag model, without ``torch.optim``, for two measured reasons
    (bench/README.md):

    - The table is updated lazily, as torch's ``SparseAdam`` does (rows outside the batch keep
      their moments and do not move), but from the batch's unique rows with a dense
      (rows x dim) gradient: no sparse tensor with one row per token to build, sort and mask
      at every step, which was most of an update's time.
    - The first ``torch.optim`` optimizer in a process imports ``torch._dynamo``: 3-7 s on
      these machines, in every fresh worker process - longer than the bag's whole training.
    """

    def __init__(self, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.lr, self.eps = lr, eps
        self.beta1, self.beta2 = betas
        self.moments: dict[int, torch.Tensor] = {}  # per parameter: first and second, stacked
        self.t = 0

    def tick(self) -> None:
        """Start a step (the bias corrections count steps, shared by all parameters)."""
        self.t += 1

    def _moments(self, param: torch.Tensor) -> torch.Tensor:
        if id(param) not in self.moments:
            self.moments[id(param)] = param.new_zeros((param.shape[0], 2) + param.shape[1:])
        return self.moments[id(param)]

    def _updated(self, moments: torch.Tensor, old: torch.Tensor,
                 grad: torch.Tensor) -> torch.Tensor:
        """Update ``moments`` (rows x 2 x ...) in place; return the new parameter values."""
        m, v = moments[:, 0], moments[:, 1]
        m.mul_(self.beta1).add_(grad, alpha=1 - self.beta1)
        v.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        denom = v.sqrt().div_(math.sqrt(1 - self.beta2 ** self.t)).add_(self.eps)
        return old.addcdiv(m, denom, value=-self.lr / (1 - self.beta1 ** self.t))

    @torch.no_grad()
    def step_rows(self, table: torch.Tensor, rows: torch.Tensor, old: torch.Tensor,
                  grad: torch.Tensor) -> None:
        """Update the unique ``rows`` of ``table``, whose values were ``old``, by ``grad``."""
        moments = self._moments(table)
        picked = moments.index_select(0, rows)
        table.index_copy_(0, rows, self._updated(picked, old, grad))
        moments.index_copy_(0, rows, picked)

    @torch.no_grad()
    def step_dense(self, param: torch.Tensor) -> None:
        if param.grad is not None:
            param.copy_(self._updated(self._moments(param), param, param.grad))


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


def _padded(ids: list[np.ndarray]) -> tuple[torch.Tensor, np.ndarray]:
    lengths = np.array([len(x) for x in ids])
    table = np.zeros((len(ids), max(int(lengths.max()), 1)), dtype=np.int64)
    for row, x in enumerate(ids):
        table[row, : len(x)] = x
    return torch.from_numpy(table), lengths


class _Trainer:
    """One run's loop. Small methods; state is the model, optimisers and counters."""

    def __init__(self, model: EmbeddingClassifier, prep: Prepared, labels: np.ndarray,
                 config: TrainConfig, store: RunStore, run_id: str,
                 callback: Callable[[TrainEvent], None] | None,
                 should_stop: Callable[[], bool] | None) -> None:
        self.model, self.prep, self.config = model, prep, config
        self.store, self.run_id = store, run_id
        self.callback, self.should_stop = callback, should_stop
        self.table, self.lengths = _padded(prep.ids)
        self.labels = torch.from_numpy(np.array(labels, dtype=np.int64))  # writable copy
        self.loss_fn = nn.CrossEntropyLoss()
        # The bag trains on flat input through _BagAdam (see bag_loss); cnn/gru use torch.optim.
        self.flat = _Flat(prep.ids) if config.arch == "bag" else None
        self.adam = _BagAdam(config.lr) if self.flat is not None else None
        self.optimizers = _optimizers(model, config.lr) if self.adam is None else []
        self.batch_size = effective_batch_size(config, len(prep.train_idx))
        self.emitted_at = 0.0
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step = 0
        self.n_snapshots = 0

    def emit(self, kind: str, epoch: int, **data: Any) -> None:
        if self.callback is not None:
            self.callback(TrainEvent(kind, self.run_id, epoch, self.step, data))

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        width = int(self.lengths[rows.numpy()].max())
        return self.table[rows, :width]

    def train_epoch(self, epoch: int) -> float:
        self.model.train()
        train_idx = torch.from_numpy(self.prep.train_idx)
        order = train_idx[torch.randperm(len(train_idx), generator=self.generator)]
        size = self.batch_size
        total, n_batches = 0.0, (len(order) + size - 1) // size
        if self.flat is not None:  # gather the epoch once; each batch is then a slice
            ids, offsets = self.flat.gather(order)
            bounds = offsets.tolist() + [len(ids)]
        for b in range(n_batches):
            if self.should_stop is not None and self.should_stop():
                raise CancelledError("Training was cancelled.")
            lo, hi = b * size, min((b + 1) * size, len(order))
            rows = order[lo:hi]
            if self.flat is not None:
                loss = self.update(rows, ids[bounds[lo]:bounds[hi]], offsets[lo:hi] - bounds[lo])
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

    def update(self, rows: torch.Tensor, ids: torch.Tensor | None = None,
               offsets: torch.Tensor | None = None) -> torch.Tensor:
        """One optimisation step on the texts ``rows`` (given flat as ``ids``/``offsets`` for
        the bag); returns the batch's loss."""
        if self.adam is not None:
            return self.bag_update(rows, ids, offsets)
        for opt in self.optimizers:
            opt.zero_grad()
        loss = self.loss_fn(self.model(self.batch(rows)), self.labels[rows])
        loss.backward()
        for opt in self.optimizers:
            opt.step()
        return loss

    def bag_update(self, rows: torch.Tensor, ids: torch.Tensor,
                   offsets: torch.Tensor) -> torch.Tensor:
        self.model.out.zero_grad(set_to_none=True)
        loss, used, sub = self.bag_loss(ids, offsets, self.labels[rows])
        loss.backward()
        self.adam.tick()
        if sub.requires_grad:
            self.adam.step_rows(self.model.embedding.weight, used, sub.detach(), sub.grad)
        for param in self.model.out.parameters():
            self.adam.step_dense(param)
        return loss

    def bag_loss(self, ids: torch.Tensor, offsets: torch.Tensor, labels: torch.Tensor):
        """The bag's loss computed on a copy of just the rows the batch uses.

        The same mean-of-rows as ``model.embedding``, but autograd then hands back one dense
        gradient row per distinct word instead of a sparse row per token. Flat ids never hold
        the padding index (every text has >= 1 real or <unk> id), so no padding_idx is needed.
        """
        used, inverse = torch.unique(ids, return_inverse=True)
        table = self.model.embedding.weight
        sub = table.detach().index_select(0, used).requires_grad_(table.requires_grad)
        docs = F.embedding_bag(inverse, sub, offsets, mode="mean")
        return self.loss_fn(self.model.out(docs), labels), used, sub

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        self.model.eval()
        val = torch.from_numpy(self.prep.val_idx)
        loss_sum, correct = 0.0, 0
        chunk = 8192 if self.flat is not None else 2048
        for start in range(0, len(val), chunk):
            rows = val[start:start + chunk]
            logits = (self.model(*self.flat.gather(rows)) if self.flat is not None
                      else self.model(self.batch(rows)))
            loss_sum += float(self.loss_fn(logits, self.labels[rows])) * len(rows)
            correct += int((logits.argmax(dim=1) == self.labels[rows]).sum())
        return loss_sum / max(len(val), 1), correct / max(len(val), 1)

    @torch.no_grad()
    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Predicted class of each row (the views and experiments read these)."""
        self.model.eval()
        out = []
        for start in range(0, len(rows), 4096):
            chunk = torch.from_numpy(np.asarray(rows[start:start + 4096]))
            logits = (self.model(*self.flat.gather(chunk)) if self.flat is not None
                      else self.model(self.batch(chunk)))
            out.append(logits.argmax(dim=1).numpy())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    @torch.no_grad()
    def snapshot(self, epoch: int) -> None:
        self.model.eval()
        rows = torch.from_numpy(self.prep.doc_idx)
        docs = self.model.pool(self.batch(rows)).numpy().copy() if len(rows) else None
        idx = self.n_snapshots
        self.store.save_array(self.run_id, f"snapshots/out_{idx:04d}",
                              self.model.out.weight.detach().numpy().copy())
        self.store.save_array(self.run_id, f"snapshots/bias_{idx:04d}",
                              self.model.out.bias.detach().numpy().copy())
        self.store.add_snapshot(self.run_id, idx, epoch, self.step,
                                self.model.embedding_matrix(), docs)
        self.n_snapshots += 1
        self.emit("snapshot", epoch, index=idx)
        self.model.train()


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
    seen = prep.vocab.seen_in_training
    unseen = [int((~seen[prep.ids[i]]).sum()) for i in prep.doc_idx]
    docs = pd.DataFrame({
        "row": prep.doc_idx,
        "text": [dataset.texts[i] for i in prep.doc_idx],
        "label_id": np.asarray(dataset.labels)[prep.doc_idx],
        "label": [dataset.classes[dataset.labels[i]] for i in prep.doc_idx],
        "n_tokens": [len(prep.ids[i]) for i in prep.doc_idx],
        "n_unseen": unseen,
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
            "n_in_pretrained": int(prep.in_pretrained.sum())}


def train_run(dataset, config: TrainConfig, store: RunStore, *, run_id: str | None = None,
              callback: Callable[[TrainEvent], None] | None = None,
              should_stop: Callable[[], bool] | None = None,
              split: tuple[np.ndarray, np.ndarray] | None = None,
              tokens: list[list[str]] | None = None,
              doc_idx: np.ndarray | None = None) -> RunSummary:
    """Train one model, snapshotting the embedding at step 0 and after every epoch.

    ``run_id`` may name a run created beforehand (e.g. queued by a job runner); otherwise a
    new one is created. Cancellation ends with status ``cancelled`` and keeps what was
    written; any other failure is recorded as ``failed`` and re-raised. ``split``,
    ``tokens`` and ``doc_idx`` are passed to ``prepare`` (experiments fix them). The run's
    writer lock is held throughout (``RunStore.writing``): if this process dies, readers
    mark the run failed. A run that would not fit on the store's disk is refused before
    its first snapshot.
    """
    torch.manual_seed(config.seed)
    new = run_id is None
    run_id = run_id or new_run_id()
    with store.writing(run_id):
        if new:
            store.create_run(config.to_dict(), dataset.fingerprint(), status="running",
                             run_id=run_id)
        else:
            store.set_status(run_id, "running")
        started = time.perf_counter()
        try:
            prep = prepare(dataset, config, split=split, tokens=tokens, doc_idx=doc_idx)
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
    batches = -(-len(prep.train_idx) // effective_batch_size(config, len(prep.train_idx)))
    size = RunSize(rows=len(prep.vocab), dim=prep.weights.shape[1],
                   snapshots=planned_snapshots(config.epochs, batches, config.snapshots == "all",
                                               config.snapshot_every),
                   docs=len(prep.doc_idx), doc_dim=model.pooled_dim,
                   classes=int(model.out.out_features), texts=len(prep.ids))
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
        for epoch in range(1, config.epochs + 1):
            t0 = time.perf_counter()
            train_loss = trainer.train_epoch(epoch)
            loop_seconds = time.perf_counter() - t0
            val_loss, val_acc = trainer.evaluate()
            metrics = {"train_loss": train_loss, "val_loss": val_loss, "val_accuracy": val_acc,
                       "seconds": time.perf_counter() - t0, "loop_seconds": loop_seconds,
                       "step": trainer.step}
            if _snapshot_due(config, epoch, trainer.step):
                trainer.snapshot(epoch)
            store.add_epoch(run_id, epoch, metrics)
            trainer.emit("epoch", epoch, **metrics)
        _save_predictions(store, run_id, prep, dataset.labels, trainer.predict(prep.val_idx))
    seconds = time.perf_counter() - started
    store.update_info(run_id, train_seconds=seconds)
    store.set_status(run_id, "done")
    summary = _summary(store, run_id, seconds)
    trainer.emit("end", config.epochs, **summary.to_dict())
    return summary


def _snapshot_due(config: TrainConfig, epoch: int, step: int) -> bool:
    if config.snapshot_every and step % config.snapshot_every == 0:
        return False  # the step snapshot was just taken
    return config.snapshots == "all" or epoch == config.epochs


def _save_predictions(store: RunStore, run_id: str, prep: Prepared, labels: np.ndarray,
                      pred: np.ndarray) -> None:
    """The final model's prediction for every validation row, with whether the row holds a
    word never seen in training (the "unseen words" measure reads this)."""
    seen = prep.vocab.seen_in_training
    unseen = np.array([bool((~seen[prep.ids[i]]).any()) for i in prep.val_idx], dtype=bool)
    store.save_frame(run_id, "val_predictions", pd.DataFrame({
        "row": prep.val_idx, "label_id": np.asarray(labels)[prep.val_idx],
        "pred": pred.astype(np.int64), "unseen_any": unseen}))


def _summary(store: RunStore, run_id: str, seconds: float) -> RunSummary:
    run = store.get_run(run_id)
    info = run.info
    return RunSummary(
        run_id=run_id, status=run.status, n_train=info.get("n_train", 0),
        n_val=info.get("n_val", 0), vocab_size=info.get("vocab_size", 0),
        dim=info.get("dim", 0), pretrained_coverage=info.get("pretrained_coverage", {}),
        train_loss=[e["train_loss"] for e in run.epochs],
        val_loss=[e["val_loss"] for e in run.epochs],
        val_accuracy=[e["val_accuracy"] for e in run.epochs],
        snapshots=run.n_snapshots, train_seconds=round(seconds, 3))
