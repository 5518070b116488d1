"""Figure helpers of the dashboard that are plain functions: label placement, colour ranges,
text escaping."""
from __future__ import annotations

import numpy as np

from dashboard.charts import bars, curves, evolution, maps, points
from dashboard.text import escape_html


# Where Plotly draws a text relative to its point, by the textposition's words: worked out here
# from Plotly's meaning ("top" = above, "left" = to the left), never read from the module.
_UP = {"top": 1, "middle": 0, "bottom": -1}
_RIGHT = {"left": -1, "center": 0, "right": 1}


def _box(xy, spot, word, extent):
    """The label's box as the docstring sizes it (0.9 % of the x range per character, 5 % of
    the y range high), beside its point on the side the spot names: a character's width
    clear sideways, above or below a middle label's box (1.1 heights) vertically."""
    char_w, height = extent[0] * 0.009, extent[1] * 0.05
    width = char_w * len(word)
    vert, horiz = spot.split()
    cx = xy[0] + _RIGHT[horiz] * (width / 2 + char_w)
    cy = xy[1] + _UP[vert] * height * 1.1
    return cx - width / 2, cx + width / 2, cy - height / 2, cy + height / 2


def _overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def test_highlighted_labels_do_not_overlap():
    """Four words on nearly the same spot: every label gets a box clear of the others."""
    xy = np.array([[0.0, 0.0], [0.001, 0.0], [0.0, 0.001], [0.001, 0.001]])
    words = ["trump", "obama", "clinton", "you"]
    extent = (10.0, 10.0)
    spots = points.label_spots(xy, words, extent)
    assert len(set(spots)) == 4
    boxes = [_box(p, s, w, extent) for p, s, w in zip(xy, spots, words)]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not _overlap(a, b), (spots, a, b)
    far = points.label_spots(np.array([[0.0, 0.0], [9.0, 9.0]]), ["a", "b"], extent)
    assert far == ["top center", "top center"]  # nothing to avoid: the default spot


def test_a_label_goes_where_the_hand_worked_boxes_are_free():
    """Worked by hand (x range 10: 0.09 per character; y range 10: labels 0.5 high, a top
    label's box 0.3-0.8 above its point). "aaaa" at (0, 0) takes the top; "bbbb" at (0.2, 0)
    would cover it on top (x 0.02-0.38 against -0.18-0.18), so goes below (y -0.8 to -0.3);
    "cccc" at (0.2, 0.3) would cover aaaa's label on top (y 0.6-1.1) and bbbb's below (y -0.5
    to 0), so goes right (x 0.29-0.65). A module whose "top" drew below would answer "top
    right" for cccc."""
    xy = np.array([[0.0, 0.0], [0.2, 0.0], [0.2, 0.3]])
    spots = points.label_spots(xy, ["aaaa", "bbbb", "cccc"], (10.0, 10.0))
    assert spots == ["top center", "bottom center", "middle right"]
    above = points.label_spots(np.array([[0.0, 0.3], [0.0, 0.0]]), ["upper", "lower"],
                               (10.0, 10.0))
    assert above == ["top center", "bottom center"]


def test_one_colour_range_for_every_frame():
    values = np.array([[-0.8, 0.5], [8.0, -3.0]])  # small at the start, large at the end
    assert evolution.Colour("d", values).limits() == (-8.0, 8.0)  # symmetric around 0
    assert evolution.Colour("f", values, mid=None).limits() == (-3.0, 8.0)


def test_user_text_is_shown_as_text():
    assert escape_html('<span style="x">a&b</span>') == '&lt;span style="x"&gt;a&amp;b&lt;/span&gt;'


def test_one_epoch_runs_get_sensible_axes_and_titles():
    epochs = [{"epoch": 1, "train_loss": 0.69, "val_loss": 0.70, "val_accuracy": 0.62}]
    acc = curves.accuracy_figure([("validation accuracy", epochs)], 1)
    low, high = acc.layout.yaxis.range
    assert 0.0 <= low < 0.62 < high <= 1.0 and high - low < 0.2  # not 0-150 %
    assert acc.layout.yaxis.title.text == "validation accuracy"
    loss = curves.loss_figure(epochs, 1)
    low, high = loss.layout.yaxis.range
    assert low < 0.69 and high > 0.70  # the point is inside, not clipped
    assert loss.layout.yaxis.title.text == "cross-entropy"


def test_two_runs_and_every_class_keep_their_own_colour():
    import pandas as pd

    runs = [("run a", [{"epoch": 1, "val_accuracy": 0.8}]),
            ("run b", [{"epoch": 1, "val_accuracy": 0.7}])]
    first, second = curves.accuracy_figure(runs, 1).data
    assert first.line.color != second.line.color
    summary = pd.DataFrame({"class": ["neg", "pos"], "count": [3, 5], "share": [0.375, 0.625]})
    balance = bars.class_balance_figure(summary).data[0]
    docs = maps.document_map(np.zeros((2, 2)), ["neg", "pos"], ["neg", "pos"], ["a", "b"], "t")
    assert list(balance.marker.color) == [t.marker.color for t in docs.data]


def test_loss_and_accuracy_charts_mark_the_best_epoch_and_early_stopping():
    epochs = [{"epoch": 1, "train_loss": 0.6, "val_loss": 0.5, "val_accuracy": 0.7},
              {"epoch": 2, "train_loss": 0.4, "val_loss": 0.3, "val_accuracy": 0.8},
              {"epoch": 3, "train_loss": 0.3, "val_loss": 0.4, "val_accuracy": 0.9,
               "stopped_early": True}]
    for fig in (curves.loss_figure(epochs, 10),
                curves.accuracy_figure([("validation accuracy", epochs)], 10)):
        (line,) = [s for s in fig.layout.shapes if s.x0 == s.x1]
        assert line.x0 == 2  # lowest validation loss, not highest accuracy
        assert [a.text for a in fig.layout.annotations] == ["best epoch 2"]
        assert "stopped early at epoch 3" in fig.layout.title.text
    ran_out = [dict(e, stopped_early=False) for e in epochs]
    assert "stopped early" not in curves.loss_figure(ran_out, 3).layout.title.text
    assert not curves.loss_figure([], 3).layout.shapes  # nothing to mark yet
