"""Everything the dashboard draws for a run, computed off the page and cached on disk.

The engine process (core/jobs/engine.py) calls ``live_update`` as snapshots arrive and
``finalize`` once a run is done; pages call the readers (``latest_live``, ``evolution``,
``pretrained_view``, ``document_views``, ``comparison``) with ``cached_only=True``, so a page
load never runs UMAP. PCA (well under a second) is the preview while UMAP is not ready.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from core.common.files import DiskCache
from core.store.runstore import RunStore

LIVE_WORDS = 1000  # words in the live preview: small, so a refit per epoch stays ~1 s
LIVE_UNSEEN = 200
EVOLUTION_UNSEEN = 500
Progress = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class WordFrames:
    """Projected words: ``coords`` is T x n x 2 (one frame per snapshot)."""

    rows: np.ndarray
    words: list[str]
    coords: np.ndarray
    trust: tuple[float, ...]
    method: str


@dataclass(frozen=True, eq=False)
class LiveFrame:
    words: list[str]
    rows: np.ndarray
    coords: np.ndarray  # n x 2
    snapshot: int
    method: str


def _projection_config(method: str, n_words: int = 2000):
    from core.analysis.projection import ProjectionConfig

    return ProjectionConfig(method=method, n_words=n_words)


def _tokens(store: RunStore, run_id: str) -> list[str]:
    return store.load_vocab(run_id)["token"].astype(str).tolist()


# ------------------------------------------------------------------------------ live preview

def live_rows(store: RunStore, run_id: str) -> np.ndarray:
    """The live preview's words: the most frequent training words plus some never seen."""
    from core.analysis.projection import select_words

    if store.has_array(run_id, "cache/live_rows"):
        return np.asarray(store.load_array(run_id, "cache/live_rows", mmap=False))
    vocab = store.load_vocab(run_id)
    rows = select_words(vocab["count"].to_numpy(), vocab["train_count"].to_numpy(),
                        n_top=LIVE_WORDS, include_unseen=True,
                        in_pretrained=vocab["in_pretrained"].to_numpy(), max_unseen=LIVE_UNSEEN)
    store.save_array(run_id, "cache/live_rows", rows)
    return rows


def live_update(store: RunStore, run_id: str, idx: int, use_umap: bool) -> str:
    """Project snapshot ``idx`` for the live view, starting from the previous frame's layout
    so words glide rather than jump; returns the method used."""
    from core.analysis.projection import pca_frames, project_incremental

    rows = live_rows(store, run_id)
    x = np.asarray(store.load_snapshot(run_id, idx))[rows]
    method = "umap" if use_umap and len(rows) >= 20 else "pca"
    config = _projection_config(method)
    prev_name = f"cache/live_{idx - 1:04d}"
    if idx > 0 and store.has_array(run_id, prev_name):
        prev_x = np.asarray(store.load_snapshot(run_id, idx - 1))[rows]
        prev = np.asarray(store.load_array(run_id, prev_name, mmap=False))
        coords = project_incremental(prev, x, config, prev_snapshot=prev_x)
    elif method == "umap":
        from core.analysis.projection import project_static

        coords = project_static(x, config).coords[0]
    else:
        coords = pca_frames([x], config).coords[0]
    store.save_array(run_id, f"cache/live_{idx:04d}", np.asarray(coords, dtype=np.float32))
    return method


def latest_live(store: RunStore, run_id: str) -> LiveFrame | None:
    """The newest live frame written for this run, or None before the first one."""
    run = store.get_run(run_id)
    for snap in reversed(run.snapshots):
        name = f"cache/live_{snap['idx']:04d}"
        if store.has_array(run_id, name):
            rows = live_rows(store, run_id)
            tokens = _tokens(store, run_id)
            return LiveFrame([tokens[i] for i in rows], rows,
                             np.asarray(store.load_array(run_id, name, mmap=False)),
                             snap["idx"], run.info.get("live_method", "pca"))
    return None


# ------------------------------------------------------------------------- finished-run views

def evolution(store: RunStore, run_id: str, method: str = "umap",
              cached_only: bool = True, n_words: int = 2000,
              extra_words: tuple[str, ...] = ()) -> WordFrames | None:
    """Stable word positions over all snapshots (UMAP: one fit on the final snapshot, the
    others transformed). PCA is always computed on request: it takes about a second, so it
    also serves large views (``n_words`` up to 50,000) and words the user adds."""
    from core.runs.projections import project_run

    result = project_run(store, run_id, _projection_config(method, n_words),
                         max_unseen=EVOLUTION_UNSEEN, cached_only=cached_only and method != "pca",
                         extra_words=extra_words)
    if result is None:
        return None
    return WordFrames(result.rows, result.words, np.stack(result.coords), result.trust,
                      result.method)


def _pretrained_vectors(store: RunStore, run_id: str, words: list[str], against: str
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(vectors of the words the space has, their positions in ``words``)."""
    from core.runs.comparison import pretrained_space

    tokens = _tokens(store, run_id)
    space = pretrained_space(store, run_id, against, tokens)
    found = np.array([w in space.index for w in words])
    present = [w for w, f in zip(words, found) if f]
    vectors = space.rows_for(present) if present else np.zeros((0, 1))
    return np.asarray(vectors, dtype=np.float32), np.flatnonzero(found)


def pretrained_view(store: RunStore, run_id: str, method: str = "umap", against: str = "glove",
                    cached_only: bool = True) -> WordFrames | None:
    """The same words in the pretrained space, aligned (Procrustes with scaling on the shared
    words) to the final learned frame so a word sits in a comparable place in both pictures.
    Words the pretrained space lacks get NaN coordinates."""
    from core.analysis.projection import project_pretrained

    evo = evolution(store, run_id, method, cached_only)
    if evo is None:
        return None
    name = f"cache/pretrained_{against}_{method}_s{len(evo.coords)}"
    if store.has_array(run_id, name):
        coords = np.asarray(store.load_array(run_id, name, mmap=False))
    elif cached_only and method != "pca":
        return None
    else:
        vectors, where = _pretrained_vectors(store, run_id, evo.words, against)
        coords = np.full((len(evo.words), 2), np.nan, dtype=np.float32)
        if len(where) >= 3:
            proj = project_pretrained(vectors, evo.coords[-1], _projection_config(method),
                                      rows=(where, np.arange(len(where))))
            coords[where] = proj.coords[0]
        store.save_array(run_id, name, coords)
    return WordFrames(evo.rows, evo.words, coords[None], (), f"{against}:{method}")


@dataclass(frozen=True, eq=False)
class DocumentFrames:
    """Validation documents through the layer after the embedding (T x m x 2, one frame
    per snapshot) and the same documents as the mean of their pretrained word vectors."""

    docs: pd.DataFrame
    learned: np.ndarray
    pretrained: np.ndarray
    trust_learned: tuple[float, ...]
    method: str


def document_views(store: RunStore, run_id: str, method: str = "umap",
                   cached_only: bool = True) -> DocumentFrames | None:
    from core.runs.projections import cached_sequence

    run = store.get_run(run_id)
    docs = store.load_docs(run_id)
    if run.n_snapshots == 0 or len(docs) < 5:
        return None
    config = _projection_config(method)
    cache = DiskCache(store.cache_dir(run_id) / "documents")
    key = f"{run_id}-docs-s{run.n_snapshots}"
    name = f"cache/docs_pretrained_{method}_s{run.n_snapshots}"
    lazy = cached_only and method != "pca"
    if lazy and not store.has_array(run_id, name):
        return None
    frames = [np.asarray(store.load_docvecs(run_id, s["idx"])) for s in run.snapshots]
    learned = cached_sequence(cache, frames, config, key=key)
    if store.has_array(run_id, name):
        pre = np.asarray(store.load_array(run_id, name, mmap=False))
    else:
        pre = _mean_pretrained_docs(store, run_id, docs, learned.coords[-1], config)
        store.save_array(run_id, name, pre)
    return DocumentFrames(docs, learned.stacked, pre, learned.trust, method)


def _mean_pretrained_docs(store: RunStore, run_id: str, docs: pd.DataFrame,
                          reference: np.ndarray, config) -> np.ndarray:
    from core.analysis.projection import project_pretrained
    from core.runs.comparison import mean_vectors, pretrained_space

    space = pretrained_space(store, run_id, "glove", _tokens(store, run_id))
    vectors = mean_vectors(docs["text"].astype(str).tolist(), space).astype(np.float32)
    return np.asarray(project_pretrained(vectors, reference, config).coords[0])


def comparison(store: RunStore, run_id: str, cached_only: bool = True, progress=None):
    """The run's comparison with GloVe (core.runs.comparison defaults), or None if not computed."""
    from core.runs.comparison import CompareConfig, compare_run

    return compare_run(store, run_id, CompareConfig(), cached_only=cached_only,
                       progress=progress)


def finalize(store: RunStore, run_id: str, method: str = "umap",
             progress: Progress | None = None) -> dict[str, float]:
    """Compute and cache every finished-run view; records progress in the run's info."""
    steps = [("evolution", lambda: evolution(store, run_id, method, cached_only=False)),
             ("pretrained", lambda: pretrained_view(store, run_id, method, cached_only=False)),
             ("documents", lambda: document_views(store, run_id, method, cached_only=False)),
             ("comparison", lambda: comparison(store, run_id, cached_only=False))]
    seconds: dict[str, float] = {}
    store.update_info(run_id, views="computing", views_method=method)
    for name, step in steps:
        if progress is not None:
            progress(name)
        t0 = time.perf_counter()
        step()
        seconds[name] = round(time.perf_counter() - t0, 3)
        store.update_info(run_id, views_seconds=seconds)
    store.update_info(run_id, views="ready", views_seconds=seconds)
    return seconds


def views_state(store: RunStore, run_id: str) -> str:
    """'pending' | 'computing' | 'ready' | 'failed' for the finished-run views."""
    return str(store.get_run(run_id).info.get("views", "pending"))
