"""Where labels go on a point map, and axis ranges that hold every frame."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def _robust_box(xy: np.ndarray, tail: float, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """One frame's box: its ``tail``-th to (100 - ``tail``)-th percentiles per axis, widened
    by ``margin`` of that spread, never past its farthest point."""
    low, high = np.percentile(xy, tail, axis=0), np.percentile(xy, 100 - tail, axis=0)
    spread = high - low
    return (np.maximum(xy.min(axis=0), low - margin * spread),
            np.minimum(xy.max(axis=0), high + margin * spread))


def stable_ranges(coords: np.ndarray, tail: float = 1.0,
                  margin: float = 0.25) -> tuple[list[float], list[float]]:
    """One pair of axis ranges for every frame of ``coords`` (frames x points x 2), so a
    slider does not rescale the picture, fitted to most frames rather than to the widest:
    the median over frames of each frame's robust box (``_robust_box``: a few far points do
    not count), grown to hold the last frame's box (the picture a page opens on), padded by
    4 %. A start that is much more spread out than the rest (a random init's cloud, before
    the layout tightens) then reaches past the edges instead of shrinking every later frame
    into the middle."""
    frames = np.asarray(coords, dtype=float)
    frames = frames.reshape(-1, *frames.shape[-2:]) if frames.ndim >= 2 else frames
    boxes = [_robust_box(f[np.isfinite(f).all(axis=1)], tail, margin) for f in frames
             if np.isfinite(f).all(axis=1).any()]
    if not boxes:
        return [-1.0, 1.0], [-1.0, 1.0]
    lo = np.minimum(np.median([b[0] for b in boxes], axis=0), boxes[-1][0])
    hi = np.maximum(np.median([b[1] for b in boxes], axis=0), boxes[-1][1])
    pad = (hi - lo) * 0.04 + 1e-6
    return [float(lo[0] - pad[0]), float(hi[0] + pad[0])], [float(lo[1] - pad[1]),
                                                            float(hi[1] + pad[1])]


LABEL_SPOTS = ("top center", "bottom center", "middle right", "middle left", "top right",
               "bottom left", "top left", "bottom right")


_SPOT_SHIFT = {"top": (0, 1), "bottom": (0, -1), "middle": (0, 0), "center": (0, 0),
               "right": (1, 0), "left": (-1, 0)}


def label_spots(xy: np.ndarray, words: Sequence[str], extent: tuple[float, float]) -> list[str]:
    """A text position per label so that no two labels' boxes overlap where avoidable:
    greedy, each label takes the first spot whose box (about 0.9 % of the x range per
    character, 5 % of the y range high, 1000 x 520 px chart) is clear of the boxes taken."""
    char_w, height = extent[0] * 0.009, extent[1] * 0.05
    taken: list[tuple[float, float, float, float]] = []
    spots = []
    for (x, y), word in zip(np.asarray(xy, dtype=float), words):
        width = char_w * max(len(word), 1)
        for spot in LABEL_SPOTS + (LABEL_SPOTS[0],):
            vert, horiz = spot.split()
            cx = x + _SPOT_SHIFT[horiz][0] * (width / 2 + char_w)
            cy = y + _SPOT_SHIFT[vert][1] * height * 1.1  # clear of the middle spots
            box = (cx - width / 2, cx + width / 2, cy - height / 2, cy + height / 2)
            if not any(box[0] < b[1] and b[0] < box[1] and box[2] < b[3] and b[2] < box[3]
                       for b in taken):
                break
        taken.append(box)
        spots.append(spot)
    return spots
