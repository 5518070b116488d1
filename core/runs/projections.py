"""A run's snapshots projected to 2-D, through the one disk cache (``core.common.files``).

``project_run`` picks the run's words and projects every snapshot with
``core.analysis.projection``; ``cached_sequence`` is the read-through cache entry of one
projected sequence (coordinates as ``coords.npy``, trust and timing as ``meta.json``).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from core.analysis import projection
from core.analysis.projection import Projection, ProjectionConfig
from core.common.files import DiskCache, atomic_write, npy
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
        {"trust": list(result.trust), "seconds": result.seconds, "method": result.method}))


def _read(folder: Path) -> Projection:
    info = json.loads((folder / "meta.json").read_text())
    stacked = np.load(folder / "coords.npy", allow_pickle=False)
    coords = []
    for c in stacked:
        c.setflags(write=False)
        coords.append(c)
    return Projection(tuple(coords), tuple(info["trust"]), float(info["seconds"]),
                      info["method"])


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
    """Projected vocabulary rows of every snapshot: ``coords[i]`` is n x 2 for snapshot i."""

    rows: np.ndarray
    words: list[str]
    coords: tuple[np.ndarray, ...]
    trust: tuple[float, ...]
    seconds: float
    method: str


def _rows(store: RunStore, run_id: str, config: ProjectionConfig, max_unseen: int,
          extra_words: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    vocab = store.load_vocab(run_id)
    in_pre = (vocab["in_pretrained"].to_numpy() if "in_pretrained" in vocab.columns
              else np.zeros(len(vocab), dtype=bool))
    tokens = vocab["token"].astype(str).tolist()
    missing = [w for w in extra_words if w not in set(tokens)]
    if missing:
        raise ExplorerError(f"Not in this run's vocabulary: {', '.join(missing[:10])}.")
    rows = projection.select_words(vocab["count"].to_numpy(), vocab["train_count"].to_numpy(),
                                   n_top=config.n_words, extra_words=list(extra_words),
                                   itos=tokens, include_unseen=max_unseen > 0,
                                   in_pretrained=in_pre, max_unseen=max_unseen)
    if len(rows) < 3:
        raise ExplorerError(f"Run {run_id} has only {len(rows)} words to project (need 3).")
    return rows, tokens


def project_run(store: RunStore, run_id: str, config: Any = None, *,
                max_unseen: int = 500, cached_only: bool = False,
                extra_words: Sequence[str] = ()) -> RunProjection | None:
    """Project the run's most frequent training words (plus up to ``max_unseen`` pretrained
    words never seen in training) in every snapshot, through the disk cache. The latest
    result per method is also kept as ``cache/projection_<method>_*`` arrays so exports can
    reuse its coordinates. With ``cached_only`` a cache miss returns None. ``extra_words``
    (words the user asks for) are projected too; unknown ones are an error."""
    config = config or ProjectionConfig()
    run = store.get_run(run_id)
    if run.n_snapshots == 0:
        raise StoreError(f"Run {run_id} has no snapshots yet.")
    rows, tokens = _rows(store, run_id, config, max_unseen, extra_words)
    cache = DiskCache(store.cache_dir(run_id) / "projection")
    rows_hash = hashlib.sha256(rows.tobytes()).hexdigest()[:12]
    key = f"{run_id}-s{run.n_snapshots}-r{rows_hash}"
    if cached_only:
        result = cached_lookup(cache, config, key)
        if result is None:
            return None
    else:
        frames = [np.asarray(store.load_snapshot(run_id, s["idx"]))[rows]
                  for s in run.snapshots]
        result = cached_sequence(cache, frames, config, key=key)
        store.save_array(run_id, f"cache/projection_{config.method}_rows", rows)
        store.save_array(run_id, f"cache/projection_{config.method}_coords", result.stacked)
    return RunProjection(rows, [tokens[i] for i in rows], result.coords, result.trust,
                         result.seconds, result.method)


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
