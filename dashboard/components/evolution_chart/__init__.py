"""The Evolution map as a custom component. The browser keeps the big animated figure
(thousands of WebGL points x every snapshot) and applies a colour or highlight change in place
with one ``Plotly.react`` on the traces it already has: a change costs one redraw and a few
kilobytes, not a re-sent and re-plotted figure of megabytes (st.plotly_chart rebuilds its
WebGL plot on every change). The snapshot on screen, the zoom and Play stay as they are.

plotly.js is the installed plotly package's bundled ``plotly.min.js``: the page fetches
nothing from outside the machine. Streamlit serves a component's own folder only (and follows
no symlink out of it), so index.html, main.js and plotly.min.js are copied into a folder of
the repository's cache (``.cache/components/``, git-ignored, never the source tree) named by
their content, written once per version. The figures are built by
``dashboard.charts.evolution`` (``evolution_figure``, ``colour_layer``, ``evolution_overlay``);
main.js only puts the pieces together.

Typed arrays come from plotly's private ``_plotly_utils.utils.to_typed_array_spec`` (the
``{dtype, bdata}`` form plotly.py itself sends and main.js decodes);
tests/test_evolution_chart.py fails by name if a plotly release changes it."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import plotly
import plotly.io
import streamlit as st
import streamlit.components.v1 as components
from _plotly_utils.utils import to_typed_array_spec

from core.common.files import atomic_write

HERE = Path(__file__).resolve().parent
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
CACHE = HERE.parents[2] / ".cache" / "components" / "evolution_chart"


def served_folder(cache: Path = CACHE) -> Path:
    """The folder Streamlit serves: index.html and main.js from here and the plotly
    package's plotly.min.js, copied under ``cache`` into a folder named by their content
    (a new plotly or an edited main.js gets a new folder; an old one is never half-written)."""
    files = {name: (HERE / name).read_bytes() for name in ("index.html", "main.js")}
    files["plotly.min.js"] = PLOTLY_JS.read_bytes()
    digest = hashlib.sha256()
    for name, data in files.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    folder = cache / digest.hexdigest()[:16]
    for name, data in files.items():
        if not (folder / name).is_file():
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write(folder / name, data)
    return folder


_component = components.declare_component("evolution_chart", path=str(served_folder()))


def _layer_json(layer: dict) -> dict:
    """A colour layer for the browser: value rows and per-point opacity as typed arrays."""
    marker = dict(layer["marker"])
    if isinstance(marker["opacity"], np.ndarray):
        marker["opacity"] = to_typed_array_spec(marker["opacity"].astype(np.float32))
    return dict(values=[to_typed_array_spec(row) for row in layer["values"]], marker=marker,
                legend=layer["legend"])


def _positions_json(positions: dict | None) -> str:
    """``evolution.frame_positions`` for the browser: coordinates as typed arrays."""
    if positions is None:
        return "null"
    out = dict(positions, under=to_typed_array_spec(positions["under"]))
    for axis in ("x", "y"):
        out[axis] = [to_typed_array_spec(np.ascontiguousarray(v)) for v in positions[axis]]
    return json.dumps(out, cls=plotly.utils.PlotlyJSONEncoder)


def payload(figure, layers: list[dict], frame: int, positions: dict | None = None
            ) -> tuple[str, bytes]:
    """(id, bytes) of what the browser keeps: the figure (built with the first colouring and
    no highlight, at snapshot ``frame``), every colouring's layer (in the selectbox's order:
    the browser is told a position, never a user-derived name) and, for a figure too big to
    animate, every snapshot's ``positions`` (``evolution.frame_positions``): a snapshot
    switch then sends only the snapshot's number."""
    colours = json.dumps([_layer_json(layer) for layer in layers],
                         cls=plotly.utils.PlotlyJSONEncoder)
    body = (f'{{"frame":{int(frame)},"figure":{figure.to_json()},"colours":{colours},'
            f'"positions":{_positions_json(positions)}}}').encode("utf-8")
    return hashlib.sha256(body).hexdigest()[:16], body


def evolution_chart(base: tuple[str, bytes], colour: int, overlay: dict, key: str,
                    frame: int = -1) -> None:
    """Draw (or update in place) the map: ``base`` from ``payload``, the colouring's position,
    ``evolution.evolution_overlay`` of the highlighted words and, for a figure sent with its
    positions, the snapshot to show (``frame``). The figure's bytes go only to a page that
    does not hold them yet: the browser reports the id it holds as the component's value
    (under ``key``), and asks again (reports none) if it lost them."""
    held = st.session_state.get(key) == base[0]
    _component(figure_id=base[0], figure=None if held else base[1], colour=colour,
               overlay=json.dumps(overlay, cls=plotly.utils.PlotlyJSONEncoder), key=key,
               frame=int(frame), default=None)
