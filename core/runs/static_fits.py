"""The pretrained side of a run's views, fitted before the run ends.

The pretrained view (the evolution's words in GloVe) and the documents as the mean of their
GloVe vectors are each one projection of vectors that never change during a run, aligned at
the end onto the run's last learned frame. The fit (UMAP, seconds) depends only on those
vectors, so the engine computes it while the run trains (``prepare``) and the finished-run
views (``core.runs.views``) only align it (milliseconds). The fit is cached under the run's
``cache/views/``, keyed by the vectors' bytes and the projection settings.
"""
from __future__ import annotations

import hashlib

import numpy as np

from core.store.runstore import RunStore


def fitted(store: RunStore, run_id: str, vectors: np.ndarray, config,
           cached_only: bool = False) -> np.ndarray | None:
    """The unaligned 2-D layout of ``vectors`` (``projection.project_static``), cached."""
    from core.analysis.projection import project_static
    from core.runs.projections import array_key
    from core.runs.views import _cached_layout

    digest = hashlib.sha256(np.ascontiguousarray(vectors).tobytes()).hexdigest()[:16]
    key = f"fit-{digest}-{array_key((), config)}"
    return _cached_layout(store, run_id, key, lambda: project_static(vectors, config).coords[0],
                          cached_only)


def aligned(store: RunStore, run_id: str, vectors: np.ndarray, reference: np.ndarray, config,
            rows: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """``projection.project_pretrained``'s layout, its fit read from the cache (the engine's,
    made while the run trained) or made now."""
    from core.analysis.projection import project_pretrained

    fit = fitted(store, run_id, vectors, config)
    return project_pretrained(vectors, reference, config, rows, fit=fit).coords[0]


def prepare(store: RunStore, run_id: str, method: str, n_words: int) -> None:
    """The engine's step while a run trains (once UMAP is warm): both pretrained fits."""
    from core.runs import views

    config = views._projection_config(method)
    rows, tokens = _evolution_words(store, run_id, n_words)
    vectors, _ = views._pretrained_vectors(store, run_id, [tokens[i] for i in rows], "glove")
    if len(vectors) >= 3:
        fitted(store, run_id, vectors, config)
    if views.documents_missing(store, run_id) is None:
        docs = store.load_docs(run_id)
        if len(docs) >= 5:
            fitted(store, run_id, views._mean_glove(store, run_id, docs), config)


def _evolution_words(store: RunStore, run_id: str, n_words: int):
    from core.runs.projections import evolution_rows

    return evolution_rows(store, run_id, n_words)
