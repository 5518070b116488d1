"""The bundled sample (sample_data/sample.csv) as token ids, shared by the two examples: a
vocabulary built the way Keras's TextVectorization builds one ("" for padding at row 0,
"[UNK]" at row 1, then words by frequency), a fixed train/validation split and the counts the
explorer can use (optional: a tracked run works without them)."""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout: `core` is importable without installing

from core.data.loading import load_dataset  # noqa: E402  (after the path tweak)
from core.data.text import tokenize  # noqa: E402

SAMPLE = REPO / "sample_data" / "sample.csv"


@dataclass
class Sample:
    vocabulary: list[str]
    ids: np.ndarray  # texts x max_len, 0-padded
    labels: np.ndarray
    classes: list[str]
    texts: list[str]
    train: np.ndarray  # row indices
    val: np.ndarray
    counts: np.ndarray  # per vocabulary row, occurrences in training texts
    class_counts: np.ndarray  # rows x classes, in training texts


def load(max_len: int = 24, seed: int = 0) -> Sample:
    dataset = load_dataset(SAMPLE)  # classes sorted, labels their codes
    texts, classes = list(dataset.texts), list(dataset.classes)
    labels = np.array(dataset.labels)  # writable: torch.from_numpy warns on a read-only one
    order = np.random.default_rng(seed).permutation(len(texts))
    train, val = np.sort(order[: int(0.8 * len(texts))]), np.sort(order[int(0.8 * len(texts)):])
    tokens = [tokenize(t)[:max_len] for t in texts]
    freq = Counter(t for i in train for t in tokens[i])
    vocabulary = ["", "[UNK]"] + [w for w, _ in sorted(freq.items(), key=lambda x: (-x[1], x[0]))]
    index = {w: i for i, w in enumerate(vocabulary)}
    ids = np.zeros((len(texts), max_len), dtype=np.int64)
    for i, toks in enumerate(tokens):
        ids[i, : len(toks)] = [index.get(t, 1) for t in toks]
    class_counts = np.zeros((len(vocabulary), len(classes)), dtype=np.int64)
    for i in train:
        np.add.at(class_counts[:, labels[i]], ids[i][ids[i] > 0], 1)
    return Sample(vocabulary, ids, labels, classes, texts, train, val,
                  class_counts.sum(axis=1), class_counts)
