"""The Evolution map: words over the snapshots, coloured by one of several colourings the
browser can switch between in place, highlighted words with their trails, the animation.
Large point sets use WebGL (``go.Scattergl``) and never per-point annotations."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from dashboard.charts.points import label_spots, stable_ranges
from core.analysis.classes import word_classes
from dashboard.charts.style import AXIS, MAP, NO_VALUE, SEEN, UNSEEN, class_legend
from dashboard.text import escape_html

MAX_ANIMATED = 5500  # words: above this the figure gets no frames (a Streamlit slider instead)


TRAILS = ("#111111", "#6a3d9a", "#01665e", "#8c510a", "#c51b7d", "#4d4d4d", "#1b7837", "#b35806")


@dataclass(frozen=True)
class Colour:
    """Either ``values`` (T x n, continuous) or ``groups`` (name -> (indices, colour)).
    One colour range for every frame (``limits``), so a colour means the same in each."""

    title: str
    values: np.ndarray | None = None
    groups: dict[str, tuple[np.ndarray, str]] | None = None
    scale: str = "RdBu"
    mid: float | None = 0.0
    strength: np.ndarray | None = None  # groups only: 0..1 per word, pale to full colour

    def limits(self) -> tuple[float, float] | None:
        values = np.asarray(self.values, dtype=float)
        if not np.isfinite(values).any():
            return None
        if self.mid is not None:  # symmetric around the midpoint: its colour stays neutral
            half = float(np.nanmax(np.abs(values - self.mid)))
            return self.mid - half, self.mid + half
        return float(np.nanmin(values)), float(np.nanmax(values))


def _hover_parts(static: Sequence[str] | None, idx: np.ndarray) -> dict:
    """With ``static`` (one string per word, the same in every frame) the hover shows it above
    the frame's own text; it is sent once, in ``customdata``, not in every frame."""
    if static is None:
        return dict(hoverinfo="text")
    return dict(customdata=[static[i] for i in idx],
                hovertemplate="%{customdata}<br>%{hovertext}<extra></extra>")


def colour_layer(colour: Colour, n_words: int) -> dict:
    """What the word points take from a colouring: ``values`` (frames x words, a single row
    when they do not change over training; NaN = no value), the ``marker`` style (scale, one
    fixed range for every frame, colour bar; opacity 0 where a word has no value, so the grey
    point drawn underneath shows) and, for groups, the ``legend`` entries (name, colour).
    Every colouring fits the same traces, so the browser can switch between them in place."""
    legend: list[tuple[str, str]] = []
    if colour.groups is not None:  # group g -> a value in [g, g + 1) on a banded scale
        values, stops = np.full((1, n_words), np.nan), []
        k = len(colour.groups)
        strength = (np.full(n_words, 0.5) if colour.strength is None
                    else np.clip(np.nan_to_num(colour.strength, nan=1.0), 0.0, 1.0))
        for g, (name, (idx, solid)) in enumerate(colour.groups.items()):
            values[0, idx] = g + 0.98 * strength[idx]  # below g + 1: stays in its band
            pale = solid if colour.strength is None else paler(solid)
            stops += [[g / k, pale], [(g + 1) / k, solid]]
            legend.append((name, solid))
        marker = dict(colorscale=stops, cmin=0.0, cmax=float(k), showscale=False)
    else:
        values = np.asarray(colour.values, dtype=float)
        if np.allclose(values, values[:1], equal_nan=True):
            values = values[:1]
        low, high = colour.limits() or (0.0, 1.0)
        marker = dict(colorscale=colour.scale, cmin=low, cmax=high, showscale=True,
                      colorbar=dict(title=dict(text=colour.title, side="right"), thickness=12))
    has = np.isfinite(values).all(axis=0)
    marker.update(size=6, opacity=0.8 if has.all() else np.where(has, 0.8, 0.0))
    return dict(values=values.astype(np.float32), marker=marker, legend=legend)


def paler(colour: str, share: float = 0.7) -> str:
    """``colour`` mixed with ``share`` white: the weakest words of a group in a colouring by
    strength (saturation, not lightness, grows with the association)."""
    rgb = plotly.colors.hex_to_rgb(colour) if colour.startswith("#") else \
        plotly.colors.unlabel_rgb(colour)
    mixed = [round(c + (255 - c) * share) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def no_value(layers: Sequence[dict]) -> np.ndarray:
    """Indices of the words some colouring has no value for: drawn light grey underneath."""
    has = np.ones(layers[0]["values"].shape[1], dtype=bool) if layers else np.ones(0, bool)
    for layer in layers:
        has &= np.isfinite(layer["values"]).all(axis=0)
    return np.flatnonzero(~has)


def _point_traces(xy: np.ndarray, hover: Sequence[str], layer: dict, t: int, under: np.ndarray,
                  lean: bool = False, static: Sequence[str] | None = None) -> list:
    """The word points of frame ``t``: light-grey points for the words in ``under`` (without
    this, plotly paints missing values dark and they swamp the picture), then every word
    coloured by ``layer`` (``colour_layer``). The grey trace exists in every frame or in none
    (an empty WebGL trace stalls plotly's animation). ``lean``: only what changes between
    frames (positions, hover, colour values when they change): an animation frame is merged
    into the drawn traces, so repeating names and styles in every frame only adds payload."""
    values = layer["values"]
    colour = values[min(t, len(values) - 1)]
    traces = []
    if len(under):
        traces.append(go.Scattergl(x=xy[under, 0], y=xy[under, 1], meta="under") if lean else
                      go.Scattergl(x=xy[under, 0], y=xy[under, 1], mode="markers", meta="under",
                                   name="no value", marker=dict(size=4, opacity=0.5,
                                                                color=NO_VALUE),
                                   hoverinfo="skip", showlegend=False))
    if lean:
        traces.append(go.Scattergl(x=xy[:, 0], y=xy[:, 1], hovertext=list(hover), meta="points",
                                   marker=dict(color=colour) if len(values) > 1 else None))
        return traces
    every = np.arange(len(xy))
    traces.append(go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="markers", meta="points",
                               name="words", marker=dict(layer["marker"], color=colour),
                               showlegend=False, **_hover_parts(static, every),
                               hovertext=list(hover)))
    return traces


def _legend_traces(entries: Sequence[tuple]) -> list:
    """Legend entries without points: (name, colour) a marker, (name, colour, dash) a line."""
    return [go.Scatter(x=[None], y=[None], name=name, hoverinfo="skip", meta="legend",
                       **(dict(mode="lines", line=dict(color=c[0], dash=c[1], width=2.5))
                          if len(c) > 1 else dict(mode="markers", marker=dict(size=8, color=c[0]))))
            for name, *c in entries]


def _frame_title(label: str, trust: tuple | None, t: int) -> str:
    title = f"Learned word vectors — {label}"
    if trust and len(trust[0]) > t and len(trust[1]) > t:
        previous = trust[2][t] if len(trust) > 2 and len(trust[2]) > t else float("nan")
        title += (f"<br><sup>trustworthiness {trust[0][t]:.2f} against this snapshot, "
                  + (f"{previous:.2f} against the previous one, " if previous == previous
                     else "") + f"{trust[1][t]:.2f} against the last one</sup>")
    return title


_SPOT_PIXELS = {"top": (12, "bottom"), "bottom": (-12, "top"), "middle": (0, "middle"),
                "center": (0, "center"), "right": (12, "left"), "left": (-12, "right")}


def _pinned(x: float, y: float, half: float, **style) -> dict:
    """A shape of ``half`` pixels around the point (x, y) in data units, whatever the zoom."""
    return dict(xref="x", yref="y", xsizemode="pixel", ysizemode="pixel", xanchor=float(x),
                yanchor=float(y), x0=-half, x1=half, y0=-half, y1=half, layer="above", **style)


def _circled(x: float, y: float, word: str, spot: str) -> list[dict]:
    """A highlighted word in one frame: a circle and its label at ``spot`` (label_spots)."""
    vert, horiz = spot.split()
    dy, yanchor = _SPOT_PIXELS[vert]
    dx, xanchor = _SPOT_PIXELS[horiz]
    label = _pinned(x, y, 0, type="rect", line=dict(width=0), label=dict(
        text=word, font=dict(size=15, color="black"), textposition="middle center",
        xanchor=xanchor, yanchor=yanchor))
    label.update(x0=dx, x1=dx, y0=dy, y1=dy)
    return [_pinned(x, y, 9, type="circle", line=dict(width=3, color="black")), label]


def evolution_overlay(coords: np.ndarray, words: Sequence[str], labels: Sequence[str],
                      focus: Sequence[int] = ()) -> dict:
    """The highlighted (``focus``) words as layout shapes, drawn over the WebGL points (layout
    shapes redraw without the points, which is what keeps a highlight fast): ``trails``
    (dotted, one dark colour per word, a dot per snapshot: they must show on any colour
    scale), per frame the circled words and their labels placed apart (``frames``), the
    ``legend`` entries (name, colour) and ``hover``, invisible points that give each trail
    dot its word and snapshot. ``words`` must be plain text (``escape_html``)."""
    xr, yr = stable_ranges(coords)
    extent = (xr[1] - xr[0], yr[1] - yr[0])
    names, focus = [escape_html(words[i]) for i in focus], list(focus)
    trails, legend = [], []
    for n, (i, name) in enumerate(zip(focus, names)):
        colour = TRAILS[n % len(TRAILS)]
        path = "M" + " L".join(f"{x:.6g},{y:.6g}" for x, y in coords[:, i])
        trails.append(dict(type="path", path=path, xref="x", yref="y", layer="above",
                           name=f"trail: {name}", line=dict(width=2.5, dash="dot", color=colour)))
        trails += [_pinned(x, y, 3.5, type="circle", fillcolor=colour, line=dict(width=0))
                   for x, y in coords[:, i]]
        legend.append((f"trail: {name}", colour))
    frames = []
    for xy in coords:
        picked = xy[focus]
        spots = label_spots(picked, names, extent) if names else []
        frames.append([s for (x, y), name, spot in zip(picked, names, spots)
                       for s in _circled(x, y, name, spot)])
    hover = go.Scattergl(
        x=coords[:, focus, 0].T.ravel(), y=coords[:, focus, 1].T.ravel(), mode="markers",
        meta="trails", marker=dict(size=9, opacity=0), showlegend=False, hoverinfo="text",
        hovertext=[f"{name} — {label}" for name in names for label in labels])
    return dict(trails=trails, frames=frames, legend=legend, hover=hover.to_plotly_json())


def evolution_figure(coords: np.ndarray, words: Sequence[str], labels: Sequence[str],
                     hover: Sequence[Sequence[str]], colour: Colour | dict,
                     focus: Sequence[int] = (), frame: int = -1, animate: bool = True,
                     trust: tuple[Sequence[float], Sequence[float]] | None = None,
                     static_hover: Sequence[str] | None = None,
                     under: np.ndarray | None = None) -> go.Figure:
    """Words over the snapshots (``coords`` T x n x 2, each frame fitted on its snapshot):
    frame ``frame`` drawn, one animation frame per snapshot with a slider and play/pause when
    ``animate``; the ``focus`` words circled, with their trail across all snapshots. Each
    frame's title gives its trustworthiness against its own and the last snapshot (``trust``).
    ``hover`` is per frame; ``static_hover`` (per word) is shown above it in every frame
    and sent once. Both, and ``words``, must already be plain text (``escape_html``). ``colour``: a
    ``Colour`` or its ``colour_layer``; ``under``: the words drawn grey underneath (default:
    those this colouring has no value for). Traces carry a ``meta`` name (under, points,
    trails, legend) so the browser can recolour and re-highlight in place
    (dashboard/components/evolution_chart)."""
    t_count, frame = len(coords), frame % len(coords)
    layer = colour if isinstance(colour, dict) else colour_layer(colour, coords.shape[1])
    under = no_value([layer]) if under is None else np.asarray(under, dtype=int)
    overlay = evolution_overlay(coords, words, labels, focus)
    fig = go.Figure(_point_traces(coords[frame], hover[frame], layer, frame, under,
                                  static=static_hover))
    n_animated = len(fig.data)
    fig.add_traces([overlay["hover"]] + _legend_traces(layer["legend"] + [
        (name, colour, "dot") for name, colour in overlay["legend"]]))
    # title top left, toolbar top right, legend under the plot: none covers another
    below = dict(orientation="h", yanchor="top", y=-0.02, xanchor="left", x=0)
    xr, yr = stable_ranges(coords)
    fig.update_layout(title=dict(text=_frame_title(labels[frame], trust, frame), x=0.01,
                                 xanchor="left"),
                      xaxis=dict(range=xr, **AXIS), yaxis=dict(range=yr, **AXIS),
                      shapes=overlay["trails"] + overlay["frames"][frame],
                      uirevision="evolution",
                      **{**MAP, "margin": dict(l=10, r=10, t=70, b=10), "legend": below})
    if animate and t_count > 1:
        _animate(fig, [_point_traces(coords[t], hover[t], layer, t, under, lean=True)
                       for t in range(t_count)], n_animated, labels, trust, frame,
                 [overlay["trails"] + shapes for shapes in overlay["frames"]])
    return fig


def frame_positions(coords: np.ndarray, hover: Sequence[Sequence[str]], under: np.ndarray,
                    labels: Sequence[str], trust=None) -> dict:
    """What a snapshot switch changes in a figure that is not animated (too many words for
    plotly's frames): per snapshot the word points' ``x`` and ``y`` (float32), the hover
    text and the title, and which words are drawn grey underneath (``under``). The browser
    keeps them and moves the drawn WebGL points in place (dashboard/components/
    evolution_chart), so a switch re-sends and re-plots nothing else."""
    xy = np.asarray(coords, dtype=np.float32)
    return dict(x=list(xy[:, :, 0]), y=list(xy[:, :, 1]),
                under=np.asarray(under, dtype=np.int32), hover=[list(h) for h in hover],
                titles=[_frame_title(labels[t], trust, t) for t in range(len(xy))])


def _animate(fig: go.Figure, data: list, n_animated: int, labels: Sequence[str], trust,
             frame: int, shapes: list) -> None:
    """Frames (the points; the highlighted words' circles and labels as each frame's layout
    ``shapes``), a slider under the legend and play/pause at its left."""
    fig.frames = [go.Frame(data=d, traces=list(range(n_animated)), name=str(t),
                           layout=dict(title_text=_frame_title(labels[t], trust, t),
                                       shapes=shapes[t]))
                  for t, d in enumerate(data)]
    still = dict(mode="immediate", frame=dict(duration=0, redraw=True),
                 transition=dict(duration=0))
    fig.update_layout(
        # len < 1 and a right pad: the last step's label (e.g. "epoch 10 (best)") is centred
        # on the slider's end and would be cut off by the chart's edge
        sliders=[dict(active=frame, currentvalue=dict(prefix="Snapshot: "),
                      pad=dict(t=50, r=60), len=0.95,
                      steps=[dict(method="animate", label=labels[t], args=[[str(t)], still])
                             for t in range(len(data))])],
        updatemenus=[dict(type="buttons", direction="left", x=0, y=0, xanchor="right",
                          yanchor="top", pad=dict(t=50, r=10), showactive=False, buttons=[
            dict(label="▶ Play", method="animate", args=[None, dict(
                # from the first snapshot: the figure opens on the last one
                frame=dict(duration=800, redraw=True), fromcurrent=False,
                transition=dict(duration=0))]),
            dict(label="❚❚ Pause", method="animate", args=[[None], still])])],
        height=MAP["height"] + 110)


def evolution_colours(tables: list[pd.DataFrame], n_frames: int, classes: Sequence[str],
                      seen: np.ndarray, counts: np.ndarray,
                      updates: np.ndarray | None = None,
                      sizes: Sequence[int] | None = None,
                      z: pd.DataFrame | None = None, known: bool = True
                      ) -> dict[str, Colour]:
    """The Evolution view's colourings, named for the selectbox, the default first; ``tables``
    are the comparison's per-word tables per snapshot (reindexed to the shown words), maybe
    empty; ``updates`` (frames x words): optimiser steps that touched each word's row so far;
    ``sizes``: the data set's texts per class (which classes keep a colour past nineteen);
    ``z``: the shown words' class association (z_<class> columns; else the tables');
    ``known`` False: the run gave no training counts, and the legend says so."""
    out: dict[str, Colour] = {}
    frames = tables[:n_frames] + tables[-1:] * (n_frames - len(tables)) if tables else []
    z = z if z is not None and z.shape[1] else (tables[0] if tables else None)
    if len(classes) > 2 and z is not None:
        out[CLASS_COLOURING] = class_colouring(z, classes, sizes)
    if len(classes) == 2 and tables and tables[-1]["direction"].notna().any():
        out[f"leaning to '{classes[1]}' (classifier direction)"] = Colour(
            f"{escape_html(classes[0])} ← → {escape_html(classes[1])}<br>(embedding units)",
            np.stack([f["direction"].to_numpy(float) for f in frames]))
    for c in classes if len(classes) > 2 and tables else []:
        if f"d_{c}" in tables[-1] and tables[-1][f"d_{c}"].notna().any():
            out[f"leaning to '{c}' vs the other classes (classifier direction)"] = Colour(
                f"towards {escape_html(c)}<br>(embedding units)",
                np.stack([f[f"d_{c}"].to_numpy(float) for f in frames]))
    for c in classes if z is not None else []:
        out[f"association with '{c}' in the training texts"] = Colour(
            f"z {escape_html(c)}", np.tile(z[f"z_{c}"].to_numpy(float), (n_frames, 1)))
    out["seen vs never seen in training"] = Colour("", groups={
        f"seen in training ({seen.sum():,})": (np.flatnonzero(seen), SEEN),
        f"never seen ({(~seen).sum():,})": (np.flatnonzero(~seen), UNSEEN)}) if known else (
        Colour("", groups={f"training counts not recorded ({len(seen):,} words)":
                           (np.arange(len(seen)), UNSEEN)}))
    out["training frequency (log10)"] = Colour(
        "log10 count", np.tile(np.log10(1 + counts), (n_frames, 1)), scale="Viridis", mid=None)
    if updates is not None:  # one range for all frames: the colours grow as training goes
        out["updates received so far (log10)"] = Colour(
            "log10 (1 + optimiser<br>steps on its row)", np.log10(1 + np.asarray(updates, float)),
            scale="Viridis", mid=None)
    return out


CLASS_COLOURING = "class of each word (see below)"
_FULL_Z = 8.0  # z at which a word's class colour is full; weaker ones are paler


def class_colouring(table: pd.DataFrame, classes: Sequence[str],
                    sizes: Sequence[int] | None = None) -> Colour:
    """Each word in its class's colour (``core.analysis.classes.word_classes`` on the table's
    z_<class> columns), paler the weaker its association; words no class over-uses
    significantly get no value (grey underneath). One legend entry per colour."""
    z = table[[f"z_{c}" for c in classes]].to_numpy(float)
    found = word_classes(z)
    slots, legend = class_legend(classes, sizes)
    slot_of_word = np.where(found.cls >= 0, slots[np.maximum(found.cls, 0)], -1)
    strength = (found.strength - found.threshold) / (_FULL_Z - found.threshold)
    groups = {name: (np.flatnonzero(slot_of_word == s), colour)
              for s, (name, colour) in enumerate(legend)}
    return Colour(f"class (z ≥ {found.threshold:g})", groups=groups, strength=strength)


def class_note(classes: Sequence[str], sizes: Sequence[int] | None = None) -> str:
    """What the class colourings mean for this many classes ("" for two or fewer)."""
    if len(classes) <= 2:
        return ""
    slots, legend = class_legend(classes, sizes)
    grouped = int((slots == len(legend) - 1).sum()) if len(legend) < len(classes) else 0
    return (f" With {len(classes)} classes there is no single classifier direction: each class "
            "has its own (its output row against the others' mean). \"class\" colours each word "
            "by the class whose training texts over-use it most (log-odds z ≥ 1.96; paler = "
            "weaker, grey = no class over-uses it)"
            + (f"; the {grouped} smallest classes share one colour, \"other\"." if grouped
               else "."))

