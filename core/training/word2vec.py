"""The word2vec objective on the product's own table: ``objective`` skipgram|cbow.

The same lookup table a classifier run trains (row i is the run's word ``itos[i]``, its
step-0 rows from the same init) is trained by gensim's Word2Vec (negative sampling) on the
run's training texts instead of by a classifier's loss, and snapshotted into an ordinary run
of the store: step 0, every ``snapshot_every`` steps, after every epoch (or the last one).

A step is a batch of ``effective_batch_size`` texts, as for the classifier, so the snapshot
plan (``planned_snapshot_count``) and the Evolution slider read the same. gensim trains chunk
by chunk (``Word2Vec.train`` per chunk of texts between two snapshots) with its learning
rate (``config.lr`` as gensim's alpha) decaying linearly over the whole run, as one call
would. Rows gensim never sees (``<pad>``, ``<unk>``, words only in validation texts) keep
their start row (``_start``): ``info["word2vec_untouched_rows"]`` counts them.

There is no classifier: no document vectors, no validation accuracy, no early stopping; the
views that need them say so. Each epoch records gensim's loss and the table's WordSim353 and
SimLex999 (with 95 % intervals).
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from core.analysis.measures import benchmark_path, read_word_pairs, word_similarity
from core.data.text import PAD_ID, UNK_ID
from core.errors import CancelledError, DataError
from core.store.disk import RunSize
from core.store.runstore import RunStore
from core.training.config import TrainConfig, effective_batch_size, planned_snapshot_count

MIN_ALPHA = 0.0001  # gensim's default end of the linear decay
BENCHMARK_NAMES = ("wordsim353", "simlex999")
# Below this many training tokens no measured word2vec table's WordSim353 interval excluded
# zero (skip-gram, 20 epochs, clickbait subsamples of 500 to 32,000 headlines: bench/README.md,
# "word2vec: how much text").
MIN_TOKENS = 100_000


class _Table:
    """The run's table and where gensim's rows go in it."""

    def __init__(self, start: np.ndarray, itos: list[str], model) -> None:
        stoi = {w: i for i, w in enumerate(itos)}
        self.start = start
        self.rows = np.array([stoi[w] for w in model.wv.index_to_key], dtype=np.int64)
        self.model = model

    def now(self) -> np.ndarray:
        table = self.start.copy()
        table[self.rows] = self.model.wv.vectors
        return table


def _start(prep, config: TrainConfig) -> np.ndarray:
    """The step-0 table. A pretrained init is the run's (gensim starts from it too); a random
    one is word2vec's own scale, uniform in +-0.5/dim as gensim draws it, for every row: the
    classifier's N(0, 0.3) start would leave the rows gensim never trains 30x larger than the
    rest, and the maps would show that scale rather than what was learned."""
    if config.init != "random":
        return prep.weights
    rng = np.random.default_rng(config.seed)
    dim = prep.weights.shape[1]
    start = rng.uniform(-0.5 / dim, 0.5 / dim, prep.weights.shape).astype(np.float32)
    start[PAD_ID] = 0.0
    return start


def _sentences(prep) -> tuple[list[list[str]], list[np.ndarray]]:
    """The training texts as words of the run's vocabulary (``<unk>`` dropped: gensim must
    not learn a vector for it) and as row ids (for the update counts)."""
    itos = prep.vocab.itos
    ends = np.cumsum(prep.lengths)
    sentences, ids = [], []
    for i in prep.train_idx:
        rows = prep.flat[ends[i] - prep.lengths[i]:ends[i]]
        rows = rows[(rows != UNK_ID) & (rows != PAD_ID)]
        ids.append(np.unique(rows))
        sentences.append([itos[r] for r in rows])
    return sentences, ids


def _model(config: TrainConfig, sentences: list[list[str]], prep):
    from core.vectors.pretrained import new_word2vec

    dim = prep.weights.shape[1]
    model = new_word2vec(dim=dim, algorithm=config.objective, seed=config.seed,
                         epochs=config.epochs, alpha=config.lr)
    if not any(sentences):
        raise DataError("word2vec needs training texts with words; every training text is "
                        "empty or holds only words below min_count")
    model.build_vocab(sentences)
    if config.init != "random":  # the pretrained start is the table word2vec starts from
        stoi = prep.vocab.stoi
        model.wv.vectors[:] = prep.weights[[stoi[w] for w in model.wv.index_to_key]]
    return model


@contextmanager
def _quiet_gensim():
    """gensim warns through logging (e.g. about repeated ``train`` calls, which is what we
    do on purpose); without a handler Python prints those to stderr."""
    logger = logging.getLogger("gensim")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@lru_cache(maxsize=1)
def _benchmark_words() -> frozenset[str]:
    return frozenset(w for name in BENCHMARK_NAMES
                     for a, b, _ in read_word_pairs(benchmark_path(name)) for w in (a, b))


def _scores(itos: list[str], table: np.ndarray) -> dict[str, float]:
    """Each benchmark's rho and interval; only the rows of benchmark words are read (the
    same pairs, the same rho, ~50x fewer rows than the whole vocabulary)."""
    wanted = _benchmark_words()
    rows = [i for i, w in enumerate(itos) if w.lower() in wanted]
    words, sub = [itos[i] for i in rows], table[rows]
    out: dict[str, float] = {}
    for name in BENCHMARK_NAMES:
        score = word_similarity(words, sub, name)
        out.update({name: score.rho, f"{name}_low": score.low, f"{name}_high": score.high,
                    f"{name}_pairs": score.n_found})
    return out


def quality(itos: list[str], table: np.ndarray, n_tokens: int) -> dict[str, Any]:
    """The table's word-similarity scores, the training corpus size in tokens, and a warning
    under ``MIN_TOKENS`` (the too-little-text case)."""
    out: dict[str, Any] = {"n_tokens": int(n_tokens), "min_tokens": MIN_TOKENS,
                           **_scores(itos, table)}
    if n_tokens < MIN_TOKENS:
        out["warning"] = (f"word2vec trained on {n_tokens:,} tokens, under the {MIN_TOKENS:,} "
                          "below which its WordSim353 stayed near zero in our measurements: "
                          "its neighbourhoods are mostly noise")
    return out


class _Writer:
    """Snapshots, update counts and events of one word2vec run."""

    def __init__(self, store: RunStore, run_id: str, table: _Table, emit) -> None:
        self.store, self.run_id, self.table, self.emit = store, run_id, table, emit
        self.updates = np.zeros(len(table.start), dtype=np.int64)
        self.n_snapshots = 0

    def snapshot(self, epoch: int, step: int) -> None:
        idx = self.n_snapshots
        self.store.save_array(self.run_id, f"snapshots/updates_{idx:04d}", self.updates)
        self.store.add_snapshot(self.run_id, idx, epoch, step, self.table.now())
        self.updates = np.zeros_like(self.updates)
        self.n_snapshots += 1
        self.emit("snapshot", epoch, step, index=idx)


def _epoch(model, sentences, ids, config: TrainConfig, writer: _Writer, epoch: int,
           state: dict[str, Any], should_stop) -> dict[str, float]:
    """Train one epoch chunk by chunk; returns the epoch's numbers."""
    batch = effective_batch_size(config, len(sentences))
    total = config.epochs * len(sentences)
    loss, words, start, gensim_seconds = 0.0, 0, 0, 0.0
    steps = -(-len(sentences) // batch)
    for s in range(1, steps + 1):
        step = state["step"] + 1
        cut = s == steps or (config.snapshot_every and step % config.snapshot_every == 0)
        state["step"] = step
        if not cut:
            continue
        stop = min(len(sentences), s * batch)
        if should_stop is not None and should_stop():
            raise CancelledError("Training was cancelled.")
        done = state["texts"]
        a0 = config.lr - (config.lr - MIN_ALPHA) * done / total
        a1 = config.lr - (config.lr - MIN_ALPHA) * (done + stop - start) / total
        chunk = sentences[start:stop]
        t0 = time.perf_counter()
        trained, _ = model.train(chunk, total_examples=len(chunk), epochs=1, start_alpha=a0,
                                 end_alpha=a1, compute_loss=True)
        gensim_seconds += time.perf_counter() - t0  # the run's overhead is the rest
        loss += model.get_latest_training_loss()
        words += trained
        for rows in ids[start:stop]:
            writer.updates[rows] += 1
        state["texts"] = done + stop - start
        start = stop
        if s < steps:
            writer.snapshot(epoch, step)
    return {"train_loss": loss / max(words, 1), "step": state["step"], "words": words,
            "gensim_seconds": gensim_seconds}


def train_word2vec(dataset, prep, config: TrainConfig, store: RunStore, run_id: str,
                   emit: Callable[..., None], should_stop: Callable[[], bool] | None) -> None:
    """Train the run's table with word2vec and write it into the store as run ``run_id``
    (created and locked by ``trainer.train_run``, which dispatches here and reports the end).
    ``emit(kind, epoch, step, **data)`` reports progress as the trainer's events."""
    sentences, ids = _sentences(prep)
    with _quiet_gensim():
        model = _model(config, sentences, prep)
    table = _Table(_start(prep, config), prep.vocab.itos, model)
    info = _start_info(dataset, prep, config, store, len(table.rows))
    store.update_info(run_id, **info)
    _save_inputs(store, run_id, prep)
    writer = _Writer(store, run_id, table, emit)
    emit("start", 0, 0, **info, epochs=config.epochs)
    writer.snapshot(0, 0)
    state = {"step": 0, "texts": 0}
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        with _quiet_gensim():
            metrics = _epoch(model, sentences, ids, config, writer, epoch, state, should_stop)
        step = state["step"]
        if (config.snapshots == "all" or epoch == config.epochs
                or (config.snapshot_every and step % config.snapshot_every == 0)):
            writer.snapshot(epoch, step)
        metrics.update(_scores(prep.vocab.itos, table.now()),
                       seconds=time.perf_counter() - t0)
        store.add_epoch(run_id, epoch, metrics)
        emit("epoch", epoch, state["step"], **metrics)
    n_tokens = int(sum(len(s) for s in sentences))
    store.update_info(run_id, word2vec_quality=quality(prep.vocab.itos, table.now(), n_tokens))
    store.set_status(run_id, "done")


def _start_info(dataset, prep, config: TrainConfig, store: RunStore,
                n_trained: int) -> dict[str, Any]:
    """The run's info before training; refuses a run the disk cannot hold (StoreError)."""
    dim = int(prep.weights.shape[1])
    snapshots = planned_snapshot_count(config, len(prep.train_idx))
    size = RunSize(rows=len(prep.vocab), dim=dim, snapshots=snapshots, docs=0, doc_dim=0,
                   classes=0, texts=len(prep.lengths))
    warning = store.check_space(size)
    return {"n_train": int(len(prep.train_idx)), "n_val": int(len(prep.val_idx)),
            "vocab_size": len(prep.vocab), "dim": dim, "classes": list(dataset.classes),
            "pretrained_coverage": prep.coverage, "n_docs": 0,
            "n_in_pretrained": int(prep.in_pretrained.sum()), "objective": config.objective,
            "word2vec_untouched_rows": int(len(prep.vocab) - n_trained),
            "estimated_bytes": size.bytes, **({"size_warning": warning} if warning else {})}


def _save_inputs(store: RunStore, run_id: str, prep) -> None:
    """The vocabulary (with its class counts) and the split; no document sample: without a
    classifier there is no document vector to show."""
    vocab = prep.vocab.to_frame()
    vocab["in_pretrained"] = prep.in_pretrained
    store.save_frame(run_id, "vocab", vocab)
    store.save_array(run_id, "split_train", prep.train_idx)
    store.save_array(run_id, "split_val", prep.val_idx)
