"""What a tracked run did not record is said in the browser: the Runs page's comparison chart
of a run fitted without validation data says "validation accuracy not recorded" (not an
empty -100 %..400 % axis), and the Evolution legend of a run without training counts says
"training counts not recorded" (not "never seen (0)").

Own Streamlit server (with its engine) over its own store. Screenshots:
test-artifacts/screenshots/track-states-*.png.
"""
from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from core.store.runstore import RunStore
from core.track import open_run
from tests.conftest import TEN_WORDS, wait_for_run

from .conftest import ARTIFACTS, _need_browser, fresh_page, screenshot, serve, stop, wait_idle

pytestmark = pytest.mark.browser
WORDS = ["<pad>", "<unk>"] + TEN_WORDS


def _tracked(store: RunStore, name: str, validation: bool) -> str:
    run = open_run(store, WORDS, name=name)
    rng = np.random.default_rng(0)
    for epoch in range(3):
        metrics = {"loss": 1.0 / (epoch + 1)}
        if validation:
            metrics.update(val_accuracy=0.5 + 0.1 * epoch, val_loss=0.9 - 0.1 * epoch)
        run.add_snapshot(rng.normal(size=(len(WORDS), 4)), epoch, epoch * 4,
                         metrics=metrics if epoch else None)
    run.finish()
    return run.run_id


def _legend_texts(page) -> list[str]:
    """The lines of the Evolution map's component frame (its legend is HTML under the map)."""
    return [line for f in page.frames if "evolution_chart" in f.url
            for line in f.locator("body").inner_text().splitlines()
            if "training" in line or "seen" in line]


@pytest.fixture(scope="module")
def states_server(tmp_path_factory):
    _need_browser()
    root = tmp_path_factory.mktemp("track-states") / "runs"
    store = RunStore(root)
    ids = {"with": _tracked(store, "with validation", True),
           "without": _tracked(store, "no validation", False)}
    proc, url = serve(root, ARTIFACTS / "streamlit-track-states.log")
    try:
        yield store, ids, url
    finally:
        stop(proc)


def test_missing_numbers_are_said_not_drawn_as_zero(browser, states_server):
    store, ids, url = states_server
    page_gen = fresh_page(browser)
    page = next(page_gen)
    try:
        page.goto(f"{url}/runs")
        wait_idle(page)
        chart = page.locator('[data-testid="stPlotlyChart"]').filter(
            has_text="Validation accuracy per epoch")
        # the comparison names runs by their names (ids only where two names clash)
        expect(chart).to_contain_text("validation accuracy not recorded: no validation",
                                      timeout=60_000)
        screenshot(page, "track-states-runs-compare")
        wait_for_run(store, ids["without"], lambda r: r.info.get("views") == "ready")
        page.goto(f"{url}/evolution?run={ids['without']}")
        wait_idle(page)
        legend: list[str] = []
        for _ in range(120):  # the map is drawn on the page or in its component's frame
            legend = _legend_texts(page)
            if legend:
                break
            page.wait_for_timeout(500)
        screenshot(page, "track-states-evolution-legend")
        assert any(t.startswith("training counts not recorded") for t in legend), legend
        assert not any("never seen" in t for t in legend), legend
        assert page.get_by_test_id("stException").count() == 0
    finally:
        next(page_gen, None)
