"""Comparison measures between a learned embedding space and a pretrained one.

Pure functions over numpy arrays. "Row-aligned" means row ``i`` of every matrix belongs to
word ``i`` of the same word list; the two spaces may have different dimensions unless a
function says otherwise. Inputs are never modified (store snapshots are read-only).

Choices written down here because callers depend on them:

* Cosine similarity treats an all-zero row (e.g. ``<pad>``) as similarity 0 to everything.
  Pass only the rows you want compared.
* Neighbour lists exclude the word itself, are ordered nearest first and are computed in
  float32 blocks, so memory stays bounded (about 64 MiB of similarities at a time) for
  vocabularies of ~20k words.
* Drift aligns the *whole* matrix with one orthogonal Procrustes rotation, so when some words
  move, unchanged words can show a tiny non-zero drift: the rotation is a compromise.
* Word-similarity benchmarks skip pairs with an out-of-vocabulary word (or an all-zero
  vector) instead of scoring them as 0, and report how many pairs were found.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

BENCHMARKS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
_BLOCK_BYTES = 64 * 2**20


# ----------------------------------------------------------------------------- validation

def _matrix(X: np.ndarray, name: str) -> np.ndarray:
    """X as a non-empty, finite 2-D float64 array, or a ValueError naming ``name``."""
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D matrix, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name}: matrix is empty (shape {arr.shape})")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def _same_rows(A: np.ndarray, B: np.ndarray, name_a: str, name_b: str) -> None:
    if A.shape[0] != B.shape[0]:
        raise ValueError(
            f"{name_b}: has {B.shape[0]} rows but {name_a} has {A.shape[0]}; "
            "the matrices must be row-aligned to the same word list"
        )


def _same_shape(A: np.ndarray, B: np.ndarray, name_a: str, name_b: str) -> None:
    _same_rows(A, B, name_a, name_b)
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            f"{name_b}: has dimension {B.shape[1]} but {name_a} has {A.shape[1]}; "
            "Procrustes alignment needs the same dimension"
        )


def _check_k(k: int, n: int) -> None:
    if not 1 <= k <= n - 1:
        raise ValueError(f"k: must be between 1 and n - 1 = {n - 1} (n = {n} words), got {k}")


def _words(words: Sequence[str], n: int) -> list[str]:
    words = list(words)
    if len(words) != n:
        raise ValueError(f"words: has {len(words)} entries but the matrix has {n} rows")
    return words


# ----------------------------------------------------------------------------- neighbours

def normalize_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero. Returns a new float64 array."""
    from sklearn.preprocessing import normalize

    return normalize(_matrix(X, "X"))


def nearest_neighbors(X: np.ndarray, k: int = 10, *, block_size: int | None = None) -> np.ndarray:
    """Indices (n x k, int64) of each row's k nearest rows by cosine, nearest first, self excluded.

    Works on blocks of rows (``block_size``; default keeps a block of similarities near 64 MiB)
    so an n x n matrix is never materialised.
    """
    unit = normalize_rows(X).astype(np.float32)
    n = unit.shape[0]
    _check_k(k, n)
    if block_size is None:
        block_size = max(1, _BLOCK_BYTES // (4 * n))
    if block_size < 1:
        raise ValueError(f"block_size: must be at least 1, got {block_size}")
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        out[start:stop] = _top_k_block(unit, start, stop, k)
    return out


def _top_k_block(unit: np.ndarray, start: int, stop: int, k: int) -> np.ndarray:
    """Top-k neighbour indices for rows start..stop of unit-normalised ``unit``."""
    sims = unit[start:stop] @ unit.T
    rows = np.arange(stop - start)
    sims[rows, rows + start] = -np.inf  # a word is not its own neighbour
    n = sims.shape[1]
    part = np.argpartition(sims, n - k, axis=1)[:, n - k:]  # no negated copy: ~2x faster
    part_sims = np.take_along_axis(sims, part, axis=1)
    order = np.argsort(-part_sims, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def jaccard_at_k(nn_a: np.ndarray, nn_b: np.ndarray) -> np.ndarray:
    """Per-row Jaccard index (n,) of two neighbour-index tables (n x k each, no repeats in a row)."""
    nn_a, nn_b = np.asarray(nn_a), np.asarray(nn_b)
    if nn_a.ndim != 2 or nn_a.size == 0:
        raise ValueError(f"nn_a: expected a non-empty n x k index table, got shape {nn_a.shape}")
    if nn_b.shape != nn_a.shape:
        raise ValueError(f"nn_b: shape {nn_b.shape} differs from nn_a shape {nn_a.shape}")
    shared = (nn_a[:, :, None] == nn_b[:, None, :]).any(axis=2).sum(axis=1)
    k = nn_a.shape[1]
    return shared / (2 * k - shared)


def neighbor_changes(
    nn_before: np.ndarray, nn_after: np.ndarray, words: Sequence[str]
) -> tuple[list[list[str]], list[list[str]]]:
    """Per word, the neighbours gained (in ``after`` only, nearest first) and lost (in
    ``before`` only, in their old order), as word lists."""
    nn_before, nn_after = np.asarray(nn_before), np.asarray(nn_after)
    if nn_after.shape != nn_before.shape:
        raise ValueError(f"nn_after: shape {nn_after.shape} differs from nn_before {nn_before.shape}")
    words = _words(words, nn_before.shape[0])
    gained, lost = [], []
    for before, after in zip(nn_before.tolist(), nn_after.tolist()):
        b, a = set(before), set(after)
        gained.append([words[j] for j in after if j not in b])
        lost.append([words[j] for j in before if j not in a])
    return gained, lost


def mean_jaccard(A: np.ndarray, B: np.ndarray, k: int = 10) -> float:
    """Mean over words of Jaccard@k between the neighbour sets in row-aligned spaces A and B."""
    A, B = _matrix(A, "A"), _matrix(B, "B")
    _same_rows(A, B, "A", "B")
    return float(jaccard_at_k(nearest_neighbors(A, k), nearest_neighbors(B, k)).mean())


# ----------------------------------------------------------------------------- alignment

def procrustes_align(
    X: np.ndarray, Y: np.ndarray, *, scale: bool = False, center: bool = False,
    rows: tuple[np.ndarray, np.ndarray] | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate X onto Y by orthogonal Procrustes; returns (X_aligned, R).

    ``R`` is orthogonal (reflections allowed) with ``X @ R`` closest to ``Y``. With
    ``center`` both are centred first and X_aligned is moved to Y's centroid; with ``scale``
    X is also scaled uniformly by the least-squares factor (useful for 2-D projections).
    ``rows`` names the rows that correspond, as ``(x_rows, y_rows)`` or one index array for
    both: the transform is fitted on them and applied to every row of X, so X and Y may
    differ in length. Default: all rows, and X and Y have the same shape.
    """
    from scipy.linalg import orthogonal_procrustes

    X, Y = _matrix(X, "X"), _matrix(Y, "Y")
    if rows is None:
        _same_shape(X, Y, "X", "Y")
        Xf, Yf = X, Y
    else:
        x_rows, y_rows = rows if isinstance(rows, tuple) else (rows, rows)
        Xf, Yf = X[np.asarray(x_rows)], Y[np.asarray(y_rows)]
        _same_shape(Xf, Yf, "X rows", "Y rows")
    x_mean = Xf.mean(axis=0) if center else np.zeros(X.shape[1])
    y_mean = Yf.mean(axis=0) if center else np.zeros(Y.shape[1])
    R, singular_sum = orthogonal_procrustes(Xf - x_mean, Yf - y_mean)
    factor = 1.0
    if scale:
        denom = float(((Xf - x_mean) ** 2).sum())
        factor = singular_sum / denom if denom > 0 else 1.0
    return factor * ((X - x_mean) @ R) + y_mean, R


def cosine_distance_rows(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Row-wise cosine distance 1 - cos(x_i, y_i). Two zero rows count as unchanged (0);
    a zero row against a non-zero row counts as distance 1."""
    X, Y = _matrix(X, "X"), _matrix(Y, "Y")
    _same_shape(X, Y, "X", "Y")
    cos = (normalize_rows(X) * normalize_rows(Y)).sum(axis=1)
    both_zero = ~X.any(axis=1) & ~Y.any(axis=1)
    return np.where(both_zero, 0.0, 1.0 - np.clip(cos, -1.0, 1.0))


def drift(current: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per-word drift (n,) of ``current`` from ``reference`` (same shape): cosine distance
    after rotating the whole of ``current`` onto ``reference`` (orthogonal Procrustes)."""
    current, reference = _matrix(current, "current"), _matrix(reference, "reference")
    _same_shape(reference, current, "reference", "current")
    aligned, _ = procrustes_align(current, reference)
    return cosine_distance_rows(aligned, reference)


# ----------------------------------------------------------------------------- global

def linear_cka(X: np.ndarray, Y: np.ndarray) -> float:
    """Linear CKA between row-aligned X (n x d1) and Y (n x d2), columns centred.

    Uses the feature-space form ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F), which costs
    O(n d1 d2) rather than O(n^2). NaN when either space is constant.
    """
    X, Y = _matrix(X, "X"), _matrix(Y, "Y")
    _same_rows(X, Y, "X", "Y")
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    denom = np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y)
    if denom == 0:
        return float("nan")
    return float(np.linalg.norm(Y.T @ X) ** 2 / denom)


@dataclass(frozen=True)
class SimilarityScore:
    """Spearman correlation with a human word-similarity benchmark, its coverage, and its
    95 % interval (``low``, ``high``; NaN under 4 pairs)."""

    rho: float
    pvalue: float
    n_found: int
    n_total: int
    low: float = float("nan")
    high: float = float("nan")

    @property
    def reliable(self) -> bool:
        """Enough pairs (``MIN_RELIABLE_PAIRS``) to be worth drawing as a line."""
        return self.n_found >= MIN_RELIABLE_PAIRS and math.isfinite(self.rho)

    @property
    def coverage(self) -> float:
        return self.n_found / self.n_total if self.n_total else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "coverage": self.coverage}


# Below this many pairs a benchmark's rho is too uncertain to draw (the 95 % interval of
# rho = 0.3 from 30 pairs already spans -0.08 to 0.60).
MIN_RELIABLE_PAIRS = 30


def rho_interval(rho: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Interval for a Spearman rho from ``n`` pairs: Fisher's z with the Fieller-Hartley-
    Pearson standard error sqrt(1.06 / (n - 3)); (NaN, NaN) under 4 pairs or for a NaN rho."""
    if n < 4 or not math.isfinite(rho):
        return float("nan"), float("nan")
    from scipy import stats

    z = math.atanh(max(min(rho, 0.999999), -0.999999))
    half = stats.norm.ppf(0.5 + level / 2) * math.sqrt(1.06 / (n - 3))
    return math.tanh(z - half), math.tanh(z + half)


def mean_interval(mean: float, std: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval for the mean of ``n`` values with sample standard deviation
    ``std``; (NaN, NaN) for fewer than 2 values."""
    if n < 2 or not (math.isfinite(mean) and math.isfinite(std)):
        return float("nan"), float("nan")
    from scipy import stats

    half = stats.t.ppf(0.5 + level / 2, n - 1) * std / math.sqrt(n)
    return mean - half, mean + half


def benchmark_path(benchmark: str | Path) -> Path:
    """The file for a bundled benchmark name (``BENCHMARKS``) or a path in the same format."""
    if isinstance(benchmark, str) and benchmark in BENCHMARKS:
        from gensim.test.utils import datapath

        return Path(datapath(BENCHMARKS[benchmark]))
    path = Path(benchmark)
    if not path.is_file():
        raise ValueError(
            f"benchmark: {benchmark!r} is neither one of {sorted(BENCHMARKS)} nor an existing file"
        )
    return path


@lru_cache(maxsize=8)
def read_word_pairs(path: Path) -> tuple[tuple[str, str, float], ...]:
    """Pairs (word1, word2, score) from a tab-separated file; '#' comments and malformed
    lines are skipped. Words are lower-cased (our tokenizer lower-cases)."""
    pairs = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            fields = line.rstrip("\n").split("\t")
            if line.startswith("#") or len(fields) != 3:
                continue
            try:
                score = float(fields[2])
            except ValueError:
                continue
            pairs.append((fields[0].strip().lower(), fields[1].strip().lower(), score))
    return tuple(pairs)


@dataclass(frozen=True)
class BenchmarkPairs:
    """A benchmark's pairs found among some rows: row ``a[i]`` and ``b[i]``, human score
    ``gold[i]``; ``n_total`` pairs in the benchmark."""

    a: np.ndarray
    b: np.ndarray
    gold: np.ndarray
    n_total: int


def benchmark_pairs(words: Sequence[str], benchmark: str | Path = "wordsim353",
                    usable: np.ndarray | None = None) -> BenchmarkPairs:
    """Where a benchmark's pairs sit among ``words`` (matched case-insensitively, the first
    ``usable`` occurrence wins; ``usable`` None: every row). Found once per run, then scored
    on each snapshot with ``pair_similarity``: a few hundred dot products."""
    index: dict[str, int] = {}
    for i, w in enumerate(words):
        if usable is None or usable[i]:
            index.setdefault(w.lower(), i)
    pairs = read_word_pairs(benchmark_path(benchmark))
    found = [(index[a], index[b], s) for a, b, s in pairs if a in index and b in index]
    a, b, gold = (np.array(col) for col in zip(*found)) if found else (np.zeros(0, int),) * 3
    return BenchmarkPairs(a.astype(np.int64), b.astype(np.int64), gold.astype(float),
                          len(pairs))


def pair_similarity(matrix: np.ndarray, pairs: BenchmarkPairs, *,
                    min_pairs: int = 5) -> SimilarityScore:
    """Spearman rho between the cosines of ``pairs``' rows of ``matrix`` and their human
    scores; a pair with an all-zero row is skipped (not found). NaN under ``min_pairs``."""
    X = np.asarray(matrix, dtype=np.float64)
    va, vb = X[pairs.a], X[pairs.b]
    na, nb = np.linalg.norm(va, axis=1), np.linalg.norm(vb, axis=1)
    keep = (na > 0) & (nb > 0)
    n = int(keep.sum())
    if n < max(min_pairs, 2):
        return SimilarityScore(float("nan"), float("nan"), n, pairs.n_total)
    model = (va[keep] * vb[keep]).sum(axis=1) / (na[keep] * nb[keep])
    with warnings.catch_warnings():
        from scipy import stats

        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        rho, pvalue = stats.spearmanr(pairs.gold[keep], model)
    return SimilarityScore(float(rho), float(pvalue), n, pairs.n_total,
                           *rho_interval(float(rho), n))


def word_similarity(
    words: Sequence[str], matrix: np.ndarray, benchmark: str | Path = "wordsim353",
    *, min_pairs: int = 5,
) -> SimilarityScore:
    """Spearman rho between cosine similarities in (words, matrix) and a benchmark's scores.

    Out-of-vocabulary choice: pairs with a word missing from ``words`` (matched
    case-insensitively, first occurrence wins) or with an all-zero vector are skipped and
    reported through ``n_found`` / ``n_total``. rho and pvalue are NaN when fewer than
    ``min_pairs`` pairs are found or either side is constant.

    Not built on ``KeyedVectors.evaluate_word_pairs``: it raises when no pair is found,
    needs two pairs for its Pearson step, reports only an OOV percentage, and swaps the
    instance's ``key_to_index`` while it runs (unsafe on a KeyedVectors shared by sessions).
    On the pairs both find, the Spearman rho is the same (tested). For a KeyedVectors ``kv``
    pass ``kv.index_to_key, kv.vectors``.
    """
    X = _matrix(matrix, "matrix")
    pairs = benchmark_pairs(_words(words, X.shape[0]), benchmark, X.any(axis=1))
    return pair_similarity(X, pairs, min_pairs=min_pairs)


# ----------------------------------------------------------------------------- task signal

def log_odds_z(class_counts: np.ndarray, *, prior_strength: float | None = None) -> np.ndarray:
    """Per-word, per-class z-scores (V x C) of the log-odds ratio of one class vs the rest,
    with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, "Fightin' Words").

    The prior is the pooled counts, add-one smoothed so unseen words stay finite, scaled to a
    total of ``prior_strength`` pseudo-counts (default: the number of counted tokens).
    Positive z means the word is over-used in that class.
    """
    Y = _matrix(class_counts, "class_counts")
    if Y.shape[0] < 2 or Y.shape[1] < 2 or (Y < 0).any():
        raise ValueError(f"class_counts: need non-negative counts for >= 2 words and >= 2 classes, got shape {Y.shape}")
    alpha0 = float(Y.sum()) if prior_strength is None else float(prior_strength)
    if not alpha0 > 0:
        raise ValueError(f"prior_strength: must be > 0 (or counts must be non-zero), got {alpha0}")
    background = Y.sum(axis=1) + 1.0
    alpha = (alpha0 * background / background.sum())[:, None]
    n_class = Y.sum(axis=0)
    rest, n_rest = Y.sum(axis=1, keepdims=True) - Y, n_class.sum() - n_class

    def log_odds(y: np.ndarray, n: np.ndarray) -> np.ndarray:
        return np.log(y + alpha) - np.log(n + alpha0 - y - alpha)

    delta = log_odds(Y, n_class) - log_odds(rest, n_rest)
    return delta / np.sqrt(1.0 / (Y + alpha) + 1.0 / (rest + alpha))


def classifier_direction(output_weight: np.ndarray, dim: int, cls: int = 1) -> np.ndarray | None:
    """Unit one-vs-rest direction of class ``cls`` in a classifier's output layer W (C x h):
    W[cls] minus the mean of the other rows (the logit of ``cls`` against the others' mean;
    W[1] - W[0] for two classes). None when it is not a direction in the embedding space
    (C < 2 or h != ``dim``, e.g. a CNN/GRU whose hidden size differs from the embedding size)."""
    W = _matrix(output_weight, "output_weight")
    if W.shape[0] < 2 or W.shape[1] != dim:
        return None
    if not 0 <= cls < W.shape[0]:
        raise ValueError(f"cls: must be in [0, {W.shape[0] - 1}], got {cls}")
    direction = W[cls] - np.delete(W, cls, axis=0).mean(axis=0)
    norm = np.linalg.norm(direction)
    return direction / norm if norm > 0 else direction


def direction_projection(E: np.ndarray, output_weight: np.ndarray, cls: int = 1
                         ) -> np.ndarray | None:
    """Each word vector's projection (n,) on class ``cls``'s unit one-vs-rest output
    direction: positive leans to that class. None when the direction is unavailable (see
    ``classifier_direction``)."""
    E = _matrix(E, "E")
    direction = classifier_direction(output_weight, E.shape[1], cls)
    return None if direction is None else E @ direction


def _labels(labels: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ValueError(f"labels: expected {n} labels (one per row), got shape {y.shape}")
    if np.unique(y).size < 2:
        raise ValueError("labels: need at least two different classes")
    return y


def knn_accuracy(
    X: np.ndarray, labels: np.ndarray, *, k: int = 5, folds: int = 5, seed: int = 0
) -> float:
    """Mean stratified cross-validated accuracy of a cosine k-nearest-neighbour classifier
    predicting document labels from document vectors X. Folds are capped at the size of the
    smallest class."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    X = _matrix(X, "X")
    y = _labels(labels, X.shape[0])
    folds = min(folds, int(np.unique(y, return_counts=True)[1].min()))
    if folds < 2:
        raise ValueError("labels: every class needs at least 2 documents for cross-validation")
    max_k = X.shape[0] - math.ceil(X.shape[0] / folds)
    if not 1 <= k <= max_k:
        raise ValueError(f"k: must be between 1 and {max_k} (training-fold size), got {k}")
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    clf = KNeighborsClassifier(n_neighbors=k, metric="cosine")
    return float(cross_val_score(clf, X, y, cv=cv).mean())


def silhouette(
    X: np.ndarray, labels: np.ndarray, *, sample_size: int | None = 2000, seed: int = 0
) -> float:
    """Cosine silhouette score of labels in X, on a random sample of ``sample_size`` rows
    (None = all rows)."""
    from sklearn.metrics import silhouette_score

    X = _matrix(X, "X")
    y = _labels(labels, X.shape[0])
    if np.unique(y).size >= X.shape[0]:
        raise ValueError("labels: silhouette needs fewer classes than documents")
    size = None if sample_size is None or sample_size >= X.shape[0] else sample_size
    return float(silhouette_score(X, y, metric="cosine", sample_size=size, random_state=seed))
