"""The pretrained side of a run's views, fitted before the run ends.

The pretrained view (the evolution's words in GloVe) and the documents as the mean of their
GloVe vectors are each one projection of vectors that never change during a run, aligned at
the end onto the run's last learned frame. The fit (UMAP, seconds) depends only on those
vectors, so the engine computes it while the run trains (``core.jobs.engine``) and the
finished-run views (``core.runs.views``) only align it (milliseconds). The fit is cached under the run's
``cache/views/``, keyed by the vectors' bytes and the projection settings.
"""
from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np

from core.common.files import DiskCache
from core.store.runstore import RunStore


def cached_layout(store: RunStore, run_id: str, key: str, compute: Callable[[], np.ndarray],
                  cached_only: bool) -> np.ndarray | None:
    """One 2-D layout through the run's disk cache (``views/``); with ``cached_only``, None
    on a miss."""
    from core.runs.projections import read_layout, write_layout

    cache = DiskCache(store.cache_dir(run_id) / "views")
    hit = cache.get(key, read_layout)
    if hit is not None or cached_only:
        return hit
    return cache.get_or_compute(key, compute, write_layout, read_layout)


def fitted(store: RunStore, run_id: str, vectors: np.ndarray, config,
           cached_only: bool = False) -> np.ndarray | None:
    """The unaligned 2-D layout of ``vectors`` (``projection.project_static``), cached."""
    from core.analysis.projection import project_static
    from core.runs.projections import array_key

    digest = hashlib.sha256(np.ascontiguousarray(vectors).tobytes()).hexdigest()[:16]
    key = f"fit-{digest}-{array_key((), config)}"
    return cached_layout(store, run_id, key, lambda: project_static(vectors, config).coords[0],
                         cached_only)


def aligned(store: RunStore, run_id: str, vectors: np.ndarray, reference: np.ndarray, config,
            rows: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """``projection.project_pretrained``'s layout, its fit read from the cache (the engine's,
    made while the run trained) or made now."""
    from core.analysis.projection import project_pretrained

    fit = fitted(store, run_id, vectors, config)
    return project_pretrained(vectors, reference, config, rows, fit=fit).coords[0]
