"""The neighbour graph for UMAP: exact below the threshold, approximate above, and a layout
built on the approximate graph as faithful as one built on the exact graph."""
from __future__ import annotations

import numpy as np
import pytest

from core.analysis import knn, projection, umap_runtime
from core.analysis.faithfulness import trustworthiness_score
from core.analysis.measures import nearest_neighbors


def _clusters(n: int, d: int = 24, n_clusters: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, d))
    return (centres[rng.integers(0, n_clusters, n)] + rng.normal(scale=0.7, size=(n, d))
            ).astype(np.float32)


def test_approximate_neighbours_find_most_exact_neighbours():
    x = _clusters(2000)
    exact = nearest_neighbors(x, 10)
    approx = knn.approximate_neighbours(x, 10)
    assert approx.shape == exact.shape and approx.dtype == np.int64
    assert not (approx == np.arange(len(x))[:, None]).any()  # never itself
    assert knn.recall(approx, exact) > 0.9
    assert knn.recall(approx[:, ::-1], exact) == knn.recall(approx, exact)
    # a query's first neighbour is the nearest it found
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = np.einsum("nd,nkd->nk", unit, unit[approx])
    assert (np.diff(sims, axis=1) <= 1e-6).all()


def test_graph_is_exact_below_the_threshold_and_in_umaps_form(monkeypatch):
    x = _clusters(400)
    idx, dist = knn.neighbour_graph(x, 8)
    assert np.array_equal(idx[:, 0], np.arange(400)) and (dist[:, 0] == 0).all()
    assert np.array_equal(idx[:, 1:], nearest_neighbors(x, 7))
    assert dist.dtype == np.float32 and (np.diff(dist, axis=1) >= -1e-6).all()
    calls = []
    monkeypatch.setattr(knn, "approximate_neighbours",
                        lambda v, k, seed: calls.append(len(v)) or nearest_neighbors(v, k))
    knn.neighbour_graph(x, 8, exact_max=400)
    assert calls == []
    knn.neighbour_graph(x, 8, exact_max=399)
    assert calls == [400]


def test_too_large_k_is_refused():
    with pytest.raises(ValueError, match="k: must be in 1..9"):
        knn.approximate_neighbours(_clusters(10), 10)


def test_layout_on_the_approximate_graph_is_as_trustworthy_as_on_the_exact(monkeypatch):
    """The wiring the projection will use (its exact graph replaced by ``neighbour_graph``
    forced approximate): trustworthiness within 0.02 of the exact graph's layout."""
    x = _clusters(1500, d=32, n_clusters=60, seed=1)
    cfg = projection.ProjectionConfig(n_epochs=60)
    exact_layout = projection.first_layout(x, cfg)
    monkeypatch.setattr(umap_runtime, "neighbour_graph",
                        lambda v, k: knn.neighbour_graph(v, k, exact_max=0))
    approx_layout = projection.first_layout(x, cfg)
    assert not np.allclose(exact_layout, approx_layout)  # the graph did change
    score = [trustworthiness_score(x, layout, metric="cosine")
             for layout in (exact_layout, approx_layout)]
    assert score[0] > 0.8
    assert score[1] >= score[0] - 0.02, score


def test_below_the_threshold_the_graph_is_exact():
    """Up to ``EXACT_MAX_WORDS`` the projection's graph is every row's true cosine
    neighbours (brute force here), so today's layouts are unchanged."""
    x = _clusters(600)
    idx, dist = knn.neighbour_graph(x, 15)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, np.inf)  # itself first
    brute = np.argsort(-sims, axis=1, kind="stable")[:, :15]
    assert np.array_equal(idx, brute)
    assert np.allclose(dist, np.clip(1.0 - np.take_along_axis(sims, brute, axis=1), 0, 2)
                       * (brute != np.arange(600)[:, None]), atol=1e-5)
