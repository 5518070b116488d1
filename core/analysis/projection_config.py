"""The projection's settings and result: ``ProjectionConfig`` (validated once, its text form
keys the caches) and ``Projection`` (coordinates per frame and their faithfulness)."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from core.common.checks import bounded, check_choice, check_fields

METHODS = ("umap", "pca")
METRICS = ("cosine", "euclidean", "correlation", "manhattan")
# Live refits start from the previous layout; umap's default learning rate 1.0 shuffles it
# (cluster centroids moved 13 % of the extent on a 200-point test, 7 % at 0.25, trust equal):
# ProjectionConfig.live_learning_rate defaults to 0.25.


@dataclass(frozen=True)
class ProjectionConfig:
    """Settings of one projection."""

    method: str = "umap"  # "umap" | "pca"
    n_neighbors: int = bounded(15, 2, 200)
    min_dist: float = bounded(0.1, 0.0, 1.0)
    metric: str = "cosine"  # one of METRICS
    # fixed so the same input gives the same picture
    random_state: int = bounded(42, 0, 2**31 - 1)
    n_words: int = bounded(2000, 10, 50_000)  # words projected by default (see select_words)
    # epochs of a full fit (a chain's first frame); None lets umap choose: 500 below 10,000
    # points, 2.3x the time of 200 for +0.01 trustworthiness at 5,000 (bench/README.md)
    n_epochs: int | None = bounded(200, 10, 2000, optional=True)
    live_epochs: int = bounded(30, 5, 500)  # epochs of each chained (init-from-previous) refit
    live_learning_rate: float = bounded(0.25, 0.01, 1.0)  # of that refit (see above)
    trust_sample: int = bounded(1000, 50, 20_000)  # points used for the trustworthiness score
    trust_neighbors: int = bounded(10, 1, 100)

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        check_choice("metric", self.metric, METRICS)
        check_fields(self)

    def key(self) -> str:
        """Stable text form of the settings, used in cache keys."""
        return json.dumps(self.__dict__, sort_keys=True)


@dataclass(frozen=True)
class Projection:
    """Coordinates per frame (each n x 2 float32), seconds taken, and per frame the
    trustworthiness of the layout against that frame's own vectors (``trust``) and against the
    final frame's vectors (``trust_final``): a frame closer to the final vectors than to its
    own borrows structure it does not have yet; and against the previous frame's vectors
    (``trust_previous``, NaN for the first): a chained frame closer to its predecessor than
    to its own lags behind. Each is computed on a sample of rows
    (``faithfulness.trust_sample_size``)."""

    coords: tuple[np.ndarray, ...]
    trust: tuple[float, ...]
    seconds: float
    method: str
    trust_final: tuple[float, ...] = ()
    trust_previous: tuple[float, ...] = ()

    def borrowed(self, tolerance: float = 0.0) -> list[int]:
        """Frames whose layout is more faithful to the final vectors than to their own."""
        return [i for i, (own, final) in enumerate(zip(self.trust, self.trust_final))
                if final > own + tolerance]

    @property
    def stacked(self) -> np.ndarray:
        """All frames as one (T, n, 2) array."""
        return np.stack(self.coords)

