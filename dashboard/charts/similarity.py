"""Figures of word2vec runs (pure: epochs and scores in, plotly figures out)."""
from __future__ import annotations

import math
from typing import Sequence

import plotly.graph_objects as go

NAMES = {"wordsim353": "WordSim353", "simlex999": "SimLex999"}


def similarity_figure(epochs: Sequence[dict]) -> go.Figure:
    """Each epoch's Spearman rho against WordSim353 and SimLex999, with its 95 % interval as
    a band; epochs whose benchmark found too few pairs are left out (NaN)."""
    fig = go.Figure()
    for key, name in NAMES.items():
        rows = [e for e in epochs if _finite(e.get(key))]
        if not rows:
            continue
        x = [e["epoch"] for e in rows]
        low = [e.get(f"{key}_low", e[key]) for e in rows]
        high = [e.get(f"{key}_high", e[key]) for e in rows]
        fig.add_trace(go.Scatter(x=x + x[::-1], y=high + low[::-1], fill="toself",
                                 line=dict(width=0), opacity=0.2, hoverinfo="skip",
                                 showlegend=False, name=f"{name} 95 %"))
        fig.add_trace(go.Scatter(x=x, y=[e[key] for e in rows], mode="lines+markers",
                                 name=f"{name} ({rows[-1].get(f'{key}_pairs', '?')} pairs)"))
    fig.update_layout(title="Word similarity per epoch (Spearman rho, 95 % interval)",
                      xaxis_title="epoch", yaxis_title="rho", height=320,
                      margin=dict(l=40, r=10, t=40, b=40))
    return fig


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
