"""The neighbour graph handed to UMAP (``precomputed_knn``): exact up to ``EXACT_MAX_WORDS``
rows, approximate above, where the exact graph's cost (every row against every row) grows
with the square of the words.

The approximate graph is an inverted-file search in numpy (BLAS matrix products, no numba):
the unit vectors are cut into about sqrt(n) cells by a few rounds of spherical k-means, and
each cell's rows are compared with the rows of the ``n_probe`` cells whose centres lie
nearest its own. pynndescent (what umap uses) was measured first: its search takes the
metric as an argument, which numba cannot cache, so every fresh worker process compiled it
again (176 s for 2,000 points in a second process, under load; bench/README.md).
"""
from __future__ import annotations

import numpy as np

from core.analysis.measures import nearest_neighbors, normalize_rows

EXACT_MAX_WORDS = 10_000  # rows above which the graph is approximate
N_PROBE = 8  # cells searched per cell
_KMEANS_ROUNDS = 6
_KMEANS_SAMPLE = 64  # rows sampled per cell to fit the centres


def _as_graph(unit: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """umap's precomputed form from each row's neighbours (self excluded, nearest first):
    (indices n x k int64 with the row itself first, cosine distances n x k float32)."""
    idx = np.hstack([np.arange(len(unit), dtype=np.int64)[:, None], others])
    dist = np.empty(idx.shape, dtype=np.float32)
    for a in range(0, len(unit), 4096):  # in blocks: rows x k x dims at once is large
        sims = np.einsum("nd,nkd->nk", unit[a: a + 4096], unit[idx[a: a + 4096]])
        dist[a: a + 4096] = np.clip(1.0 - sims, 0.0, 2.0)
    dist[:, 0] = 0.0
    return idx, dist


def _centres(unit: np.ndarray, n_cells: int, rng: np.random.Generator) -> np.ndarray:
    """Spherical k-means centres, fitted on a sample of the rows."""
    n = len(unit)
    sample = unit[rng.choice(n, size=min(n, n_cells * _KMEANS_SAMPLE), replace=False)]
    centres = sample[rng.choice(len(sample), size=n_cells, replace=False)].copy()
    for _ in range(_KMEANS_ROUNDS):
        cell = np.argmax(sample @ centres.T, axis=1)
        sums = np.zeros_like(centres)
        np.add.at(sums, cell, sample)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        empty = norms[:, 0] == 0  # a cell that lost every row restarts at a random row
        sums[empty] = sample[rng.choice(len(sample), size=int(empty.sum()))]
        centres = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return centres


def _search_cell(unit: np.ndarray, rows: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` nearest of ``candidates`` for each of ``rows`` (self excluded)."""
    sims = unit[rows] @ unit[candidates].T
    sims[rows[:, None] == candidates[None, :]] = -np.inf
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
    return candidates[np.take_along_axis(part, order, axis=1)]


def approximate_neighbours(x: np.ndarray, k: int, *, n_probe: int = N_PROBE,
                           seed: int = 0) -> np.ndarray:
    """Indices (n x k, int64) of each row's approximate ``k`` nearest rows by cosine,
    nearest first, self excluded (the form of ``measures.nearest_neighbors``)."""
    unit = normalize_rows(x).astype(np.float32)
    n = len(unit)
    if not 1 <= k < n:
        raise ValueError(f"k: must be in 1..{n - 1}, got {k}")
    rng = np.random.default_rng(seed)
    n_cells = max(1, int(np.sqrt(n)))
    centres = _centres(unit, n_cells, rng)
    cell = np.concatenate([np.argmax(unit[a: a + 8192] @ centres.T, axis=1)
                           for a in range(0, n, 8192)])
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(n_cells + 1))
    members = [order[bounds[c]: bounds[c + 1]] for c in range(n_cells)]
    probes = np.argsort(-(centres @ centres.T), axis=1)
    out = np.empty((n, k), dtype=np.int64)
    for c, rows in enumerate(members):
        if not len(rows):
            continue
        n_near = min(n_probe, n_cells)
        candidates = np.concatenate([members[p] for p in probes[c, :n_near]])
        while len(candidates) <= k:  # too few rows near this cell: widen the search
            n_near += 1
            candidates = np.concatenate([members[p] for p in probes[c, :n_near]])
        out[rows] = _search_cell(unit, rows, candidates, k)
    return out


def neighbour_graph(x: np.ndarray, k: int, *, exact_max: int = EXACT_MAX_WORDS,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest rows by cosine distance, itself first (distance 0), as umap's
    ``precomputed_knn`` expects: (indices n x k int64, distances n x k float32). Exact up to
    ``exact_max`` rows, approximate (``approximate_neighbours``) above."""
    unit = normalize_rows(x)
    if len(unit) <= exact_max:
        others = nearest_neighbors(unit, k - 1)
    else:
        others = approximate_neighbours(unit, k - 1, seed=seed)
    return _as_graph(unit, others)


def recall(approximate: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact neighbours (n x k indices) the approximate ones found."""
    hits = sum(len(np.intersect1d(a, e)) for a, e in zip(approximate, exact))
    return hits / exact.size
