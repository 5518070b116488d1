"""Colours and layouts every figure shares, and the figure-as-HTML download."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from core.analysis.classes import MAX_CLASS_COLOURS, colour_slots, slot_names

PALETTE = tuple(plotly.colors.qualitative.D3)
# D3's eighth colour is grey, which reads as "no class" on a map of classes: there the class
# takes a dark indigo instead (D3's category20b), apart from D3's blue and purple
CLASS_PALETTE = tuple("#393b79" if c.lower() == "#7f7f7f" else c for c in PALETTE)
SEEN, UNSEEN = "#4c78a8", "#f58518"
NO_VALUE = "#d3d3d3"  # points without a colour value
MAP = dict(margin=dict(l=10, r=10, t=40, b=10), height=520, plot_bgcolor="#fafafa",
           legend=dict(orientation="h", yanchor="top", y=-0.04, x=0),
           hoverlabel=dict(align="left"))
AXIS = dict(showticklabels=False, title=None, zeroline=False, showgrid=False)
LINES = {**MAP, "height": 400, "plot_bgcolor": None,
         "legend": dict(orientation="h", yanchor="top", y=-0.18, x=0)}
# Legend under the plot: above it, it collides with the title.
SMALL = dict(margin=dict(l=10, r=10, t=40, b=10), height=340,
             legend=dict(orientation="h", yanchor="top", y=-0.25, x=0))


# Up to ten classes keep D3's colours (its grey replaced: CLASS_PALETTE); past ten, nineteen
# colours chosen to stay apart side by
# side (Trubetskoy's list without its white, greys and palest tints, plus black): grey means
# "no class" in every picture, and the grouped classes ("other") are dark grey.
MANY = ("#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0",
        "#f032e6", "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#800000",
        "#aaffc3", "#808000", "#ffd8b1", "#000075", "#000000")
OTHER = "#555555"


def class_slots(n_classes: int, sizes: Sequence[int] | None = None) -> tuple[np.ndarray, list[str]]:
    """Each class's colour slot and each slot's colour (core.analysis.classes.colour_slots:
    past nineteen classes the smallest share the last slot, "other")."""
    slots = colour_slots(np.ones(n_classes) if sizes is None else np.asarray(sizes))
    n_slots = int(slots.max()) + 1 if n_classes else 0
    if n_classes <= len(CLASS_PALETTE):
        return slots, list(CLASS_PALETTE[:n_slots])
    grouped = n_classes > n_slots
    return slots, list(MANY[: n_slots - grouped]) + ([OTHER] if grouped else [])


def class_colours(n_classes: int, sizes: Sequence[int] | None = None) -> list[str]:
    """Class i's colour, the same on every page (class balance, documents, the word maps):
    it depends only on the number of classes and their sizes in the data set."""
    slots, colours = class_slots(n_classes, sizes)
    return [colours[s] for s in slots]


def class_legend(classes: Sequence[str], sizes: Sequence[int] | None = None
                 ) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Each class's slot and the legend (name, colour) of each slot."""
    slots, colours = class_slots(len(classes), sizes)
    return slots, list(zip(slot_names(list(classes), slots), colours))


def html_download(build: Callable[[], go.Figure]) -> Callable[[], bytes]:
    """The figure ``build()`` makes as one self-contained interactive HTML file (plotly.js
    inside: opening it fetches nothing), built only when the download button is clicked."""
    return lambda: build().to_html(include_plotlyjs=True, full_html=True).encode("utf-8")
