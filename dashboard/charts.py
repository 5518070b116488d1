"""What the Evolution, Learned vs pretrained and Documents views share: the run picker, the
"UMAP if cached, else PCA" loading rule, and the plotly figure builders.

No maths here: coordinates, neighbours and scores come from core (core.runs.views); this module
only selects and formats them. Large point sets use WebGL (``go.Scattergl``) and never
per-point annotations.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
import streamlit as st

from core.analysis.measures import MIN_RELIABLE_PAIRS
from dashboard import services

MAX_ANIMATED = 5500  # words: above this the figure gets no frames (a Streamlit slider instead)
POLL_SECONDS = 2.0
PALETTE = tuple(plotly.colors.qualitative.D3)
SEEN, UNSEEN = "#4c78a8", "#f58518"


def class_colours(n_classes: int) -> list[str]:
    """Class i's colour, the same on every page (class balance, documents, ...)."""
    return [PALETTE[i % len(PALETTE)] for i in range(n_classes)]
NO_VALUE = "#d3d3d3"  # points without a colour value
TRAILS = ("#111111", "#6a3d9a", "#01665e", "#8c510a", "#c51b7d", "#4d4d4d", "#1b7837", "#b35806")
_MAP = dict(margin=dict(l=10, r=10, t=40, b=10), height=520, plot_bgcolor="#fafafa",
            legend=dict(orientation="h", yanchor="top", y=-0.04, x=0),
            hoverlabel=dict(align="left"))
_AXIS = dict(showticklabels=False, title=None, zeroline=False, showgrid=False)


def text(value: object) -> str:
    """A user-derived string (word, class, run or file name, document text) as plain text in
    a figure: plotly renders an HTML subset in names, labels, titles and hover, so markup a
    user typed would run (a <span style="fill:url(...)"> makes the browser fetch a URL)."""
    return html.escape(str(value), quote=False)


# ---------------------------------------------------------------------------- page helpers
def pick_run(page: str):
    """The run this page shows (``widgets.pick_run``: the active run, or one picked for this
    page only), or None after telling the user why there is nothing to show."""
    from dashboard import widgets  # widgets imports this module

    return widgets.pick_run(page)


def load_layout(run, reader: Callable[..., Any], **kw: Any) -> tuple[Any, bool]:
    """``reader(store, run_id, method, cached_only=True)`` with UMAP when the engine has it,
    else PCA (computed on request in well under a second). Returns (result, still_pending)."""
    store, views = services.store(), run.info.get("views", "pending")
    if run.info.get("views_method", "umap") != "pca":
        got = services.attempt(reader, store, run.run_id, "umap", cached_only=True, **kw)
        if got is not None:
            return got, False
    pending = run.status == "done" and views in ("pending", "computing")
    if views == "failed":
        st.warning("The UMAP layout could not be computed "
                   f"({run.info.get('views_error', 'no reason recorded')}); showing PCA.")
    elif pending:
        st.caption(":material/hourglass_top: UMAP layout is being computed… showing the PCA "
                   "layout meanwhile; the page updates by itself.")
    return services.attempt(reader, store, run.run_id, "pca", cached_only=True, **kw), pending


def poll_until_ready(run_id: str) -> None:
    """Rerun the page once the engine has finished this run's views."""
    from core.runs.views import views_state

    @st.fragment(run_every=POLL_SECONDS)
    def poll() -> None:
        if services.attempt(views_state, services.store(), run_id) in ("ready", "failed"):
            st.rerun()

    poll()


def epoch_labels(run) -> list[str]:
    return ["start" if s["epoch"] == 0 and s["step"] == 0 else f"epoch {s['epoch']}"
            for s in run.snapshots]


def join_words(words: Sequence[str], n: int = 6) -> str:
    return ", ".join(list(words)[:n])


# ---------------------------------------------------------------------------- evolution
@dataclass(frozen=True)
class Colour:
    """Either ``values`` (T x n, continuous) or ``groups`` (name -> (indices, colour)).
    One colour range for every frame (``limits``), so a colour means the same in each."""

    title: str
    values: np.ndarray | None = None
    groups: dict[str, tuple[np.ndarray, str]] | None = None
    scale: str = "RdBu"
    mid: float | None = 0.0

    def limits(self) -> tuple[float, float] | None:
        values = np.asarray(self.values, dtype=float)
        if not np.isfinite(values).any():
            return None
        if self.mid is not None:  # symmetric around the midpoint: its colour stays neutral
            half = float(np.nanmax(np.abs(values - self.mid)))
            return self.mid - half, self.mid + half
        return float(np.nanmin(values)), float(np.nanmax(values))


def _ranges(coords: np.ndarray) -> tuple[list[float], list[float]]:
    lo, hi = np.nanmin(coords, axis=(0, 1)), np.nanmax(coords, axis=(0, 1))
    pad = (hi - lo) * 0.04 + 1e-6
    return [float(lo[0] - pad[0]), float(hi[0] + pad[0])], [float(lo[1] - pad[1]),
                                                            float(hi[1] + pad[1])]


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
    if colour.groups is not None:  # group g -> value g on a stepped scale of solid colours
        values, stops = np.full((1, n_words), np.nan), []
        k = len(colour.groups)
        for g, (name, (idx, solid)) in enumerate(colour.groups.items()):
            values[0, idx] = g
            stops += [[g / k, solid], [(g + 1) / k, solid]]
            legend.append((name, solid))
        marker = dict(colorscale=stops, cmin=-0.5, cmax=k - 0.5, showscale=False)
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


def _focus_trace(xy: np.ndarray, words: Sequence[str], focus: Sequence[int],
                 extent: tuple[float, float] = (1.0, 1.0), lean: bool = False) -> go.Scattergl:
    # WebGL too: an SVG trace would be drawn under the WebGL points and its labels hidden
    picked = xy[list(focus)]
    names = [text(words[i]) for i in focus]
    if lean:  # an animation frame: the circles' places and label positions only
        return go.Scattergl(x=picked[:, 0], y=picked[:, 1],
                            textposition=label_spots(picked, names, extent) if names else None)
    return go.Scattergl(x=picked[:, 0], y=picked[:, 1], mode="markers+text", text=names,
                        textposition=label_spots(picked, names, extent) if names else None,
                        name="searched", marker=dict(size=18, symbol="circle-open", color="black",
                                                     line=dict(width=3)),
                        textfont=dict(size=15, color="black"), hoverinfo="skip", showlegend=False)


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
    dot its word and snapshot. ``words`` must be plain text (``text``)."""
    xr, yr = _ranges(coords)
    extent = (xr[1] - xr[0], yr[1] - yr[0])
    names, focus = [text(words[i]) for i in focus], list(focus)
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
    and sent once. Both, and ``words``, must already be plain text (``text``). ``colour``: a
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
    xr, yr = _ranges(coords)
    fig.update_layout(title=dict(text=_frame_title(labels[frame], trust, frame), x=0.01,
                                 xanchor="left"),
                      xaxis=dict(range=xr, **_AXIS), yaxis=dict(range=yr, **_AXIS),
                      shapes=overlay["trails"] + overlay["frames"][frame],
                      uirevision="evolution",
                      **{**_MAP, "margin": dict(l=10, r=10, t=70, b=10), "legend": below})
    if animate and t_count > 1:
        _animate(fig, [_point_traces(coords[t], hover[t], layer, t, under, lean=True)
                       for t in range(t_count)], n_animated, labels, trust, frame,
                 [overlay["trails"] + shapes for shapes in overlay["frames"]])
    return fig


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
        height=_MAP["height"] + 110)


def evolution_colours(tables: list[pd.DataFrame], n_frames: int, classes: Sequence[str],
                      seen: np.ndarray, counts: np.ndarray,
                      updates: np.ndarray | None = None) -> dict[str, Colour]:
    """The Evolution view's colourings, named for the selectbox; ``tables`` are the
    comparison's per-word tables per snapshot (reindexed to the shown words), maybe empty;
    ``updates`` (frames x words): optimiser steps that touched each word's row so far."""
    out: dict[str, Colour] = {}
    frames = tables[:n_frames] + tables[-1:] * (n_frames - len(tables)) if tables else []
    if len(classes) == 2 and tables and tables[-1]["direction"].notna().any():
        out[f"leaning to '{classes[1]}' (classifier direction)"] = Colour(
            f"{text(classes[0])} ← → {text(classes[1])}<br>(embedding units)",
            np.stack([f["direction"].to_numpy(float) for f in frames]))
    for c in classes if tables else []:
        z = tables[0][f"z_{c}"].to_numpy(float)
        out[f"association with '{c}' in the training texts"] = Colour(
            f"z {text(c)}", np.tile(z, (n_frames, 1)))
    out["seen vs never seen in training"] = Colour("", groups={
        f"seen in training ({seen.sum():,})": (np.flatnonzero(seen), SEEN),
        f"never seen ({(~seen).sum():,})": (np.flatnonzero(~seen), UNSEEN)})
    out["training frequency (log10)"] = Colour(
        "log10 count", np.tile(np.log10(1 + counts), (n_frames, 1)), scale="Viridis", mid=None)
    if updates is not None:  # one range for all frames: the colours grow as training goes
        out["updates received so far (log10)"] = Colour(
            "log10 (1 + optimiser<br>steps on its row)", np.log10(1 + np.asarray(updates, float)),
            scale="Viridis", mid=None)
    return out


def html_download(build: Callable[[], go.Figure]) -> Callable[[], bytes]:
    """The figure ``build()`` makes as one self-contained interactive HTML file (plotly.js
    inside: opening it fetches nothing), built only when the download button is clicked."""
    return lambda: build().to_html(include_plotlyjs=True, full_html=True).encode("utf-8")


def drift_section(comp, pending: bool, error: str | None = None) -> None:
    """The Evolution view's "How far each word moved": histogram and most-moved words;
    ``error``: why the run's comparison failed (e.g. none of its words is in GloVe)."""
    st.subheader("How far each word moved")
    if comp is None:
        st.info("The drift measures are being computed." if pending else
                "The per-word measures could not be computed for this run: "
                + services.plain(error) if error else
                "The per-word measures are not available for this run (they are computed for "
                "finished runs).")
        return
    last = comp.words[-1]
    moved = last[last["seen"]].nlargest(20, "drift_from_start")
    a, b = st.columns(2)
    a.plotly_chart(histogram(
        {"seen in training": last.loc[last["seen"], "drift_from_start"],
         "never seen": last.loc[~last["seen"], "drift_from_start"]},
        "Drift from the initial vector (last snapshot)", "drift from start"), key="drift_hist")
    b.plotly_chart(top_bars(
        [text(w) for w in moved["word"]], moved["drift_from_start"].tolist(), "Most-moved words",
        "drift from start",
        hover=[f"new neighbours: {text(join_words(g))}" for g in moved["gained"]]),
        key="drift_top")
    st.caption("Drift is the distance between a word's vector now and at the start. Never-seen "
               "words cannot drift: only rows that appear in a training batch get a gradient.")


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
                      **{**_MAP, "height": 340, "legend": dict(orientation="h", y=-0.25)})
    return fig


def top_bars(words: Sequence[str], values: Sequence[float], title: str, x_title: str,
             hover: Sequence[str] | None = None) -> go.Figure:
    """Horizontal bars, first item on top."""
    fig = go.Figure(go.Bar(x=list(values)[::-1], y=[text(w) for w in words][::-1],
                           orientation="h", marker_color=SEEN,
                           hovertext=None if hover is None else list(hover)[::-1]))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_type="category",
                      **{**_MAP, "height": max(300, 22 * len(words) + 90), "plot_bgcolor": None})
    return fig


# ---------------------------------------------------------------------------- maps
def word_map(xy: np.ndarray, words: Sequence[str], seen: np.ndarray, title: str,
             hover: Sequence[str], focus: int | None = None,
             neighbors: Sequence[int] = ()) -> go.Figure:
    """One projection of the words: seen / never-seen points, the ``focus`` word circled and
    its ``neighbors`` (indices into ``words``) labelled. ``hover`` must be plain text."""
    words = [text(w) for w in words]
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
    fig.update_layout(title=title, xaxis=_AXIS, yaxis=_AXIS, **_MAP)
    return fig


def document_map(xy: np.ndarray, labels: Sequence[str], classes: Sequence[str],
                 texts: Sequence[str], title: str, ranges=None) -> go.Figure:
    """Documents coloured by their label (same colour per class in every figure)."""
    fig = go.Figure()
    labels = np.asarray(labels)
    for c, name in enumerate(classes):
        idx = np.flatnonzero(labels == name)
        shown = text(name)
        fig.add_trace(go.Scattergl(x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=shown,
                                   marker=dict(size=6, color=class_colours(c + 1)[c],
                                               opacity=0.75),
                                   hovertext=[f"<b>{shown}</b><br>{text(texts[i])}" for i in idx],
                                   hoverinfo="text"))
    axes = ({} if ranges is None else dict(xaxis=dict(range=ranges[0], **_AXIS),
                                             yaxis=dict(range=ranges[1], **_AXIS)))
    fig.update_layout(title=title, **{"xaxis": _AXIS, "yaxis": _AXIS, **axes}, **_MAP)
    return fig


def stable_ranges(coords: np.ndarray):
    """Axis ranges covering every frame, so a slider does not rescale the picture."""
    return _ranges(coords)


def truncate(text: str, n: int = 90) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


# ---------------------------------------------------------------------------- measures
MEASURES = (("mean_jaccard", "mean Jaccard@k with {space}"), ("cka", "CKA with {space}"),
            ("wordsim353_rho", "WordSim353 ρ"), ("simlex999_rho", "SimLex999 ρ"),
            ("val_accuracy", "validation accuracy"))


def _measure_traces(table: pd.DataFrame, key: str, name: str, colour: str,
                    x: Sequence[str]) -> list:
    """One measure per snapshot. A benchmark's rho comes with its 95 % interval and its
    number of pairs; under ``MIN_RELIABLE_PAIRS`` pairs only a legend entry says "too few
    pairs (n)": a line from so few pairs would read as a finding."""
    if key not in table:
        return []
    if not key.endswith("_rho"):
        if key in ("mean_jaccard", "jaccard_at_k", "cka") and "n_words" in table:
            name = f"{name} (over {int(table['n_words'].iloc[-1]):,} words)"
        return [go.Scatter(x=list(x), y=table[key], mode="lines+markers", name=name,
                           line=dict(color=colour))] if table[key].notna().any() else []
    bench = key[: -len("_rho")]
    n = int(np.nanmax(table[f"{bench}_found"])) if f"{bench}_found" in table else 0
    if n < MIN_RELIABLE_PAIRS:
        return [go.Scatter(x=[x[0]], y=[None], mode="lines", line=dict(color=colour),
                           name=f"{name}: too few pairs ({n})", hoverinfo="skip")]
    if not table[key].notna().any():
        return []
    rho = table[key].to_numpy(float)
    return [go.Scatter(x=list(x), y=rho, mode="lines+markers", line=dict(color=colour),
                       name=f"{name} ({n} pairs; bars: 95 % interval)",
                       error_y=dict(type="data", symmetric=False, thickness=1,
                                    array=table[f"{bench}_high"].to_numpy(float) - rho,
                                    arrayminus=rho - table[f"{bench}_low"].to_numpy(float)))]


def _reference_rho(x: Sequence[str], score: dict | None, name: str, colour: str) -> list:
    """GloVe's own rho on the same pairs, dashed, if it rests on enough pairs."""
    score = score or {}
    rho, n = score.get("rho"), int(score.get("n_found") or 0)
    if rho is None or not np.isfinite(rho) or n < MIN_RELIABLE_PAIRS:
        return []
    return [go.Scatter(x=[x[0], x[-1]], y=[rho, rho], mode="lines", name=f"{name} ({n} pairs)",
                       line=dict(color=colour, dash="dash", width=1))]


def measures_figure(snapshots: pd.DataFrame, reference: dict, labels: Sequence[str],
                    space: str = "GloVe") -> go.Figure:
    """The comparison's global measures per snapshot; the compared ``space``'s own
    word-similarity scores on the same words as dashed reference lines."""
    fig = go.Figure()
    for (key, name), colour in zip(MEASURES, PALETTE):
        fig.add_traces(_measure_traces(snapshots, key, name.format(space=space), colour, labels))
    for key, name, colour in (("wordsim353", f"WordSim353 ρ of {space}", PALETTE[2]),
                              ("simlex999", f"SimLex999 ρ of {space}", PALETTE[3])):
        fig.add_traces(_reference_rho(labels, reference.get(key), name, colour))
    fig.update_layout(title=f"Learned space vs {space} over training", yaxis_title="score",
                      **{**_MAP, "height": 380, "plot_bgcolor": None,
                         "legend": dict(orientation="h", y=-0.15)})
    return fig


# ---------------------------------------------------------------------------- experiments
_LINES = {**_MAP, "height": 400, "plot_bgcolor": None,
          "legend": dict(orientation="h", yanchor="top", y=-0.18, x=0)}


def init_label(init: object) -> str:
    """A start's name for a legend: a vector file by its file name, not its full path."""
    name = str(init)
    return text(f"file {Path(name).name}" if "/" in name else name)


def size_label(size: str, n_train: float) -> str:
    """'100', or 'all (400)' for the whole training pool."""
    return f"all ({int(n_train):,})" if str(size) == "all" else str(size)


def mark_best_epoch(fig: go.Figure, epochs: Sequence[dict]) -> go.Figure:
    """A dotted vertical line at the best epoch (lowest validation loss: the rule
    ``RunInfo.best`` applies) labelled "best epoch N"; when the last epoch's row says the
    run stopped early, the title says so."""
    from core.store.runstore import best_epoch

    best = best_epoch(list(epochs), [])
    if best is not None:
        fig.add_vline(x=best["epoch"], line=dict(color="grey", dash="dot", width=1),
                      annotation_text=f"best epoch {best['epoch']}",
                      annotation_position="top")
    if epochs and epochs[-1].get("stopped_early"):
        fig.update_layout(title=f"{fig.layout.title.text or ''} (stopped early at epoch "
                                f"{int(epochs[-1]['epoch'])})")
    return fig


def learning_curve_figure(summary: pd.DataFrame, prefix: str = "acc",
                          title: str = "Validation accuracy (at each run's best epoch) vs "
                                       "training size",
                          baseline: float | None = None) -> go.Figure:
    """One line per init over the training size (log x): mean over seeds with its 95 %
    interval as error bars (none with a single seed); ``baseline`` (always guessing the most
    frequent validation class) dashed."""
    fig = go.Figure()
    for n, (init, rows) in enumerate(summary.groupby("init", sort=False)):
        rows = rows.sort_values("n_train")
        mean = rows[f"{prefix}_mean"].to_numpy(dtype=float)
        up = np.nan_to_num(rows[f"{prefix}_high"].to_numpy(dtype=float) - mean)
        down = np.nan_to_num(mean - rows[f"{prefix}_low"].to_numpy(dtype=float))
        fig.add_trace(go.Scatter(
            x=rows["n_train"].astype(float).tolist(), y=mean.tolist(),
            mode="lines+markers", name=init_label(init),
            line=dict(color=PALETTE[n % len(PALETTE)]),
            error_y=dict(type="data", symmetric=False, array=up.tolist(),
                         arrayminus=down.tolist(), visible=bool(up.any())),
            customdata=[[size_label(s, t), int(r)] for s, t, r in
                        zip(rows["size"], rows["n_train"], rows["runs"])],
            hovertemplate="%{fullData.name}<br>size %{customdata[0]}: %{y:.1%} "
                          "(mean of %{customdata[1]} runs)<extra></extra>"))
    if baseline is not None:
        fig.add_hline(y=baseline, line=dict(color="grey", dash="dash", width=1))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", hoverinfo="skip",
                                 line=dict(color="grey", dash="dash", width=1),
                                 name=f"majority class ({baseline:.1%})"))
    fig.update_layout(title=title, xaxis_title="training texts (log scale)",
                      yaxis_title="accuracy", yaxis_tickformat=".0%", **_LINES)
    ticks = summary.drop_duplicates("n_train").sort_values("n_train")  # ticks at the sizes run
    fig.update_xaxes(type="log", tickvals=ticks["n_train"].astype(float).tolist(),
                     ticktext=[size_label(s, t) for s, t in zip(ticks["size"], ticks["n_train"])])
    return fig


def unseen_figure(summary: pd.DataFrame) -> go.Figure:
    """Accuracy on the validation documents whose key words never occur in training, bars per
    init and size, each labelled with how many documents that subset holds."""
    fig = go.Figure()
    for n, (init, rows) in enumerate(summary.groupby("init", sort=False)):
        rows = rows.sort_values("n_train")
        spread = rows["unseen_std"].fillna(0).to_numpy(dtype=float)
        fig.add_trace(go.Bar(
            x=[size_label(s, t) for s, t in zip(rows["size"], rows["n_train"])],
            y=rows["unseen_mean"].astype(float).tolist(), name=init_label(init),
            marker_color=PALETTE[n % len(PALETTE)],
            error_y=dict(type="data", array=spread.tolist(), visible=bool(spread.any())),
            text=[f"n={m:.0f}" if np.isfinite(m) else "n=0"
                  for m in rows["n_unseen_mean"].astype(float)],
            textposition="outside", cliponaxis=False,
            hovertemplate="%{fullData.name}, size %{x}: %{y:.1%} on %{text} documents"
                          "<extra></extra>"))
    fig.update_layout(title="Accuracy on documents whose key words never occur in training",
                      xaxis_title="training texts", yaxis_title="accuracy", barmode="group",
                      yaxis_tickformat=".0%", xaxis_type="category", **_LINES)
    return fig


# ---------------------------------------------------------------------------- semantics
SEMANTICS = (("wordsim353_rho", "WordSim353 ρ"), ("simlex999_rho", "SimLex999 ρ"),
             ("jaccard_at_k", "Jaccard@k with GloVe"), ("cka", "CKA with GloVe"))


def semantics_figure(table: pd.DataFrame, labels: Sequence[str]) -> go.Figure:
    """core.runs.semantics.semantics_over_epochs per snapshot: the task (validation accuracy, thick)
    next to the general-semantics measures; GloVe's own benchmark scores dashed."""
    fig = go.Figure()
    x = list(labels)
    for (key, name), colour in zip(SEMANTICS, PALETTE[1:]):
        fig.add_traces(_measure_traces(table, key, name, colour, x))
    for key, name, colour in (("wordsim353", "WordSim353 ρ of GloVe", PALETTE[1]),
                              ("simlex999", "SimLex999 ρ of GloVe", PALETTE[2])):
        fig.add_traces(_reference_rho(x, {"rho": float(table[f"{key}_rho_reference"].iloc[0]),
                                          "n_found": int(table[f"{key}_found"].max())},
                                      name, colour))
    fig.add_trace(go.Scatter(x=x, y=table["val_accuracy"], mode="lines+markers",
                             name="validation accuracy (the task)", connectgaps=True,
                             line=dict(color="black", width=4)))
    fig.update_layout(title="The task vs general word semantics, per epoch", yaxis_title="score",
                      **_LINES)
    return fig


def pair_figure(pairs: pd.DataFrame, labels: Sequence[str]) -> go.Figure:
    """Cosine similarity of each word pair per snapshot in the learned space (solid) and in
    GloVe (dashed, constant), one colour per pair."""
    fig = go.Figure()
    steps = sorted(pairs["snapshot"].unique())
    x = [labels[i] if i < len(labels) else str(s) for i, s in enumerate(steps)]
    for n, ((a, b), rows) in enumerate(pairs.groupby(["word_a", "word_b"], sort=False)):
        colour = PALETTE[n % len(PALETTE)]
        fig.add_trace(go.Scatter(x=x, y=rows.sort_values("snapshot")["cosine"],
                                 name=f"{text(a)} / {text(b)}",
                                 mode="lines+markers", line=dict(color=colour)))
        ref = float(rows["cosine_glove"].iloc[0])
        if np.isfinite(ref):
            fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[ref, ref], mode="lines",
                                     name=f"{text(a)} / {text(b)} in GloVe",
                                     line=dict(color=colour, dash="dash", width=1)))
    fig.update_layout(title="Word-pair similarity over training", yaxis_title="cosine",
                      yaxis_range=[-1.05, 1.05], **_LINES)
    return fig


# ---------------------------------------------------------------------------- lookup table
def lookup_heatmap(values: np.ndarray, labels: Sequence[str], title: str,
                   pooled: np.ndarray | None = None, pooled_title: str = "") -> go.Figure:
    """Rows of the embedding table (one per label, first on top; columns = dimensions) and,
    under them on the same dimensions and colours, the ``pooled`` vector the next layer
    receives. Diverging scale symmetric around 0. ``labels`` are user text: escaped here."""
    from plotly.subplots import make_subplots

    values = np.asarray(values, dtype=float)
    shown, n = [text(label) for label in labels], len(values)
    extra = pooled is not None
    height = 20 * n + 110 + 80 * extra
    fig = make_subplots(rows=1 + extra, cols=1, shared_xaxes=True,
                        vertical_spacing=50 / height,  # room for the second title, in pixels
                        row_heights=[n, 1.5] if extra else None,
                        subplot_titles=("", pooled_title) if extra else None)
    dims = list(range(values.shape[1]))
    hover = "%{y}<br>dimension %{x}: %{z:.3f}<extra></extra>"
    fig.add_trace(go.Heatmap(z=values, y=shown, x=dims, coloraxis="coloraxis",
                             hovertemplate=hover), row=1, col=1)
    if extra:
        fig.add_trace(go.Heatmap(z=np.asarray(pooled, dtype=float)[None, :], y=["mean"], x=dims,
                                 coloraxis="coloraxis", hovertemplate=hover), row=2, col=1)
    limit = float(np.abs(values).max() or 1.0)
    fig.update_layout(title=title, plot_bgcolor=None, margin=dict(l=10, r=10, t=40, b=10),
                      coloraxis=dict(colorscale="RdBu", reversescale=True, cmin=-limit,
                                     cmax=limit, colorbar=dict(thickness=10)),
                      height=height)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title_text="dimension", row=1 + extra, col=1)
    return fig


def seconds_text(seconds: float) -> str:
    """'4.9 µs', '0.84 ms', '46 ms', '1.2 s'."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{seconds * 1e9:.0f} ns"


def size_text(n_bytes: float) -> str:
    """'160 B', '7.1 kB', '32.0 MB' (powers of 1000)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{int(n_bytes)} B"


def cost_table(costs: Sequence[Any]) -> pd.DataFrame:
    """core.analysis.lookup.Cost per table size as a column (measures as rows, so it fits a
    narrow column): both times, how many times slower the one-hot product is, the input
    each route needs and each route's measured peak memory."""
    return pd.DataFrame({f"{c.n_rows:,} words": {
        "dimensions": f"{c.dim}", "text tokens": f"{c.n_tokens}",
        "lookup: table[ids]": seconds_text(c.lookup_seconds),
        "one-hot × matrix": seconds_text(c.product_seconds),
        "one-hot is slower by": f"{c.ratio:,.0f}×",
        "input: ids": size_text(c.index_bytes), "input: one-hot": size_text(c.one_hot_bytes),
        "peak memory: lookup": size_text(c.lookup_peak_bytes),
        "peak memory: one-hot": size_text(c.product_peak_bytes)} for c in costs})


def token_table(tokens: Sequence[str], ids: np.ndarray, itos: Sequence[str],
                train_counts: np.ndarray | None, updates: np.ndarray | None) -> pd.DataFrame:
    """The Lookup view's table, one line per token: its id (-1: the table has no row for it),
    the row's word, and where known whether training saw it and the updates it received."""
    ids = np.asarray(ids)
    has = ids >= 0
    table = pd.DataFrame({"token": list(tokens), "id": ids,
                          "row": [itos[i] if i >= 0 else "(no row)" for i in ids]})
    for name, values in (("training count", train_counts), ("updates so far", updates)):
        if values is not None:
            table[name] = np.where(has, np.asarray(values)[np.where(has, ids, 0)], 0)
    if train_counts is not None:
        table.insert(3, "seen in training", table["training count"] > 0)
    return table
