"""Preparation: everything derived from the data before a run's first update (the split, the
vocabulary, the texts' row ids and the step-0 lookup table)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from core.data.text import Vocab, VocabConfig, corpus_coverage, tokenize
from core.training.config import TrainConfig
from core.training.corpus import TokenisedCorpus, from_tokens
from core.training.split import split_indices

RANDOM_INIT_STD = 0.3  # close to GloVe 6B 50d's per-component spread, so inits are comparable


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

    def bag_input(self, batch_size: int):
        """The bag's flat input (``bag.FlatTexts``: every text's ids in memory)."""
        from core.training.bag import FlatTexts
        return FlatTexts(self.flat, self.lengths)

    def epoch_order(self, generator, batch_size: int):
        """One epoch's training rows, shuffled (a torch tensor)."""
        import torch
        train_idx = torch.from_numpy(self.train_idx)
        return train_idx[torch.randperm(len(train_idx), generator=generator)]

    @functools.cached_property
    def n_unseen(self) -> np.ndarray:
        """Per text, how many of its tokens never occur in a training text (the document
        sample and the validation predictions both record it)."""
        text_of = np.repeat(np.arange(len(self.lengths)), self.lengths)
        unseen = ~self.vocab.seen_in_training[self.flat]
        return np.bincount(text_of, weights=unseen, minlength=len(self.lengths)).astype(np.int64)


def prepare(dataset, config: TrainConfig, *, split: tuple[np.ndarray, np.ndarray] | None = None,
            tokens: list[list[str]] | None = None, doc_idx: np.ndarray | None = None,
            corpus: TokenisedCorpus | None = None, init_vectors=None,
            report_idx: np.ndarray | None = None,
            stage: Callable[..., None] | None = None) -> Prepared:
    """Split, build the vocabulary and the initial embedding matrix from the tokenised
    ``corpus`` (``train_run`` reads it from the store's cache); without one, the ``tokens``
    given, or the texts tokenised now.

    Experiments pass their own fixed ``split`` (train rows, validation rows), their tokens or
    corpus and the validation ``doc_idx`` to keep, so runs share them, and the validation
    rows held apart for reporting (``report_idx``, a subset of the validation rows).
    ``stage(name)`` is told as each step begins (``core.training.progress.STAGES``)."""
    stage = stage or (lambda name, fraction=None: None)
    labels = np.asarray(dataset.labels)
    if corpus is None:
        corpus = from_tokens(tokens if tokens is not None else [tokenize(t) for t in dataset.texts])
    stage("vocabulary")
    train_idx, val_idx = split if split is not None else split_indices(labels, config)
    train_mask = np.zeros(len(labels), dtype=bool)
    train_mask[train_idx] = True
    vocab, rows = Vocab.from_corpus(corpus.corpus, train_mask, labels, len(dataset.classes),
                                    VocabConfig(min_count=config.min_count,
                                                max_size=config.max_vocab))
    flat, lengths = _clipped(rows, corpus.corpus.offsets, config.max_len)
    stage("pretrained")
    weights, found, cov = initial_weights(vocab, corpus, train_idx, config, init_vectors)
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
                    config: TrainConfig, init_vectors=None
                    ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """The step-0 lookup table, which rows came from pretrained vectors, and coverage.
    GloVe's part comes from the corpus (its vectors for the corpus's words);
    ``init_vectors``: the KeyedVectors of an ``init="run:<id>"`` (``run_init``)."""
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
        elif init_vectors is not None:
            kv = init_vectors
        else:
            kv = pretrained.load_pretrained(Path(config.init), words=vocab.itos)
        weights, found = pretrained.init_matrix(vocab.itos, kv, dim=kv.vector_size,
                                                seed=config.seed)
    known = (corpus.glove_found if kv is None else
             np.array([t in kv.key_to_index for t in corpus.corpus.types], dtype=bool))
    cov = corpus_coverage(corpus.corpus, known)
    return weights, found, {"token_share": float(cov.token_share),
                            "vocab_share": float(cov.vocab_share)}
