"""The evolution service: one place that serves a run's evolution "so far" to the engine
(which extends it as snapshots arrive), the Train page's live map (its newest frame) and
the Evolution page (every frame so far, then the finished run's scored sequence).

Every frame comes from the one chain (``core.runs.projections.chain_frames`` over
``core.analysis.projection.chain_layouts``): frame t is fitted on snapshot t, starting from
frame t-1, and cached as it is computed, so the finished run's evolution reuses the frames
the live map showed. Pages never choose between the cache and PCA: ``frames_so_far`` does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.runs.views import EVOLUTION_WORDS, WordFrames, evolution
from core.store.records import LIVE
from core.store.runstore import RunStore


def _config(method: str, n_words: int = EVOLUTION_WORDS):
    from core.analysis.projection_config import ProjectionConfig

    return ProjectionConfig(method=method, n_words=n_words)


@dataclass(frozen=True, eq=False)
class LiveFrame:
    """The newest frame of a run's chain: n x 2 ``coords`` of ``words`` at ``snapshot``."""

    words: list[str]
    rows: np.ndarray
    coords: np.ndarray
    snapshot: int
    method: str


def extend(store: RunStore, run_id: str, idx: int, use_umap: bool,
           n_words: int = EVOLUTION_WORDS) -> str:
    """The engine's step: bring the run's chain up to snapshot ``idx`` (UMAP once warm, PCA
    before); returns the method used."""
    from core.runs.projections import chain_frames, evolution_rows

    config = _config("umap" if use_umap else "pca", n_words)
    rows, _ = evolution_rows(store, run_id, config.n_words)
    upto = [s["idx"] for s in store.get_run(run_id).snapshots].index(idx)
    chain_frames(store, run_id, rows, config, upto=upto)
    return config.method


def cached_chain(store: RunStore, run_id: str, n_words: int = EVOLUTION_WORDS
                 ) -> tuple[str, np.ndarray, list[str], list[np.ndarray]] | None:
    """(method, rows, vocabulary, frames) of the chain cached so far: by the method the
    engine recorded (``live_method``), else PCA; None before the first frame. Reads only."""
    from core.runs.projections import chain_frames, evolution_rows

    run = store.get_run(run_id)
    if run.n_snapshots == 0:
        return None
    for name in dict.fromkeys((run.info.get("live_method", "umap"), "pca")):
        config = _config(name, n_words)
        rows, tokens = evolution_rows(store, run_id, config.n_words)
        frames = chain_frames(store, run_id, rows, config, cached_only=True)
        if frames:
            return name, rows, tokens, frames
    return None


def latest_frame(store: RunStore, run_id: str) -> LiveFrame | None:
    """The Train page's live map: the newest frame of the chain so far, or None."""
    found = cached_chain(store, run_id)
    if found is None:
        return None
    name, rows, tokens, frames = found
    return LiveFrame([tokens[i] for i in rows], rows, np.asarray(frames[-1]),
                     store.get_run(run_id).snapshots[len(frames) - 1]["idx"], name)


@dataclass(frozen=True, eq=False)
class FramesSoFar:
    """What the Evolution page shows: ``frames`` (None while nothing is ready), whether they
    are the whole run's scored sequence (``complete``) and, if not, what is still coming."""

    frames: WordFrames | None
    complete: bool
    coming: str


def frames_so_far(store: RunStore, run_id: str, extra_words: tuple[str, ...] = ()
                  ) -> FramesSoFar:
    """The finished run's evolution if the engine has it (UMAP, scored); else the chain's
    frames cached so far (a training run, or a finished one the engine is still scoring);
    else, for a run no longer training, PCA computed now (about a second)."""
    run = store.get_run(run_id)
    live = run.status in LIVE
    views = run.info.get("views", "pending")
    if not live and run.info.get("views_method", "umap") != "pca":
        done = evolution(store, run_id, "umap", cached_only=True, extra_words=extra_words)
        if done is not None:
            return FramesSoFar(done, True, "")
    coming = _coming(run, live, views)
    found = cached_chain(store, run_id)
    if found is not None and (coming or found[0] == "umap"):
        return FramesSoFar(_partial(store, run_id, found, extra_words), False, coming)
    if live:  # the engine draws the first frame within seconds (PCA until UMAP is warm)
        return FramesSoFar(None, False, coming)
    pca = evolution(store, run_id, "pca", cached_only=False, extra_words=extra_words)
    return FramesSoFar(pca, not coming, coming)


def _coming(run, live: bool, views: str) -> str:
    """What the engine will still add, as text for the page ('' when nothing is coming)."""
    if live:
        return "the run is training: each new snapshot's frame is added as it arrives"
    if run.n_snapshots and run.status == "done" and views in ("pending", "computing"):
        return "the run has finished: its last frames and their trustworthiness are coming"
    return ""


def _partial(store: RunStore, run_id: str, found, extra_words: tuple[str, ...]) -> WordFrames:
    """The cached head of the chain as ``WordFrames`` (not yet scored: no trust), with the
    user's words placed among their neighbours frame by frame."""
    from core.analysis.projection import Projection
    from core.runs.projections import RunProjection, with_extra_words

    name, rows, tokens, frames = found
    base = RunProjection(rows, [tokens[i] for i in rows],
                         Projection(tuple(frames), (), 0.0, f"{name}:chained"))
    got = with_extra_words(store, run_id, base, tokens, extra_words)
    return WordFrames(got.rows, got.words, np.stack(got.coords), (), got.method)


def progress_token(store: RunStore, run_id: str) -> tuple:
    """Changes whenever ``frames_so_far`` would answer differently: the run's status, its
    views' state and how many frames the chain has cached (a page polls this, cheaply)."""
    run = store.get_run(run_id)
    found = cached_chain(store, run_id)
    return (run.status, run.info.get("views"), run.n_snapshots,
            None if found is None else (found[0], len(found[3])))
