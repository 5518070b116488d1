"""The Evolution map's pieces (dashboard/charts/evolution.py and dashboard/components/evolution_chart):
colour layers that fit the same traces, highlights as layout shapes, and the payload the
browser keeps. Tiny hand-made worlds; the browser side is in tests/browser/test_run_views.py."""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from dashboard.charts import evolution

WORDS = ["good", "great", "bad", "awful"]
COORDS = np.array([[[0.0, 0.0], [0.02, 0.0], [0.0, 1.0], [1.0, 1.0]],
                   [[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]]])  # 2 frames x 4 words
LABELS = ["start", "epoch 1"]
HOVER = [[f"h{t}{i}" for i in range(4)] for t in range(2)]


def typed(spec) -> np.ndarray:
    return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=spec["dtype"])


def _band(layer, value: float) -> list[str]:
    """The colours of the colour-scale band that ``value`` falls in."""
    scale, low, high = (layer["marker"][k] for k in ("colorscale", "cmin", "cmax"))
    where = (value - low) / (high - low)
    return [(c0, c1) for (lo, c0), (hi, c1) in zip(scale[::2], scale[1::2]) if lo <= where < hi]


def test_groups_become_values_on_a_stepped_scale():
    colour = evolution.Colour("", groups={"seen (3)": (np.array([0, 1, 2]), "#111111"),
                                       "never seen (1)": (np.array([3]), "#222222")})
    layer = evolution.colour_layer(colour, 4)
    assert np.floor(layer["values"]).tolist() == [[0, 0, 0, 1]]
    assert layer["legend"] == [("seen (3)", "#111111"), ("never seen (1)", "#222222")]
    # each word's value falls in its own group's band, a band of one solid colour
    for word, solid in enumerate(("#111111",) * 3 + ("#222222",)):
        assert _band(layer, layer["values"][0, word]) == [(solid, solid)]
    assert layer["marker"]["showscale"] is False


def test_group_strength_runs_from_pale_to_full_colour_inside_the_band():
    colour = evolution.Colour("", groups={"a": (np.array([0, 1]), "#ff0000"),
                                       "b": (np.array([2, 3]), "#0000ff")},
                              strength=np.array([0.0, 1.0, 0.2, np.nan]))
    layer = evolution.colour_layer(colour, 4)
    values = layer["values"][0]
    assert _band(layer, values[0]) == _band(layer, values[1]) == [("#ffb2b2", "#ff0000")]
    assert _band(layer, values[2]) == _band(layer, values[3]) == [("#b2b2ff", "#0000ff")]
    assert values[0] < values[1] and values[2] < values[3]  # weak word paler than strong
    assert values[0] == 0.0 and values[1] < 1.0 and values[2] >= 1.0


def test_values_keep_one_range_and_hide_missing_words():
    values = np.array([[-1.0, 0.5, np.nan, 0.0], [-4.0, 8.0, np.nan, 1.0]])
    layer = evolution.colour_layer(evolution.Colour("d", values), 4)
    assert (layer["marker"]["cmin"], layer["marker"]["cmax"]) == (-8.0, 8.0)  # both frames
    assert layer["values"].shape == (2, 4)
    assert layer["marker"]["opacity"].tolist() == [0.8, 0.8, 0.0, 0.8]  # grey shows under
    constant = evolution.colour_layer(evolution.Colour("f", np.tile([1.0, 2, 3, 4], (2, 1))), 4)
    assert constant["values"].shape == (1, 4)  # sent once, not per frame
    assert evolution.no_value([layer, constant]).tolist() == [2]


def test_highlight_is_shapes_per_frame_with_labels_apart():
    overlay = evolution.evolution_overlay(COORDS, WORDS, LABELS, [0, 1])
    paths = [s for s in overlay["trails"] if s["type"] == "path"]
    assert [s["name"] for s in paths] == ["trail: good", "trail: great"]
    assert paths[1]["path"] == "M0.02,0 L2,0"
    assert overlay["legend"] == [("trail: good", evolution.TRAILS[0]),
                                 ("trail: great", evolution.TRAILS[1])]
    assert overlay["hover"]["hovertext"] == ["good — start", "good — epoch 1",
                                            "great — start", "great — epoch 1"]
    for t, frame in enumerate(overlay["frames"]):
        circles = [s for s in frame if s["type"] == "circle"]
        assert [(s["xanchor"], s["yanchor"]) for s in circles] == [
            tuple(COORDS[t, 0]), tuple(COORDS[t, 1])]
        labels = [s["label"] for s in frame if "label" in s]
        assert [lab["text"] for lab in labels] == ["good", "great"]
        assert all(s["layer"] == "above" for s in frame)  # over the WebGL points
    # at the start the two words nearly touch: their labels take different spots
    first = [(s["x0"], s["y0"]) for s in overlay["frames"][0] if "label" in s]
    assert first[0] != first[1]


def test_figure_frames_carry_colours_and_highlight():
    colour = evolution.Colour("d", np.array([[-1.0, 0.5, np.nan, 0.0], [-4.0, 8.0, np.nan, 1.0]]))
    fig = evolution.evolution_figure(COORDS, WORDS, LABELS, HOVER, colour, focus=[2])
    metas = [t.meta for t in fig.data]
    assert metas[:3] == ["under", "points", "trails"]
    points = fig.data[1]
    assert list(points.marker.color) == [-4.0, 8.0, pytest.approx(np.nan, nan_ok=True), 1.0]
    assert (list(fig.data[0].x), list(fig.data[0].y)) == ([0.0], [2.0])  # grey, under
    for t, frame in enumerate(fig.frames):
        assert frame.traces == (0, 1)
        assert list(frame.data[1].marker.color)[0] == colour.values[t][0]
        circle = next(s for s in frame.layout.shapes if s.type == "circle" and s.x0 == -9)
        assert (circle.xanchor, circle.yanchor) == tuple(COORDS[t, 2])
    assert any(t.name == "trail: bad" for t in fig.data)  # its legend entry


def test_payload_round_trips_and_names_its_figure():
    pytest.importorskip("streamlit")
    from dashboard.components import evolution_chart

    layers = [evolution.colour_layer(evolution.Colour("f", np.tile([1.0, 2, 3, 4], (2, 1))), 4)]
    fig = evolution.evolution_figure(COORDS, WORDS, LABELS, HOVER, layers[0])
    key, body = evolution_chart.payload(fig, layers, 1)
    doc = json.loads(body)
    assert doc["frame"] == 1 and len(doc["figure"]["frames"]) == 2
    assert typed(doc["colours"][0]["values"][0]).tolist() == [1.0, 2.0, 3.0, 4.0]
    other = evolution.evolution_figure(COORDS * 2, WORDS, LABELS, HOVER, layers[0])
    assert evolution_chart.payload(other, layers, 1)[0] != key
    assert evolution_chart.payload(fig, layers, 1)[0] == key


def test_the_served_folder_is_written_outside_the_source_tree_once_per_content(tmp_path):
    pytest.importorskip("streamlit")
    from dashboard.components import evolution_chart

    folder = evolution_chart.served_folder(tmp_path)
    assert folder.parent == tmp_path
    assert (folder / "plotly.min.js").read_bytes() == \
        evolution_chart.PLOTLY_JS.read_bytes()  # served from the plotly package, not a CDN
    assert (folder / "main.js").read_bytes() == (evolution_chart.HERE / "main.js").read_bytes()
    assert evolution_chart.served_folder(tmp_path) == folder
    assert not (evolution_chart.HERE / "plotly.min.js").exists()
    assert not evolution_chart.CACHE.is_relative_to(evolution_chart.HERE.parents[1])


def test_plotly_typed_arrays_keep_the_form_main_js_decodes():
    """The component borrows plotly's private ``_plotly_utils.utils.to_typed_array_spec``:
    if a plotly release moves or changes it, this fails by name (main.js decodes
    ``{dtype, bdata}``: little-endian float32 as "f4", base64)."""
    try:
        from _plotly_utils.utils import to_typed_array_spec
    except ImportError as exc:  # pragma: no cover - a plotly release moved it
        pytest.fail(f"plotly no longer has _plotly_utils.utils.to_typed_array_spec ({exc}): "
                    "dashboard/components/evolution_chart must encode typed arrays itself")
    values = np.array([1.5, -2.0, np.nan], dtype=np.float32)
    spec = to_typed_array_spec(values)
    assert set(spec) == {"dtype", "bdata"}, f"plotly changed its typed-array form: {spec}"
    assert spec["dtype"] == "f4", f"plotly changed its dtype names: {spec['dtype']}"
    assert np.array_equal(typed(spec), values, equal_nan=True)
