"""One projection of the words (Learned vs pretrained, the Train page's live map) or of the
documents, coloured by what they are."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard.charts.points import label_spots
from dashboard.charts.style import AXIS, MAP, SEEN, UNSEEN, class_colours
from dashboard.text import escape_html

def word_map(xy: np.ndarray, words: Sequence[str], seen: np.ndarray, title: str,
             hover: Sequence[str], focus: int | None = None,
             neighbors: Sequence[int] = ()) -> go.Figure:
    """One projection of the words: seen / never-seen points, the ``focus`` word circled and
    its ``neighbors`` (indices into ``words``) labelled. ``hover`` must be plain text."""
    words = [escape_html(w) for w in words]
    fig = go.Figure()
    faded = 0.6 if focus is None else 0.3  # the picked word and its neighbors stand out
    for name, mask, colour in (("seen in training", seen, SEEN), ("never seen", ~seen, UNSEEN)):
        idx = np.flatnonzero(mask)
        fig.add_trace(go.Scattergl(x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=name,
                                   marker=dict(size=5, color=colour, opacity=faded),
                                   hovertext=[hover[i] for i in idx], hoverinfo="text"))
    if neighbors:
        fig.add_trace(go.Scattergl(x=xy[list(neighbors), 0], y=xy[list(neighbors), 1],
                                   mode="markers+text", text=[words[i] for i in neighbors],
                                   textposition="bottom center", name="its neighbours here",
                                   marker=dict(size=10, color="#2ca02c",
                                               line=dict(width=1, color="black")),
                                   textfont=dict(size=13, color="#145214"), hoverinfo="text"))
    if focus is not None:
        fig.add_trace(_focus_trace(xy, words, [focus]))
    fig.update_layout(title=title, xaxis=AXIS, yaxis=AXIS, **MAP)
    return fig


def _focus_trace(xy: np.ndarray, words: Sequence[str], focus: Sequence[int],
                 extent: tuple[float, float] = (1.0, 1.0), lean: bool = False) -> go.Scattergl:
    # WebGL too: an SVG trace would be drawn under the WebGL points and its labels hidden
    picked = xy[list(focus)]
    names = [escape_html(words[i]) for i in focus]
    if lean:  # an animation frame: the circles' places and label positions only
        return go.Scattergl(x=picked[:, 0], y=picked[:, 1],
                            textposition=label_spots(picked, names, extent) if names else None)
    return go.Scattergl(x=picked[:, 0], y=picked[:, 1], mode="markers+text", text=names,
                        textposition=label_spots(picked, names, extent) if names else None,
                        name="searched", marker=dict(size=18, symbol="circle-open", color="black",
                                                     line=dict(width=3)),
                        textfont=dict(size=15, color="black"), hoverinfo="skip", showlegend=False)


def document_map(xy: np.ndarray, labels: Sequence[str], classes: Sequence[str],
                 texts: Sequence[str], title: str, ranges=None) -> go.Figure:
    """Documents coloured by their label (same colour per class in every figure)."""
    fig = go.Figure()
    labels = np.asarray(labels)
    for c, name in enumerate(classes):
        idx = np.flatnonzero(labels == name)
        shown = escape_html(name)
        fig.add_trace(go.Scattergl(x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=shown,
                                   marker=dict(size=6, color=class_colours(c + 1)[c],
                                               opacity=0.75),
                                   hovertext=[f"<b>{shown}</b><br>{escape_html(texts[i])}"
                                              for i in idx],
                                   hoverinfo="text"))
    axes = ({} if ranges is None else dict(xaxis=dict(range=ranges[0], **AXIS),
                                             yaxis=dict(range=ranges[1], **AXIS)))
    fig.update_layout(title=title, **{"xaxis": AXIS, "yaxis": AXIS, **axes}, **MAP)
    return fig
