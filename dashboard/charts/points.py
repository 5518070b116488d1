"""Where labels go on a point map, and axis ranges that hold every frame."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def stable_ranges(coords: np.ndarray) -> tuple[list[float], list[float]]:
    """Axis ranges covering every point of every frame (padded by 4 %), so a slider does not
    rescale the picture and no point is ever outside the view (a random start's wide cloud
    included: hiding part of a frame would misstate it). A page showing one frame at a time
    whose frames differ in scale passes that frame alone (``coords[t][None]``) instead."""
    lo, hi = np.nanmin(coords, axis=(0, 1)), np.nanmax(coords, axis=(0, 1))
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
