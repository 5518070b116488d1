"""Words and classes for many-class pictures: each word's class (the class whose training texts
over-use it most, by the log-odds z of ``measures.log_odds_z``) and which classes get a colour
of their own when there are more classes than colours a reader can tell apart.

Pure arrays in, arrays out; the palette itself (which colour a slot gets) is the figures'.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

Z_SIGNIFICANT = 1.96  # two-sided 5 %: weaker associations are drawn as "no class"
MAX_CLASS_COLOURS = 19  # qualitative colours that stay distinguishable side by side
NO_CLASS = -1


@dataclass(frozen=True)
class WordClasses:
    """``cls[i]``: the class word i is over-used in (``NO_CLASS`` when no class's z reaches
    ``threshold``, or the word has no counts); ``strength[i]``: that class's z (NaN if none)."""

    cls: np.ndarray
    strength: np.ndarray
    threshold: float


def word_classes(z: np.ndarray, threshold: float = Z_SIGNIFICANT) -> WordClasses:
    """Each word's most over-used class from a (words x classes) z matrix (NaN rows allowed:
    specials, words without counts)."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"z: need a (words x classes) matrix with >= 2 classes, got shape {z.shape}")
    if not threshold > 0:
        raise ValueError(f"threshold: must be > 0, got {threshold}")
    finite = np.isfinite(z).all(axis=1)
    best = np.where(finite, np.nan_to_num(z, nan=-np.inf).argmax(axis=1), NO_CLASS)
    top = np.where(finite, z[np.arange(len(z)), np.maximum(best, 0)], np.nan)
    strong = finite & (top >= threshold)
    return WordClasses(np.where(strong, best, NO_CLASS).astype(np.int64),
                       np.where(strong, top, np.nan), float(threshold))


def colour_slots(sizes: Sequence[int], max_colours: int = MAX_CLASS_COLOURS) -> np.ndarray:
    """The colour slot of each class (class order kept, so a class has the same colour on every
    page of a run): every class its own slot when there are at most ``max_colours``; otherwise
    the ``max_colours - 1`` largest classes (by ``sizes``, ties by class order) keep a slot each
    and the rest share the last one, "other"."""
    sizes = np.asarray(sizes)
    if max_colours < 2:
        raise ValueError(f"max_colours: must be >= 2, got {max_colours}")
    n = len(sizes)
    if n <= max_colours:
        return np.arange(n)
    keep = np.sort(np.argsort(-sizes, kind="stable")[: max_colours - 1])
    slots = np.full(n, max_colours - 1)
    slots[keep] = np.arange(max_colours - 1)
    return slots


def slot_names(classes: Sequence[str], slots: np.ndarray) -> list[str]:
    """The legend name of each slot: the class's own name, or "other (N classes)"."""
    names: list[str] = []
    for s in range(int(slots.max()) + 1 if len(slots) else 0):
        members = [classes[c] for c in np.flatnonzero(slots == s)]
        names.append(members[0] if len(members) == 1 else f"other ({len(members)} classes)")
    return names
