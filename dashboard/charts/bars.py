"""Histograms and bar charts: examples per class, how far words moved."""
from __future__ import annotations

from typing import Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.style import MAP, PALETTE, SEEN, SMALL, UNSEEN, class_colours
from dashboard.text import escape_html

def class_balance_figure(summary: pd.DataFrame) -> go.Figure:
    """Bar chart of core.data.loading.dataset_summary (class, count, share)."""
    fig = go.Figure(go.Bar(x=[escape_html(c) for c in summary["class"]], y=summary["count"],
                           text=[f"{s:.0%}" for s in summary["share"]],
                           marker_color=class_colours(len(summary), summary["count"].tolist()),
                           textposition="outside", cliponaxis=False))
    fig.update_layout(title="Examples per class", yaxis_title="texts", **SMALL)
    return fig


def histogram(groups: dict[str, pd.Series], title: str, x_title: str,
              bins: dict | None = None) -> go.Figure:
    """Overlaid histograms, one per named group (e.g. seen / never seen in training);
    ``bins`` is plotly's xbins (start, end, size), else 40 automatic bins."""
    fig = go.Figure()
    for (name, values), colour in zip(groups.items(), (SEEN, UNSEEN) + PALETTE):
        if len(values):
            fig.add_trace(go.Histogram(x=values, name=f"{name} ({len(values):,})", opacity=0.7,
                                       marker_color=colour, nbinsx=None if bins else 40,
                                       xbins=bins, bingroup="all"))  # same bins for all
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title="words", barmode="overlay",
                      **{**MAP, "height": 340, "legend": dict(orientation="h", y=-0.25)})
    return fig


def top_bars(words: Sequence[str], values: Sequence[float], title: str, x_title: str,
             hover: Sequence[str] | None = None) -> go.Figure:
    """Horizontal bars, first item on top."""
    fig = go.Figure(go.Bar(x=list(values)[::-1], y=[escape_html(w) for w in words][::-1],
                           orientation="h", marker_color=SEEN,
                           hovertext=None if hover is None else list(hover)[::-1]))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_type="category",
                      **{**MAP, "height": max(300, 22 * len(words) + 90), "plot_bgcolor": None})
    return fig
