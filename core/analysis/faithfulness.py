"""Faithfulness of a 2-D layout: sklearn's trustworthiness on a sample of rows, per frame
against its own vectors, against the final frame's (the borrowed-structure check) and
against the previous frame's (the lagging-behind check)."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from core.analysis.projection_config import ProjectionConfig


def trustworthiness_score(high: np.ndarray, low: np.ndarray, *, n_sample: int = 1000,
                          n_neighbors: int = 10, metric: str = "euclidean",
                          seed: int = 0) -> float:
    """sklearn trustworthiness in [0, 1] on a random sample of rows (cheap at ~1000 points)."""
    from sklearn.manifold import trustworthiness

    n = len(high)
    idx = np.arange(n)
    if n > n_sample:
        idx = np.sort(np.random.default_rng(seed).choice(n, n_sample, replace=False))
    k = min(n_neighbors, max(1, len(idx) // 2 - 1))
    return float(trustworthiness(np.asarray(high)[idx], np.asarray(low)[idx],
                                 n_neighbors=k, metric=metric))


def trust_sample_size(n_rows: int, cfg: ProjectionConfig | None = None) -> int:
    """How many rows each trustworthiness score is computed on (``trustworthiness_score``
    samples ``cfg.trust_sample`` of them when there are more)."""
    return min(int(n_rows), (cfg or ProjectionConfig()).trust_sample)


def trust_previous(frames: Sequence[np.ndarray], coords: Sequence[np.ndarray],
                   cfg: ProjectionConfig) -> tuple[float, ...]:
    """Trustworthiness of each frame's layout against the PREVIOUS frame's vectors (NaN for
    the first): the chain's real risk is lagging behind, not borrowing from the end."""
    return (math.nan,) + _trust_all(frames[:-1], coords[1:], cfg)


def _trust_all(frames: Sequence[np.ndarray], coords: Sequence[np.ndarray],
               cfg: ProjectionConfig) -> tuple[float, ...]:
    return tuple(trustworthiness_score(f, c, n_sample=cfg.trust_sample,
                                       n_neighbors=cfg.trust_neighbors, metric=cfg.metric,
                                       seed=cfg.random_state)
                 for f, c in zip(frames, coords))


def faithfulness(frames: Sequence[np.ndarray], coords: Sequence[np.ndarray],
                 cfg: ProjectionConfig) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Trustworthiness of every frame's layout against its own vectors and against the final
    frame's vectors (the borrowed-structure check)."""
    own = _trust_all(frames, coords, cfg)
    return own, _trust_all([frames[-1]] * len(coords), coords, cfg)
