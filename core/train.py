"""Training with snapshots: the embedding layer learns from the task's loss like any other
layer, and we keep copies of it (and of the documents seen through the next layer) as it does.

The trainer knows nothing about its caller: progress goes to an optional ``callback``, and an
optional ``should_stop`` is polled between batches to cancel.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from core.errors import CancelledError, DataError
from core.model import ARCHS, EmbeddingClassifier, ModelConfig
from core.store import RunStore
from core.text import Vocab, VocabConfig, coverage, tokenize

INITS = ("random", "glove", "word2vec")
W2V_ALGORITHMS = ("skipgram", "cbow")
RANDOM_INIT_STD = 0.3  # close to GloVe 6B 50d's per-component spread, so inits are comparable


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. ``init`` is random|glove|word2vec or a vector file path.
    With pretrained init, the embedding dim follows the vectors and ``dim`` is ignored."""

    arch: str = "bag"
    dim: int = 50
    init: str = "random"
    w2v_algorithm: str = "skipgram"
    freeze: bool = False
    epochs: int = 5
    batch_size: int = 64
    lr: float = 0.01
    train_size: int | None = None
    val_fraction: float = 0.2
    snapshot_every: int = 0
    seed: int = 0
    min_count: int = 1
    max_vocab: int = 50_000
    doc_sample: int = 500
    max_len: int = 200
    hidden: int = 64

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if self.init not in INITS and not str(self.init).strip():
            raise ValueError(f"init must be one of {INITS} or a vector file path, got {self.init!r}")
        if self.w2v_algorithm not in W2V_ALGORITHMS:
            raise ValueError(f"w2v_algorithm must be one of {W2V_ALGORITHMS}, got {self.w2v_algorithm!r}")
        _check_range("dim", self.dim, 2, 1000)
        _check_range("epochs", self.epochs, 1, 1000)
        _check_range("batch_size", self.batch_size, 1, 65536)
        _check_range("snapshot_every", self.snapshot_every, 0, 10_000_000)
        _check_range("seed", self.seed, 0, 2**32 - 1)
        _check_range("min_count", self.min_count, 1, 1_000_000)
        _check_range("max_vocab", self.max_vocab, 10, 2_000_000)
        _check_range("doc_sample", self.doc_sample, 0, 100_000)
        _check_range("max_len", self.max_len, 1, 100_000)
        _check_range("hidden", self.hidden, 2, 4096)
        if self.train_size is not None:
            _check_range("train_size", self.train_size, 2, 100_000_000)
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr <= 10):
            raise ValueError(f"lr must be in (0, 10], got {self.lr!r}")
        if not (isinstance(self.val_fraction, (int, float)) and 0.05 <= self.val_fraction <= 0.5):
            raise ValueError(f"val_fraction must be in [0.05, 0.5], got {self.val_fraction!r}")
        if self.freeze and self.init == "random":
            raise ValueError("freeze=True needs a pretrained init (glove, word2vec or a file): "
                             "a frozen random table cannot learn anything")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_range(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


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


def split_indices(labels: np.ndarray, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded train/validation split; the validation set depends only on the
    seed and val_fraction, so runs with different training-set caps share it."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    counts = np.bincount(labels)
    if (counts[counts > 0] < 2).any():
        raise DataError("Every class needs at least 2 examples to split into training and "
                        "validation; some class has only 1.")
    n_val = max(int(round(len(labels) * config.val_fraction)), len(np.flatnonzero(counts)))
    if len(labels) - n_val < len(np.flatnonzero(counts)):
        raise DataError(f"Too few rows ({len(labels)}) to split into training and validation.")
    train, val = train_test_split(idx, test_size=n_val, stratify=labels,
                                  random_state=config.seed)
    if config.train_size is not None and config.train_size < len(train):
        train = _cap_training(train, labels, config)
    return np.sort(train), np.sort(val)


def _cap_training(train: np.ndarray, labels: np.ndarray, config: TrainConfig) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    n_classes = len(np.unique(labels[train]))
    if config.train_size < n_classes:
        raise DataError(f"train_size {config.train_size} is smaller than the number of "
                        f"classes ({n_classes}).")
    try:
        kept, _ = train_test_split(train, train_size=config.train_size,
                                   stratify=labels[train], random_state=config.seed)
    except ValueError:  # a class too small to stratify at this size
        rng = np.random.default_rng(config.seed)
        kept = rng.choice(train, size=config.train_size, replace=False)
    return kept


def prepare(dataset, config: TrainConfig) -> Prepared:
    """Tokenise, split, build the vocabulary and the initial embedding matrix."""
    labels = np.asarray(dataset.labels)
    token_lists = [tokenize(t) for t in dataset.texts]
    train_idx, val_idx = split_indices(labels, config)
    train_mask = np.zeros(len(labels), dtype=bool)
    train_mask[train_idx] = True
    vocab = Vocab.build(token_lists, train_mask, labels, len(dataset.classes),
                        VocabConfig(min_count=config.min_count, max_size=config.max_vocab))
    ids = [_clip(vocab.encode(toks), config.max_len) for toks in token_lists]
    weights, found, cov = initial_weights(vocab, token_lists, train_idx, config)
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
    from core import pretrained

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
        self.optimizers = _optimizers(model, config.lr)
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
        total, n_batches = 0.0, (len(order) + self.config.batch_size - 1) // self.config.batch_size
        for b in range(n_batches):
            if self.should_stop is not None and self.should_stop():
                raise CancelledError("Training was cancelled.")
            rows = order[b * self.config.batch_size:(b + 1) * self.config.batch_size]
            loss = self.loss_fn(self.model(self.batch(rows)), self.labels[rows])
            for opt in self.optimizers:
                opt.zero_grad()
            loss.backward()
            for opt in self.optimizers:
                opt.step()
            self.step += 1
            value = loss.item()
            total += value * len(rows)
            self.emit("batch", epoch, loss=value, batch=b + 1, n_batches=n_batches)
            if self.config.snapshot_every and self.step % self.config.snapshot_every == 0:
                self.snapshot(epoch)
        return total / max(len(order), 1)

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        self.model.eval()
        val = torch.from_numpy(self.prep.val_idx)
        loss_sum, correct = 0.0, 0
        for start in range(0, len(val), 2048):
            rows = val[start:start + 2048]
            logits = self.model(self.batch(rows))
            loss_sum += float(self.loss_fn(logits, self.labels[rows])) * len(rows)
            correct += int((logits.argmax(dim=1) == self.labels[rows]).sum())
        return loss_sum / max(len(val), 1), correct / max(len(val), 1)

    @torch.no_grad()
    def snapshot(self, epoch: int) -> None:
        self.model.eval()
        rows = torch.from_numpy(self.prep.doc_idx)
        docs = self.model.pool(self.batch(rows)).numpy().copy() if len(rows) else None
        idx = self.n_snapshots
        self.store.save_array(self.run_id, f"snapshots/out_{idx:04d}",
                              self.model.out.weight.detach().numpy().copy())
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
    return {"n_train": int(len(prep.train_idx)), "n_val": int(len(prep.val_idx)),
            "vocab_size": len(prep.vocab), "dim": dim, "classes": list(dataset.classes),
            "pretrained_coverage": prep.coverage, "n_docs": int(len(prep.doc_idx)),
            "n_in_pretrained": int(prep.in_pretrained.sum())}


def train_run(dataset, config: TrainConfig, store: RunStore, *, run_id: str | None = None,
              callback: Callable[[TrainEvent], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> RunSummary:
    """Train one model, snapshotting the embedding at step 0 and after every epoch.

    ``run_id`` may name a run created beforehand (e.g. queued by a job runner); otherwise a
    new one is created. Cancellation ends with status ``cancelled`` and keeps what was
    written; any other failure is recorded as ``failed`` and re-raised.
    """
    torch.manual_seed(config.seed)
    if run_id is None:
        run_id = store.create_run(config.to_dict(), dataset.fingerprint(), status="running")
    else:
        store.set_status(run_id, "running")
    started = time.perf_counter()
    try:
        prep = prepare(dataset, config)
        return _train_prepared(dataset, prep, config, store, run_id, callback, should_stop,
                               started)
    except CancelledError:
        store.set_status(run_id, "cancelled")
        return _summary(store, run_id, time.perf_counter() - started)
    except BaseException as exc:  # record the failure, keep what was written, re-raise
        store.set_status(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise


def _train_prepared(dataset, prep: Prepared, config: TrainConfig, store: RunStore,
                    run_id: str, callback, should_stop, started: float) -> RunSummary:
    dim = prep.weights.shape[1]
    mconf = ModelConfig(arch=config.arch, vocab_size=len(prep.vocab), dim=dim,
                        n_classes=len(dataset.classes), hidden=config.hidden)
    model = EmbeddingClassifier(mconf, prep.weights, freeze=config.freeze)
    info = _start_info(dataset, prep, dim)
    store.update_info(run_id, **info)
    _save_inputs(store, run_id, dataset, prep)
    trainer = _Trainer(model, prep, dataset.labels, config, store, run_id, callback, should_stop)
    trainer.emit("start", 0, **info, epochs=config.epochs)
    trainer.snapshot(0)  # step 0: before any update
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        train_loss = trainer.train_epoch(epoch)
        val_loss, val_acc = trainer.evaluate()
        metrics = {"train_loss": train_loss, "val_loss": val_loss, "val_accuracy": val_acc,
                   "seconds": time.perf_counter() - t0, "step": trainer.step}
        if not (config.snapshot_every and trainer.step % config.snapshot_every == 0):
            trainer.snapshot(epoch)
        store.add_epoch(run_id, epoch, metrics)
        trainer.emit("epoch", epoch, **metrics)
    seconds = time.perf_counter() - started
    store.update_info(run_id, train_seconds=seconds)
    store.set_status(run_id, "done")
    summary = _summary(store, run_id, seconds)
    trainer.emit("end", config.epochs, **summary.to_dict())
    return summary


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
