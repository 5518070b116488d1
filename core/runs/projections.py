"""A run's snapshots projected to 2-D, through the one disk cache (``core.common.files``).

``project_run`` picks the run's words and projects every snapshot with
``core.analysis.projection``; ``cached_sequence`` is the read-through cache entry of one
projected sequence (coordinates as ``coords.npy``, trust and timing as ``meta.json``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from core.analysis import projection
from core.analysis.faithfulness import trust_previous
from core.analysis.projection import Projection, ProjectionConfig
from core.common.files import DiskCache, atomic_write, npy
from core.data.text import SPECIALS
from core.errors import ExplorerError, StoreError
from core.store.runstore import RunStore


def array_key(arrays: Iterable[np.ndarray], config: ProjectionConfig, extra: str = "") -> str:
    """sha256 over the arrays' shapes/dtypes/bytes, the settings and ``extra``."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(memoryview(a).cast("B"))
    h.update(config.key().encode())
    h.update(extra.encode())
    return h.hexdigest()[:32]


def _write(result: Projection, folder: Path) -> None:
    atomic_write(folder / "coords.npy", npy(result.stacked))
    atomic_write(folder / "meta.json", json.dumps(
        {"trust": list(result.trust), "trust_final": list(result.trust_final),
         "trust_previous": list(result.trust_previous),
         "seconds": result.seconds, "method": result.method}))


def _read(folder: Path) -> Projection:
    info = json.loads((folder / "meta.json").read_text())
    stacked = np.load(folder / "coords.npy", allow_pickle=False)
    coords = []
    for c in stacked:
        c.setflags(write=False)
        coords.append(c)
    return Projection(tuple(coords), tuple(info["trust"]), float(info["seconds"]),
                      info["method"], tuple(info.get("trust_final", ())),
                      tuple(info.get("trust_previous", ())))


def sequence_key(frames: Sequence[np.ndarray], config: ProjectionConfig,
                 key: str | None = None) -> str:
    """The cache key of a projected sequence: ``key`` (e.g. run id + snapshot count, which
    skips hashing the arrays) or the arrays' hash, always with the settings."""
    return f"{key}-{array_key((), config)}" if key is not None else array_key(frames, config)


def cached_sequence(cache: DiskCache, frames: Sequence[np.ndarray],
                    config: ProjectionConfig = ProjectionConfig(), key: str | None = None
                    ) -> Projection:
    """``projection.project_sequence`` through ``cache``; arrays handed back are read-only."""
    return cache.get_or_compute(sequence_key(frames, config, key),
                                lambda: projection.project_sequence(frames, config),
                                _write, _read)


def cached_lookup(cache: DiskCache, config: ProjectionConfig, key: str) -> Projection | None:
    """The cached sequence for ``key`` and ``config``, or None (nothing is computed)."""
    return cache.get(sequence_key((), config, key), _read)


@dataclass(frozen=True, eq=False)
class RunProjection:
    """Projected vocabulary rows of every snapshot: ``layout`` (a ``Projection``) of the
    words ``words`` (vocabulary ``rows``); its fields read through, so ``coords[i]`` is n x 2
    for snapshot i and ``trust``, ``method``, ... are the layout's."""

    rows: np.ndarray
    words: list[str]
    layout: Projection

    def __getattr__(self, name: str):
        if name == "layout":  # not set yet (copy/unpickle): no recursion through it
            raise AttributeError(name)
        return getattr(self.layout, name)


EVOLUTION_UNSEEN = 500  # never-seen words shown beside the most frequent training words


def evolution_rows(store: RunStore, run_id: str, n_words: int,
                   max_unseen: int | None = EVOLUTION_UNSEEN) -> tuple[np.ndarray, list[str]]:
    """The vocabulary rows an evolution shows, fixed for the whole run (they depend only on
    counts known before training): the ``n_words`` most frequent training words, then up to
    ``max_unseen`` words of the texts never seen in training (None: all of them)."""
    vocab = store.load_vocab(run_id)
    tokens = vocab["token"].astype(str).tolist()
    everything = max_unseen is None
    in_pre = (np.ones(len(vocab), dtype=bool) if everything or "in_pretrained" not in vocab
              else vocab["in_pretrained"].to_numpy())
    counts, train = ranking_counts(vocab)
    rows = projection.select_words(counts, train,
                                   n_top=n_words, include_unseen=everything or max_unseen > 0,
                                   in_pretrained=in_pre,
                                   max_unseen=len(vocab) if everything else max_unseen,
                                   skip=np.flatnonzero(vocab["token"].isin(SPECIALS)))
    if len(rows) < 3:
        raise ExplorerError(f"Run {run_id} has only {len(rows)} words to project (need 3).")
    return rows, tokens


def ranking_counts(vocab: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(counts, training counts) that rank a run's words for the views. A run that recorded
    no counts (a tracked run whose user gave none: all zero) is ranked in its vocabulary's
    own order, most frequent first in Keras's TextVectorization and most tokenisers; its
    tables still show the counts as stored."""
    train = vocab["train_count"].to_numpy()
    if train.any() or vocab["count"].to_numpy().any():
        return vocab["count"].to_numpy(), train
    rank = np.arange(len(train), 0, -1, dtype=np.int64)
    return rank, rank


def write_layout(coords: np.ndarray, folder: Path) -> None:
    atomic_write(folder / "coords.npy", npy(np.asarray(coords, dtype=np.float32)))


def read_layout(folder: Path) -> np.ndarray:
    coords = np.load(folder / "coords.npy", allow_pickle=False)
    coords.setflags(write=False)
    return coords


def _snapshot_rows(store: RunStore, run_id: str, idx: int, rows: np.ndarray) -> np.ndarray:
    return np.asarray(store.load_snapshot(run_id, idx), dtype=np.float32)[rows]


def _chain_prefix(rows: np.ndarray, config: ProjectionConfig) -> str:
    return f"r{hashlib.sha256(rows.tobytes()).hexdigest()[:12]}-{array_key((), config)}"


def chain_frames(store: RunStore, run_id: str, rows: np.ndarray, config: ProjectionConfig,
                 upto: int | None = None, cached_only: bool = False) -> list[np.ndarray]:
    """The layout of every snapshot so far (or of snapshots 0..``upto``): the chain of
    ``projection.chain_layouts`` (frame t fitted on snapshot t, starting from frame t-1),
    each frame cached on its own as it is computed, so frames the engine computed while the
    run trained are never computed again. With ``cached_only`` nothing is computed: the
    frames cached so far, in order."""
    snaps = store.get_run(run_id).snapshots
    snaps = snaps if upto is None else snaps[: upto + 1]
    cache = DiskCache(store.cache_dir(run_id) / "chain")
    keys = [f"{_chain_prefix(rows, config)}-f{t:04d}" for t in range(len(snaps))]
    out: list[np.ndarray] = []
    for key in keys:  # the cached head of the chain
        hit = cache.get(key, read_layout)
        if hit is None:
            break
        out.append(hit)
    if cached_only or len(out) == len(snaps):
        return out
    start = None
    if out:
        start = (out[-1], _snapshot_rows(store, run_id, snaps[len(out) - 1]["idx"], rows))
    todo = (_snapshot_rows(store, run_id, s["idx"], rows) for s in snaps[len(out):])
    for key, coords in zip(keys[len(out):], projection.chain_layouts(todo, config, start)):
        cache.put(key, coords, write_layout)  # kept at once: an engine restart resumes here
        out.append(read_layout(cache.path(key)))
    return out


def _evolution(store: RunStore, run_id: str, rows: np.ndarray,
               config: ProjectionConfig) -> Projection:
    """Every frame of the chain plus its faithfulness (own, final and previous snapshot)."""
    t0 = time.perf_counter()
    coords = chain_frames(store, run_id, rows, config)
    run = store.get_run(run_id)
    frames = [_snapshot_rows(store, run_id, s["idx"], rows) for s in run.snapshots]
    own, final = projection.faithfulness(frames, coords, config)
    return Projection(tuple(coords), own, time.perf_counter() - t0,
                      f"{config.method}:chained", final,
                      trust_previous(frames, coords, config))


def project_run(store: RunStore, run_id: str, config: Any = None, *,
                max_unseen: int | None = EVOLUTION_UNSEEN, cached_only: bool = False,
                extra_words: Sequence[str] = ()) -> RunProjection | None:
    """The run's evolution: its most frequent training words (plus never-seen words, see
    ``evolution_rows``) in every snapshot, chained frame by frame (``chain_frames``), through
    the disk cache. ``extra_words`` (words the user asks for; unknown ones are an error) are
    placed in each frame among their nearest projected words (``projection.place_rows``), so
    adding a word never changes where the others are. The latest result per method is also
    kept as ``cache/projection_<method>_*`` arrays so exports can reuse its coordinates. With
    ``cached_only`` nothing is computed: a cache miss returns None."""
    config = config or ProjectionConfig()
    run = store.get_run(run_id)
    if run.n_snapshots == 0:
        raise StoreError(f"Run {run_id} has no snapshots yet.")
    rows, tokens = evolution_rows(store, run_id, config.n_words, max_unseen)
    cache = DiskCache(store.cache_dir(run_id) / "projection")
    # "-t2": layouts cached before trust against the previous frame was kept are recomputed
    key = (f"{run_id}-s{run.n_snapshots}-r{hashlib.sha256(rows.tobytes()).hexdigest()[:12]}"
           "-t2")
    result = cached_lookup(cache, config, key)
    if result is None and cached_only:
        return None
    if result is None:
        result = cache.get_or_compute(sequence_key((), config, key),
                                      lambda: _evolution(store, run_id, rows, config),
                                      _write, _read)
        store.save_array(run_id, f"cache/projection_{config.method}_rows", rows)
        store.save_array(run_id, f"cache/projection_{config.method}_coords", result.stacked)
    out = RunProjection(rows, [tokens[i] for i in rows], result)
    return with_extra_words(store, run_id, out, tokens, extra_words)


def with_extra_words(store: RunStore, run_id: str, base: RunProjection, tokens: list[str],
                      extra_words: Sequence[str]) -> RunProjection:
    known = set(tokens)
    missing = [w for w in extra_words if w not in known]
    if missing:
        raise ExplorerError(f"Not in this run's vocabulary: {', '.join(missing[:10])}.")
    shown = set(base.words)
    new = [w for w in dict.fromkeys(extra_words) if w not in shown]
    if not new:
        return base
    index = {w: i for i, w in enumerate(tokens)}
    extra = np.array([index[w] for w in new], dtype=np.int64)
    tables = [np.asarray(store.load_snapshot(run_id, s["idx"]), dtype=np.float32)
              for s in store.get_run(run_id).snapshots]  # each read once, for both row sets
    placed = projection.place_rows([m[base.rows] for m in tables], base.coords,
                                   [m[extra] for m in tables])
    coords = tuple(np.concatenate([c, p]) for c, p in zip(base.coords, placed))
    return dataclasses.replace(base, rows=np.concatenate([base.rows, extra]),
                               words=base.words + new,
                               layout=dataclasses.replace(base.layout, coords=coords))


def latest_projection(store: RunStore, run_id: str, method: str
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows, coords T x n x 2) of the last ``project_run`` with ``method`` for this run, if
    it covers the run's current snapshots; else None."""
    names = [f"cache/projection_{method}_rows", f"cache/projection_{method}_coords"]
    if not all(store.has_array(run_id, n) for n in names):
        return None
    rows, coords = (store.load_array(run_id, n, mmap=False) for n in names)
    if coords.shape[0] != store.get_run(run_id).n_snapshots or coords.shape[1] != len(rows):
        return None
    return rows, coords
