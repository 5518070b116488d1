"""Everything the dashboard draws for a run, computed off the page and cached on disk.

The engine process (core/jobs/engine.py) extends each run's evolution chain as snapshots
arrive (``core.runs.evolution``, which also serves the frames so far to the pages) and calls
``finalize`` once a run is done; pages call the readers (``evolution``, ``pretrained_view``,
``document_views``, ``comparison``) with ``cached_only=True``, so a page load never runs UMAP. PCA (well under a second) is the preview while UMAP is not ready.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from core.common.files import DiskCache
from core.errors import ExplorerError
from core.runs.static_fits import aligned, cached_layout
from core.store.runstore import RunStore

EVOLUTION_WORDS = 4500  # most frequent training words in the evolution, plus 500 never seen:
# 5,000 words, measured ready <= 10 s after a clickbait run ends (bench/README.md, Evolution)
Progress = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class WordFrames:
    """Projected words: ``coords`` is T x n x 2 (one frame per snapshot); per frame the
    trustworthiness against its own snapshot (``trust``), the final one (``trust_final``) and
    the previous one (``trust_previous``)."""

    rows: np.ndarray
    words: list[str]
    coords: np.ndarray
    trust: tuple[float, ...]
    method: str
    trust_final: tuple[float, ...] = ()
    trust_previous: tuple[float, ...] = ()


def projection_config(method: str, n_words: int = EVOLUTION_WORDS):
    from core.analysis.projection import ProjectionConfig

    return ProjectionConfig(method=method, n_words=n_words)


def _tokens(store: RunStore, run_id: str) -> list[str]:
    return store.load_vocab(run_id)["token"].astype(str).tolist()


# ------------------------------------------------------------------------- finished-run views

def evolution(store: RunStore, run_id: str, method: str = "umap",
              cached_only: bool = True, n_words: int = EVOLUTION_WORDS,
              extra_words: tuple[str, ...] = (), all_words: bool = False) -> WordFrames | None:
    """Word positions over all snapshots, each frame fitted on its own snapshot (the chain
    of ``core.runs.projections``). PCA is always computed on request: it takes about a
    second, so it also serves ``all_words`` (every vocabulary word, up to 50,000 training
    words). Words the user adds are placed among their neighbours in every frame."""
    from core.runs.projections import EVOLUTION_UNSEEN, project_run

    result = project_run(store, run_id, projection_config(method, n_words),
                         max_unseen=None if all_words else EVOLUTION_UNSEEN,
                         cached_only=cached_only and method != "pca", extra_words=extra_words)
    if result is None:
        return None
    return WordFrames(result.rows, result.words, np.stack(result.coords), result.trust,
                      result.method, result.trust_final, result.trust_previous)


def pretrained_vectors(store: RunStore, run_id: str, words: list[str], against: str
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
                    cached_only: bool = True,
                    n_words: int = EVOLUTION_WORDS) -> WordFrames | None:
    """The same words in the pretrained space, aligned (Procrustes with scaling on the shared
    words) to the final learned frame so a word sits in a comparable place in both pictures.
    Words the pretrained space lacks get NaN coordinates."""
    evo = evolution(store, run_id, method, cached_only, n_words=n_words)
    if evo is None:
        return None
    def compute() -> np.ndarray:
        vectors, where = pretrained_vectors(store, run_id, evo.words, against)
        coords = np.full((len(evo.words), 2), np.nan, dtype=np.float32)
        if len(where) >= 3:  # the fit is the engine's, made while the run trained
            coords[where] = aligned(store, run_id, vectors, evo.coords[-1],
                                    projection_config(method), (where, np.arange(len(where))))
        return coords
    space = hashlib.sha256(against.encode()).hexdigest()[:12]
    coords = cached_layout(store, run_id, f"pretrained-{space}-{method}-s{len(evo.coords)}"
                            f"-w{len(evo.words)}", compute, cached_only and method != "pca")
    if coords is None:
        return None
    return WordFrames(evo.rows, evo.words, np.asarray(coords)[None], (), f"{against}:{method}")


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
    if run.n_snapshots == 0 or documents_missing(store, run_id):
        return None
    docs = store.load_docs(run_id)
    if len(docs) < 5:
        return None
    config = projection_config(method)
    name = f"docs-pretrained-{method}-s{run.n_snapshots}"
    pre = cached_layout(store, run_id, name, None, True)  # read once, hit or miss
    if pre is None and cached_only and method != "pca":
        return None
    frames = [np.asarray(store.load_docvecs(run_id, s["idx"])) for s in run.snapshots]
    learned = cached_sequence(DiskCache(store.cache_dir(run_id) / "documents"), frames, config,
                              key=f"{run_id}-docs-s{run.n_snapshots}")
    if pre is None:
        pre = cached_layout(store, run_id, name, lambda: _mean_pretrained_docs(
            store, run_id, docs, learned.coords[-1], config), False)
    return DocumentFrames(docs, learned.stacked, np.asarray(pre), learned.trust, method)


def documents_missing(store: RunStore, run_id: str) -> str | None:
    """What the run lacks for its document views (a tracked run may give no documents, or no
    document vectors), or None."""
    run = store.get_run(run_id)
    if run.config.get("objective", "classify") != "classify":
        return (f"this run was trained by word2vec ({run.config['objective']}): it has no "
                "classifier, so no layer after the embedding to place documents in")
    if not store.run_dir(run_id).joinpath("docs.parquet").is_file():
        return "this run recorded no documents (texts with labels)"
    if not all(store.has_array(run_id, f"snapshots/doc_{s['idx']:04d}") for s in run.snapshots):
        return "this run did not record its documents' vectors at every snapshot"
    return None


def _mean_pretrained_docs(store: RunStore, run_id: str, docs: pd.DataFrame,
                          reference: np.ndarray, config) -> np.ndarray:
    return aligned(store, run_id, mean_glove(store, run_id, docs), reference, config)


def mean_glove(store: RunStore, run_id: str, docs: pd.DataFrame) -> np.ndarray:
    """The documents as the mean of their GloVe vectors (float32, as projected)."""
    from core.runs.comparison import mean_vectors, pretrained_space

    space = pretrained_space(store, run_id, "glove", _tokens(store, run_id))
    return mean_vectors(docs["text"].astype(str).tolist(), space).astype(np.float32)


def comparison(store: RunStore, run_id: str, cached_only: bool = True, progress=None,
               against: str = "glove"):
    """The run's comparison with GloVe, or with its own init vectors (``against="init"``;
    core.runs.comparison defaults otherwise), or None if not computed."""
    from core.runs.comparison import CompareConfig, compare_run

    return compare_run(store, run_id, CompareConfig(against=against), cached_only=cached_only,
                       progress=progress)


def _ensure_comparison(store: RunStore, run_id: str, against: str) -> None:
    from core.runs.comparison import CompareConfig, ensure_cached

    ensure_cached(store, run_id, CompareConfig(against=against))


def compares_with_init(store: RunStore, run_id: str) -> bool:
    """Runs that started from vectors of their own (word2vec on the texts, a user's file) are
    also compared with those, not only with GloVe."""
    return str(store.get_run(run_id).config.get("init")) not in ("random", "glove")


def finalize(store: RunStore, run_id: str, method: str = "umap",
             progress: Progress | None = None,
             n_words: int = EVOLUTION_WORDS) -> dict[str, float]:
    """Compute and cache every finished-run view; records progress in the run's info."""
    steps = [("evolution", lambda: evolution(store, run_id, method, cached_only=False,
                                             n_words=n_words)),
             ("pretrained", lambda: pretrained_view(store, run_id, method, cached_only=False,
                                                    n_words=n_words)),
             ("documents", lambda: document_views(store, run_id, method, cached_only=False)),
             ("comparison", lambda: _ensure_comparison(store, run_id, "glove"))]
    if compares_with_init(store, run_id):
        steps.append(("comparison_init", lambda: _ensure_comparison(store, run_id, "init")))
    seconds: dict[str, float] = {}
    store.update_info(run_id, views="computing", views_method=method)
    for name, step in steps:
        if progress is not None:
            progress(name)
        t0 = time.perf_counter()
        try:
            step()
        except ExplorerError as exc:  # e.g. a tracked run whose words GloVe lacks: the
            if not name.startswith("comparison"):  # other views still work without it
                raise
            store.update_info(run_id, **{f"{name}_error": str(exc)})
        seconds[name] = round(time.perf_counter() - t0, 3)
        store.update_info(run_id, views_seconds=seconds)
    store.update_info(run_id, views="ready", views_seconds=seconds)
    return seconds


def views_state(store: RunStore, run_id: str) -> str:
    """'pending' | 'computing' | 'ready' | 'failed' for the finished-run views."""
    return str(store.get_run(run_id).info.get("views", "pending"))
