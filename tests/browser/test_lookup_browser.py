"""The Lookup table view in real Chromium, on a run trained in the test on the bundled sample
(GloVe start): the default text, then a typed text with a word never seen in training, whose
row shows 0 updates and its neighbours. Screenshots: test-artifacts/screenshots/lookup-*.png.
"""
from __future__ import annotations

import pytest

from .conftest import REPO, fresh_page, no_errors, screenshot, wait_idle
from .test_run_views import served

pytestmark = pytest.mark.browser
PLOT = '[data-testid="stPlotlyChart"] .js-plotly-plot'
# the data grid draws on a canvas; its cells are also kept in an accessible <table>
ROWS = """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"]')).map(
  grid => Array.from(grid.querySelectorAll('table tr')).map(
    row => Array.from(row.querySelectorAll('th,td')).map(cell => cell.innerText.trim())))"""

CELL = """(word) => Array.from(document.querySelectorAll('[data-testid="stDataFrame"] td'))
  .some(cell => cell.innerText.trim() === word)"""


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    from core.data.loading import load_dataset
    from core.store.runstore import RunStore
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    store = RunStore(tmp_path_factory.mktemp("lookup-browser") / "runs")
    run_id = train_run(load_dataset(REPO / "sample_data" / "sample.csv"),
                       TrainConfig(init="glove", epochs=3, batch_size=32), store).run_id
    vocab = store.load_vocab(run_id)
    word = str(vocab[(vocab["train_count"] == 0) & vocab["in_pretrained"]]["token"].iloc[0])
    return store, run_id, word


@pytest.fixture(scope="module")
def lookup_url(sample_run):
    yield from served(sample_run[0].root, "streamlit-lookup.log")


@pytest.fixture
def lpage(browser, lookup_url):
    yield from fresh_page(browser)


def grid(page, first_header: str) -> list[dict[str, str]]:
    """The rows (header -> cell text) of the data grid whose first column is named so."""
    for table in page.evaluate(ROWS):
        head = [h for h in table[0] if h] if table else []
        if head and head[0] == first_header:
            return [dict(zip(head, row[-len(head):])) for row in table[1:] if row]
    raise AssertionError(f"no table starting with {first_header!r}: {page.evaluate(ROWS)}")


def test_a_typed_never_seen_word_shows_zero_updates(lpage, lookup_url, sample_run):
    store, run_id, word = sample_run
    page = lpage
    page.goto(f"{lookup_url}/lookup?run={run_id}")
    wait_idle(page)
    page.locator(PLOT).first.wait_for()
    no_errors(page)
    assert "identical, bit for bit" in page.get_by_test_id("stAlertContentSuccess").inner_text()
    screenshot(page, "lookup-01-default")

    page.get_by_label("…or type your own").fill(f"the hotel was {word} and qqzzxx")
    page.keyboard.press("Enter")
    wait_idle(page)
    page.get_by_text(f"{word} received 0 updates").wait_for()
    page.wait_for_function(CELL, arg=word)  # the grid redraws after the text above
    no_errors(page)
    rows = {r["token"]: r for r in grid(page, "token")}
    assert rows[word]["updates so far"] == "0" and rows[word]["training count"] == "0"
    assert int(rows["hotel"]["updates so far"]) > 0
    assert rows["qqzzxx"]["row"] == "<unk>"
    heat = page.evaluate("(sel) => document.querySelector(sel).data[0].y", PLOT)
    assert heat[3] == f"4 · {word}" and len(heat) == 6
    screenshot(page, "lookup-02-never-seen")
