"""User-derived strings reach figures as text, never as markup: a run whose class labels,
words and name carry plotly's HTML subset (a style that fetches a URL, a link) is opened on
every page, and no figure's JSON holds that markup unescaped (AppTest; the browser test in
tests/browser/test_label_injection.py counts the requests)."""
from __future__ import annotations

import json
import re

import pytest

from tests.conftest import TWENTY_LINES, open_app

FETCH = '<span style="fill:url(http://203.0.113.9/cls.svg#p)">pos</span>'
LINK = "neg<a href='http://203.0.113.9/x'>click</a>"
PAGES = ("evolution", "compare", "documents", "train", "runs")
# markup plotly would render: a tag with attributes, or one of the tags that can fetch/link
LIVE_MARKUP = re.compile(r"<(span|a)\b[^>]*>", re.I)


def hostile_run(root):
    from core.data.loading import Dataset
    from core.jobs.engine import Engine
    from core.store.runstore import RunStore
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    lines = TWENTY_LINES * 3
    labels = [FETCH if lab == "pos" else LINK for _, lab in lines]
    store = RunStore(root)
    config = TrainConfig(epochs=2, batch_size=8, doc_sample=12)
    run_id = store.create_run(config.to_dict(), status="queued",
                              label="<a href='http://203.0.113.9/run'>my run</a>")
    train_run(Dataset.from_lists([t for t, _ in lines], labels), config, store, run_id=run_id)
    Engine(store, warm=False, method="pca").tick()
    return run_id


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-labels") / "runs"
    return root, hostile_run(root)


@pytest.mark.parametrize("page", PAGES)
def test_no_figure_renders_user_markup(hostile_store, monkeypatch, page):
    root, run_id = hostile_store
    at = open_app(root, monkeypatch, run_id)
    at.switch_page(f"screens/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    specs = [el.proto.spec for el in at.get("plotly_chart")]
    for el in at.get("component_instance"):  # the Evolution map: figure, colours, overlay
        specs += [el.proto.json_args] + [a.bytes.decode() for a in el.proto.special_args]
    if page in ("evolution", "documents", "train"):
        assert specs, f"no figure on {page}"
    strings = [s for spec in specs for s in _strings(json.loads(spec))]
    live = [s for s in strings if LIVE_MARKUP.search(s)]
    assert not live, f"{page}: markup rendered as markup: {live[:3]}"
    if page in ("evolution", "documents"):  # the class names are there, as text
        assert any("&lt;span style" in s for s in strings)


def _strings(obj):
    """Every string in a figure's JSON (names, labels, titles, hover, categories)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _strings(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _strings(value)
