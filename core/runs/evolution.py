"""The evolution service: one place that serves a run's evolution "so far" to the engine
(which extends it as snapshots arrive), the Train page's live map (its newest frame) and
the Evolution page (every frame so far, then the finished run's scored sequence).

Every frame comes from the one chain (``core.runs.projections.chain_frames`` over
``core.analysis.projection.chain_layouts``): frame t is fitted on snapshot t, starting from
frame t-1, and cached as it is computed, so the finished run's evolution reuses the frames
the live map showed. Pages never choose between the cache and PCA: ``frames_so_far`` does.
"All words" is a second chain of the same rule over every vocabulary word (up to
``ALL_WORDS``), computed by the engine when that is more than the default picture.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.runs.views import EVOLUTION_WORDS, WordFrames, evolution
from core.store.records import LIVE
from core.store.runstore import RunStore

ALL_WORDS = 50_000  # "all words": the vocabulary's default cap (TrainConfig.max_vocab) and the
# most ProjectionConfig.n_words allows; a larger vocabulary shows its 50,000 most frequent


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


def _rows(store: RunStore, run_id: str, n_words: int, all_words: bool
          ) -> tuple[np.ndarray, list[str]]:
    """The rows of the default chain, or of the all-words chain (every word of the
    vocabulary but the specials, up to ``ALL_WORDS``)."""
    from core.runs.projections import evolution_rows

    if all_words:
        return evolution_rows(store, run_id, ALL_WORDS, max_unseen=None)
    return evolution_rows(store, run_id, n_words)


def _method_key(all_words: bool) -> str:
    """The run-info key where the engine records the method of a chain."""
    return "all_words_method" if all_words else "live_method"


def extend(store: RunStore, run_id: str, idx: int, use_umap: bool,
           n_words: int = EVOLUTION_WORDS, all_words: bool = False) -> str:
    """The engine's step: bring the run's chain (the default words, or ``all_words``) up to
    snapshot ``idx`` (UMAP once warm, PCA before); returns the method used."""
    from core.runs.projections import chain_frames

    config = _config("umap" if use_umap else "pca", ALL_WORDS if all_words else n_words)
    rows, _ = _rows(store, run_id, n_words, all_words)
    upto = [s["idx"] for s in store.get_run(run_id).snapshots].index(idx)
    chain_frames(store, run_id, rows, config, upto=upto)
    return config.method


def has_more_words(store: RunStore, run_id: str, n_words: int = EVOLUTION_WORDS) -> bool:
    """Whether the all-words chain shows more words than the default one (otherwise the
    default chain already is "all words" and no second chain is computed)."""
    return len(_rows(store, run_id, n_words, True)[0]) > len(_rows(store, run_id, n_words,
                                                                   False)[0])


def cached_chain(store: RunStore, run_id: str, n_words: int = EVOLUTION_WORDS,
                 all_words: bool = False
                 ) -> tuple[str, np.ndarray, list[str], list[np.ndarray]] | None:
    """(method, rows, vocabulary, frames) of the chain cached so far: by the method the
    engine recorded (``live_method``, ``all_words_method``), else PCA; None before the first
    frame. Reads only."""
    from core.runs.projections import chain_frames

    run = store.get_run(run_id)
    if run.n_snapshots == 0:
        return None
    rows, tokens = _rows(store, run_id, n_words, all_words)
    recorded = run.info.get(_method_key(all_words))
    # the all-words chain is the engine's alone: a PCA preview the page computed also
    # caches its frames, and they must not pass for the chain
    names = ((recorded,) if recorded else ()) if all_words else (recorded or "umap", "pca")
    for name in dict.fromkeys(names):
        config = _config(name, ALL_WORDS if all_words else n_words)
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
    preview: bool = False  # PCA shown only until the engine's chain is ready


def frames_so_far(store: RunStore, run_id: str, extra_words: tuple[str, ...] = (),
                  all_words: bool = False, n_words: int = EVOLUTION_WORDS) -> FramesSoFar:
    """The finished run's evolution if the engine has it (UMAP, scored); else the chain's
    frames cached so far (a training run, or a finished one the engine is still scoring);
    else, for a run no longer training, PCA computed now (about a second). ``all_words``:
    the engine's all-words chain (``_all_words_so_far``) when the vocabulary has more words
    than the default picture of ``n_words`` (the engine's), else the default answer (it
    already holds every word)."""
    if all_words and has_more_words(store, run_id, n_words):
        return _all_words_so_far(store, run_id, extra_words)
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


def _all_words_so_far(store: RunStore, run_id: str, extra_words: tuple[str, ...]
                      ) -> FramesSoFar:
    """Every word's chain as far as the engine has laid it out (not scored: no trust);
    before its first frame, PCA of every word as a labelled preview (a second or two)."""
    run = store.get_run(run_id)
    found = cached_chain(store, run_id, all_words=True)
    done = 0 if found is None else len(found[3])
    n_rows = len(_rows(store, run_id, EVOLUTION_WORDS, True)[0])
    coming = "" if done == run.n_snapshots and run.status not in LIVE else (
        f"the engine is laying out all {n_rows:,} words, frame by frame after the default "
        f"picture's ({done} of {run.n_snapshots} frames so far"
        + (", more as the run trains" if run.status in LIVE else "") + ")")
    if found is not None:
        return FramesSoFar(_partial(store, run_id, found, extra_words), not coming, coming)
    pca = evolution(store, run_id, "pca", cached_only=False, n_words=ALL_WORDS,
                    extra_words=extra_words, all_words=True)
    return FramesSoFar(pca, False, coming, preview=True)


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


def progress_token(store: RunStore, run_id: str, all_words: bool = False) -> tuple:
    """Changes whenever ``frames_so_far`` would answer differently: the run's status, its
    views' state and how many frames the chain has cached (a page polls this, cheaply)."""
    run = store.get_run(run_id)
    found = cached_chain(store, run_id, all_words=all_words and has_more_words(store, run_id))
    return (run.status, run.info.get("views"), run.n_snapshots,
            None if found is None else (found[0], len(found[3])))
