"""One projection of the words (Learned vs pretrained, the Train page's live map) or of the
documents, coloured by what they are."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard.charts.points import label_spots
from dashboard.charts.evolution import Colour, paler
from dashboard.charts.style import AXIS, MAP, NO_VALUE, SEEN, UNSEEN, class_legend
from dashboard.text import escape_html

def word_map(xy: np.ndarray, words: Sequence[str], seen: np.ndarray, title: str,
             hover: Sequence[str], focus: int | None = None,
             neighbors: Sequence[int] = (), colour: Colour | None = None) -> go.Figure:
    """One projection of the words: seen / never-seen points, or the groups of ``colour``
    (e.g. ``evolution.class_colouring``; words in no group grey), the ``focus`` word circled
    and its ``neighbors`` (indices into ``words``) labelled. ``hover`` must be plain text."""
    words = [escape_html(w) for w in words]
    fig = go.Figure()
    faded = 0.6 if focus is None else 0.3  # the picked word and its neighbors stand out
    for name, idx, colours in _groups(seen, colour):
        # per-word shades: the legend's swatch would take the first word's (often a pale
        # one), so a legend-only point shows the group's full colour
        shaded = not isinstance(colours, str)
        fig.add_trace(go.Scattergl(x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=name,
                                   marker=dict(size=5, color=colours, opacity=faded),
                                   hovertext=[hover[i] for i in idx], hoverinfo="text",
                                   legendgroup=name, showlegend=not shaded,
                                   # numbers, colours and escaped text of our own: plotly's
                                   # per-point checks were 2/3 of Learned vs pretrained's time
                                   _validate=False))
        if shaded:
            fig.add_trace(go.Scattergl(x=[None], y=[None], mode="markers", name=name,
                                       legendgroup=name, hoverinfo="skip",
                                       marker=dict(size=5, color=_solid(colour, name))))
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


def _solid(colour: Colour, name: str) -> str:
    """The full colour of the group shown as ``name`` (escaped) in ``colour``."""
    return next(solid for group, (_, solid) in colour.groups.items()
                if escape_html(group) == name)


def _groups(seen: np.ndarray, colour: Colour | None) -> list[tuple[str, np.ndarray, Any]]:
    """(legend name, word indices, colour or per-word colours) of each group of points."""
    if colour is None or colour.groups is None:
        return [("seen in training", np.flatnonzero(seen), SEEN),
                ("never seen", np.flatnonzero(~seen), UNSEEN)]
    grouped = np.zeros(len(seen), dtype=bool)
    out: list[tuple[str, np.ndarray, Any]] = []
    for name, (idx, solid) in colour.groups.items():
        grouped[idx] = True
        strength = (np.ones(len(idx)) if colour.strength is None
                    else np.clip(np.nan_to_num(colour.strength[idx], nan=1.0), 0.0, 1.0))
        out.append((escape_html(name), idx, [paler(solid, 0.7 * (1 - s)) for s in strength]))
    return [("no class", np.flatnonzero(~grouped), NO_VALUE)] + out


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
                 texts: Sequence[str], title: str, ranges=None,
                 sizes: Sequence[int] | None = None) -> go.Figure:
    """Documents coloured by their label (the same colour per class in every figure; past
    nineteen classes the smallest share one colour and one legend entry, "other")."""
    fig = go.Figure()
    labels = np.asarray(labels)
    slots, legend = class_legend(classes, sizes)
    for c, name in enumerate(classes):
        idx = np.flatnonzero(labels == name)
        shown = escape_html(name)
        slot_name, colour = legend[slots[c]]
        first = c == int(np.flatnonzero(slots == slots[c])[0])
        fig.add_trace(go.Scattergl(x=xy[idx, 0], y=xy[idx, 1], mode="markers",
                                   name=escape_html(slot_name), legendgroup=f"slot{slots[c]}",
                                   showlegend=first,
                                   marker=dict(size=6, color=colour, opacity=0.75),
                                   hovertext=[f"<b>{shown}</b><br>{escape_html(texts[i])}"
                                              for i in idx],
                                   hoverinfo="text"))
    axes = ({} if ranges is None else dict(xaxis=dict(range=ranges[0], **AXIS),
                                             yaxis=dict(range=ranges[1], **AXIS)))
    fig.update_layout(title=title, **{"xaxis": AXIS, "yaxis": AXIS, **axes}, **MAP)
    return fig
