"""The evolution strategies we measured and did not keep (bench_evolution.py,
bench_projection.py; results in README.md "Evolution"): fit the final frame and transform the
others, one joint fit over every frame's distinct rows, AlignedUMAP. The product keeps the
chained per-frame fit (``core.analysis.projection.project_sequence``); these exist to compare
against it."""
from __future__ import annotations

import time
import warnings
from typing import Callable, Sequence

import numpy as np

from core.analysis.projection import (Projection, ProjectionConfig, chained_coords,
                                      check_frames, scored_projection)
from core.analysis.umap_runtime import fit_umap, umap_kwargs


def transform(model, x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(model.transform(x), dtype=np.float32)


def _row_keys(frame: np.ndarray) -> list[bytes]:
    return [row.tobytes() for row in frame]


def _fit_transform_coords(frames: list[np.ndarray], cfg: ProjectionConfig,
                          pin: bool = True) -> list[np.ndarray]:
    """Fit on the final frame, transform the others.

    With ``pin``: a row equal to the final frame's row takes the fitted coordinates, and each
    distinct (word, vector) pair is transformed once, so unchanged words never move.
    """
    final = frames[-1]
    model = fit_umap(final, cfg, exact=False)  # transform needs umap's own search index
    ref = np.asarray(model.embedding_, dtype=np.float32)
    if not pin:
        return [transform(model, f) for f in frames[:-1]] + [ref]
    final_keys = _row_keys(final)
    todo: dict[tuple[int, bytes], int] = {}
    rows: list[np.ndarray] = []
    plan: list[list[tuple[int, int]]] = []  # per frame: (word, index into transformed rows)
    for f in frames[:-1]:
        frame_plan = []
        for i, key in enumerate(_row_keys(f)):
            if key == final_keys[i]:
                continue
            slot = todo.setdefault((i, key), len(rows))
            if slot == len(rows):
                rows.append(f[i])
            frame_plan.append((i, slot))
        plan.append(frame_plan)
    moved = transform(model, np.stack(rows)) if rows else np.zeros((0, 2), np.float32)
    out = []
    for frame_plan in plan:
        c = ref.copy()
        for i, slot in frame_plan:
            c[i] = moved[slot]
        out.append(c)
    return out + [ref]


def _joint_coords(frames: list[np.ndarray], cfg: ProjectionConfig) -> list[np.ndarray]:
    """One fit over the distinct (word, vector) rows of all frames; a frame's coordinates are
    those of its rows, so a word whose vector did not change has one position throughout."""
    index: dict[tuple[int, bytes], int] = {}
    rows: list[np.ndarray] = []
    slots = []
    for f in frames:
        frame_slots = []
        for i, key in enumerate(_row_keys(f)):
            slot = index.setdefault((i, key), len(rows))
            if slot == len(rows):
                rows.append(f[i])
            frame_slots.append(slot)
        slots.append(np.array(frame_slots))
    layout = np.asarray(fit_umap(np.stack(rows), cfg).embedding_, dtype=np.float32)
    return [layout[s] for s in slots]


def _aligned_coords(frames: list[np.ndarray], cfg: ProjectionConfig,
                    regularisation: float = 1.0e-2) -> list[np.ndarray]:
    """umap.AlignedUMAP with identity relations between consecutive frames."""
    import umap

    n = len(frames[0])
    relations = [{i: i for i in range(n)} for _ in frames[:-1]]
    kwargs = umap_kwargs(cfg, n)
    model = umap.AlignedUMAP(**kwargs, n_epochs=cfg.n_epochs,
                             alignment_regularisation=regularisation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(list(frames), relations=relations)
    return [np.asarray(e, dtype=np.float32) for e in model.embeddings_]


STRATEGIES: dict[str, Callable[[list[np.ndarray], ProjectionConfig], list[np.ndarray]]] = {
    "fit_transform": _fit_transform_coords,
    "fit_transform_raw": lambda fr, cfg: _fit_transform_coords(fr, cfg, pin=False),
    "chained": chained_coords,
    "joint": _joint_coords,
    "aligned": _aligned_coords,
    "aligned_strong": lambda fr, cfg: _aligned_coords(fr, cfg, regularisation=0.1),
}


def project_with(frames: Sequence[np.ndarray], config: ProjectionConfig = ProjectionConfig(),
                 strategy: str = "chained") -> Projection:
    """``project_sequence`` for UMAP with any of ``STRATEGIES`` (``chained`` is the
    product's)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {sorted(STRATEGIES)}, got {strategy!r}")
    xs = check_frames(frames)
    t0 = time.perf_counter()
    coords = STRATEGIES[strategy](xs, config)
    return scored_projection(xs, coords, time.perf_counter() - t0, f"umap:{strategy}", config)
