"""The embedding layer as a lookup table: a text's row ids select rows of the matrix, which is
what ``one_hot(ids) @ matrix`` computes the long way. Pure maths over arrays (ids in, rows,
pooled vectors, the checked equality and the measured cost of both routes out).

Texts become tokens elsewhere (``core.data.text.tokenize``: this package may not import it);
``token_ids`` maps tokens to rows of any table's word list, ours or an imported one.
"""
from __future__ import annotations

import functools
import statistics
import threading
import time
import tracemalloc
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from core.analysis.measures import normalize_rows

ARCHS = ("bag", "cnn", "gru")
NEXT_LAYER = {"bag": "the mean of the rows (EmbeddingBag, mode 'mean')",
              "cnn": "a 1-D convolution over the sequence of rows",
              "gru": "a bidirectional GRU reading the sequence of rows"}
PAD_ID = 0  # the padding row: never part of a bag's mean (the model's padding_idx)
CHUNK_BYTES = 64 * 2**20  # the dense one-hot is built this many bytes at a time, at most
GLOVE_WORDS = 400_000  # GloVe 6B's vocabulary: the size the cost is also measured for
GLOVE_TEXT_TOKENS = 20  # the text length of that measurement (fixed: one cache entry per dim)


def _ids(ids: np.ndarray, n_rows: int) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.size == 0 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids: expected a non-empty 1-D integer array, got {ids.dtype} "
                         f"shape {ids.shape}")
    if ids.min() < 0 or ids.max() >= n_rows:
        raise ValueError(f"ids: every id must be in 0..{n_rows - 1} (the table's rows), got "
                         f"{int(ids.min())}..{int(ids.max())}")
    return ids.astype(np.int64, copy=False)


def token_ids(tokens: Sequence[str], itos: Sequence[str], unk: str = "<unk>") -> np.ndarray:
    """Row ids (int64) of ``tokens`` in a table whose row i is ``itos[i]``: a token without
    a row reads the ``unk`` row (as the model does), or gets -1 when the table has none
    (an imported table): -1 selects nothing. Our runs' ``Vocab.encode`` gives the same ids."""
    stoi = {token: i for i, token in enumerate(itos)}
    missing = stoi.get(unk, -1)
    return np.fromiter((stoi.get(token, missing) for token in tokens), dtype=np.int64,
                       count=len(tokens))


def one_hot(ids: np.ndarray, n_rows: int, dtype=np.float32) -> np.ndarray:
    """The dense (len(ids) x n_rows) one-hot matrix: row i is 1 at column ids[i], else 0."""
    ids = _ids(ids, n_rows)
    out = np.zeros((len(ids), n_rows), dtype=dtype)
    out[np.arange(len(ids)), ids] = 1
    return out


def lookup(ids: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The rows the ids select (len(ids) x dim): what an embedding layer does."""
    return np.asarray(matrix)[_ids(ids, len(matrix))]


def one_hot_product(ids: np.ndarray, matrix: np.ndarray,
                    chunk_bytes: int = CHUNK_BYTES) -> tuple[np.ndarray, int]:
    """``one_hot(ids) @ matrix`` as a dense product, the one-hot built and multiplied a few
    text positions at a time so no chunk exceeds ``chunk_bytes`` (a long text over a large
    vocabulary would not fit at once). Returns (result, number of chunks)."""
    matrix = np.asarray(matrix)
    ids = _ids(ids, len(matrix))
    per_row = len(matrix) * matrix.dtype.itemsize
    step = max(1, int(chunk_bytes) // per_row)
    parts = [one_hot(ids[i:i + step], len(matrix), matrix.dtype) @ matrix
             for i in range(0, len(ids), step)]
    return np.concatenate(parts), len(parts)


def pooled(ids: np.ndarray, rows: np.ndarray, arch: str) -> np.ndarray | None:
    """The vector the layer after the embedding receives as one vector: for ``bag`` the mean
    of the rows (padding left out, as the model's EmbeddingBag does); None for ``cnn`` and
    ``gru``, whose next layer reads the sequence of rows itself."""
    if arch not in ARCHS:
        raise ValueError(f"arch: must be one of {ARCHS}, got {arch!r}")
    if arch != "bag":
        return None
    keep = np.asarray(ids) != PAD_ID
    return rows[keep].mean(axis=0) if keep.any() else np.zeros(rows.shape[1], rows.dtype)


@dataclass(frozen=True)
class Equality:
    """How the lookup and the one-hot product compare: ``exact`` (bit for bit), ``close``
    (np.allclose), the largest absolute difference, and how many chunks the product took."""

    exact: bool
    close: bool
    max_abs_diff: float
    chunks: int


def check_equal(ids: np.ndarray, matrix: np.ndarray) -> Equality:
    """Compute both routes and compare them."""
    rows = lookup(ids, matrix)
    product, chunks = one_hot_product(ids, matrix)
    diff = float(np.max(np.abs(rows.astype(np.float64) - product))) if rows.size else 0.0
    return Equality(bool(np.array_equal(rows, product)), bool(np.allclose(rows, product)),
                    diff, chunks)


@dataclass(frozen=True)
class Cost:
    """Measured cost of both routes for one table: medians over repeats (seconds), the
    input each route needs (index vector vs dense one-hot, bytes) and the peak memory each
    allocated while running (tracemalloc, bytes; the product's includes its one-hot)."""

    n_rows: int
    n_tokens: int
    dim: int
    lookup_seconds: float
    product_seconds: float
    index_bytes: int
    one_hot_bytes: int
    lookup_peak_bytes: int
    product_peak_bytes: int

    @property
    def ratio(self) -> float:
        """How many times slower the one-hot product is."""
        return self.product_seconds / max(self.lookup_seconds, 1e-12)


def _median_seconds(fn: Callable[[], object], repeats: int, number: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def _peak_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes traced while ``fn`` runs (numpy reports its buffers to tracemalloc)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    if not was_tracing:
        tracemalloc.stop()
    return max(int(peak), 0)


def measure(ids: np.ndarray, matrix: np.ndarray, repeats: int = 7) -> Cost:
    """Time (median of ``repeats``) and memory of the lookup and of the dense one-hot
    product, both starting from the ids (the product's time includes building its one-hot).
    The lookup is timed over enough calls per repeat to rise above the clock's resolution.
    Both run on one thread: the lookup has no other, and on a busy 2-core machine a
    two-thread BLAS product measured 1-3x slower and far noisier than a one-thread one."""
    from threadpoolctl import threadpool_limits  # scikit-learn's dependency

    matrix = np.asarray(matrix)
    ids = _ids(ids, len(matrix))
    run_lookup = functools.partial(lookup, ids, matrix)
    run_product = functools.partial(one_hot_product, ids, matrix)
    with threadpool_limits(limits=1):
        run_product()  # first touch of the table's pages is not part of either route
        return Cost(n_rows=len(matrix), n_tokens=len(ids), dim=int(matrix.shape[1]),
                    lookup_seconds=_median_seconds(run_lookup, repeats, number=200),
                    product_seconds=_median_seconds(run_product, repeats, number=1),
                    index_bytes=int(ids.nbytes),
                    one_hot_bytes=len(ids) * len(matrix) * matrix.dtype.itemsize,
                    lookup_peak_bytes=_peak_bytes(run_lookup),
                    product_peak_bytes=_peak_bytes(run_product))


_LARGE = threading.Lock()


def measure_large(dim: int, n_rows: int = GLOVE_WORDS, n_tokens: int = GLOVE_TEXT_TOKENS,
                  seed: int = 0, repeats: int = 5) -> Cost:
    """``measure`` on a random (n_rows x dim) float32 table and a random ``n_tokens``-token
    text: the cost for a GloVe-sized vocabulary. Cached per process (the same for every run
    of that dimension); the table is dropped once measured. One at a time: two sessions
    opening the page together would each build the 80 MB table and time each other."""
    with _LARGE:
        return _measure_large(dim, n_rows, n_tokens, seed, repeats)


@functools.lru_cache(maxsize=4)
def _measure_large(dim: int, n_rows: int, n_tokens: int, seed: int, repeats: int) -> Cost:
    rng = np.random.default_rng(seed)
    table = rng.standard_normal((n_rows, dim), dtype=np.float32)
    return measure(rng.integers(2, n_rows, n_tokens), table, repeats=repeats)


def nearest_rows(matrix: np.ndarray, row: int, k: int = 8, skip: tuple[int, ...] = ()
                 ) -> np.ndarray:
    """The ``k`` rows nearest ``row`` by cosine, nearest first, leaving out the row itself
    and the rows in ``skip`` (e.g. padding and <unk>): one query row against the table."""
    unit = normalize_rows(np.asarray(matrix, dtype=np.float32))
    sims = unit @ unit[int(row)]
    sims[[int(row), *skip]] = -np.inf
    k = min(int(k), int(np.isfinite(sims).sum()))
    top = np.argpartition(-sims, k - 1)[:k] if k > 0 else np.array([], dtype=np.int64)
    return top[np.argsort(-sims[top], kind="stable")]
