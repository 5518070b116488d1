"""Colours and layouts every figure shares, and the figure-as-HTML download."""
from __future__ import annotations

from typing import Callable

import plotly.colors
import plotly.graph_objects as go

PALETTE = tuple(plotly.colors.qualitative.D3)
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


def class_colours(n_classes: int) -> list[str]:
    """Class i's colour, the same on every page (class balance, documents, ...)."""
    return [PALETTE[i % len(PALETTE)] for i in range(n_classes)]


def html_download(build: Callable[[], go.Figure]) -> Callable[[], bytes]:
    """The figure ``build()`` makes as one self-contained interactive HTML file (plotly.js
    inside: opening it fetches nothing), built only when the download button is clicked."""
    return lambda: build().to_html(include_plotlyjs=True, full_html=True).encode("utf-8")
