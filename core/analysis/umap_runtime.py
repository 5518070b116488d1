"""The UMAP runtime: numba's compile cache (so a new process does not compile umap again),
the warm-up that fills it, and one UMAP fit on the neighbour graph of ``core.analysis.knn``.

Nothing here imports ``umap`` at module import time (it costs ~20 s cold): every UMAP use
imports it lazily, and a server calls ``configure_numba_cache`` then ``warm_up`` once, in the
background, at start."""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.analysis.knn import neighbour_graph
from core.analysis.projection_config import ProjectionConfig

# Below 4096 rows umap defaults to exact neighbours, whose transform is very slow for us (16k
# points onto a 2k fit: 77 s vs 1.8 s, fit 24 s vs 2.8 s; bench/README.md). We always force the
# approximate (pynndescent) path: faster, and one compiled code path for every size.
FORCE_APPROXIMATION = True
DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "numba"


@dataclass(frozen=True)
class WarmUpReport:
    seconds_import: float
    seconds_fit: float
    numba_cache_dir: str | None = field(default=None)


# --------------------------------------------------------------------------- numba / warm-up


def configure_numba_cache(path: Path | str | None = None) -> Path:
    """Point numba's on-disk cache at ``path`` (default: ``$NUMBA_CACHE_DIR`` if set, else
    ``<repo>/.cache/numba``) and make every function compiled from now on cacheable there.

    umap-learn declares one of its ~130 numba functions with ``cache=True``, so each new
    process compiled the rest again (30-60 s on these machines, the cold-start wait). Before
    ``umap`` is imported, ``numba.njit``/``numba.jit`` are wrapped to default to
    ``cache=True``; functions numba cannot cache (closures, first-class function arguments)
    are compiled as before. Must run before ``umap`` is imported to take full effect; if numba
    is already loaded its configuration is re-read.
    """
    folder = Path(path or os.environ.get("NUMBA_CACHE_DIR") or DEFAULT_CACHE_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    import sys

    import numba

    numba.core.config.reload_config()
    if "umap" not in sys.modules and not getattr(numba.njit, "_cached_by_default", False):
        for name in ("njit", "jit"):
            setattr(numba, name, _cache_by_default(getattr(numba, name)))
    return folder


def _cache_by_default(decorator):
    def wrapped(*args, **kwargs):
        kwargs.setdefault("cache", True)
        return decorator(*args, **kwargs)
    wrapped._cached_by_default = True
    return wrapped


def warm_up(metric: str = "cosine", seed: int = 0) -> WarmUpReport:
    """Import umap and run a tiny fit and an init-from-layout refit (the two fits a chained
    evolution makes), so numba compiles once, up front, into the cache (``make`` runs this
    at install time, so a fresh server only loads it)."""
    t0 = time.perf_counter()
    import umap  # noqa: F401  (the import itself is a large part of the cost)

    t1 = time.perf_counter()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(128, 8)).astype(np.float32)
    cfg = ProjectionConfig(n_neighbors=10, metric=metric, n_epochs=10, live_epochs=5)
    model = fit_umap(x, cfg)
    fit_umap(x, cfg, init=np.asarray(model.embedding_), n_epochs=5,
              learning_rate=cfg.live_learning_rate)
    return WarmUpReport(t1 - t0, time.perf_counter() - t1, os.environ.get("NUMBA_CACHE_DIR"))


def umap_kwargs(cfg: ProjectionConfig, n: int) -> dict:
    return dict(
        n_neighbors=min(cfg.n_neighbors, n - 1),
        min_dist=cfg.min_dist,
        metric=cfg.metric,
        random_state=cfg.random_state,
        n_components=2,
        force_approximation_algorithm=FORCE_APPROXIMATION,
    )


def fit_umap(x: np.ndarray, cfg: ProjectionConfig, init: np.ndarray | str = "spectral",
              n_epochs: int | None = None, learning_rate: float = 1.0,
              exact: bool = True):
    """One UMAP fit; returns the fitted model (``embedding_`` holds the layout).

    With the cosine metric the neighbour graph is computed here (``knn.neighbour_graph``: exact
    up to 10,000 rows, approximate above) and handed to umap:
    pynndescent's neighbour search is a numba function that takes the metric as an argument,
    which numba cannot cache, so it cost every new process ~30 s of compiling. (Fitted models
    then cannot ``transform``; the chained evolution never needs to.)"""
    import umap

    kwargs = umap_kwargs(cfg, len(x))
    if exact and cfg.metric == "cosine":
        kwargs["precomputed_knn"] = neighbour_graph(x, kwargs["n_neighbors"])
    model = umap.UMAP(**kwargs, init=init, n_jobs=1, learning_rate=learning_rate,
                      n_epochs=n_epochs if n_epochs is not None else cfg.n_epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap warns about n_jobs/random_state and init noise
        model.fit(x)
    return model
