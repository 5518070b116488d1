"""The Experiments view in real Chromium: configure a tiny learning-curve experiment on the
bundled sample, launch it, watch its progress and see the learning curve drawn."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import choose, go_to, one_seed_each, screenshot, wait_idle

pytestmark = pytest.mark.browser


def test_launch_tiny_experiment_and_see_the_curve(page, app_url, store_dir):
    page.goto(app_url)
    wait_idle(page)
    go_to(page, "Experiments", "experiments")
    main = page.get_by_test_id("stMain")
    assert "400 texts to train on" in main.inner_text()
    choose(page, "Training sizes", ["50", "100"])
    choose(page, "Start the word vectors from", ["random", "GloVe (fine-tuned)"])
    one_seed_each(page, epochs=2)
    main.get_by_text("4 runs").wait_for()  # 2 starts x 2 sizes x 1 seed
    screenshot(page, "exp-01-configured")

    page.get_by_role("button", name="Launch").click()
    wait_idle(page)
    progress = page.get_by_test_id("stProgress")
    progress.wait_for()
    assert page.get_by_role("button", name="Cancel experiment").count() <= 1
    screenshot(page, "exp-02-progress")

    main.get_by_text("4 of 4 runs finished").wait_for(timeout=240_000)
    curve = page.get_by_test_id("stPlotlyChart").first
    curve.locator(".js-plotly-plot .main-svg").first.wait_for()
    points = curve.locator("g.trace.scatter path.point")
    expect(points).to_have_count(4, timeout=30_000)  # 2 inits x 2 sizes; traces draw one by one
    expect(page.get_by_role("button", name="Download results (CSV)")).to_be_visible()
    assert page.get_by_test_id("stAlertContentError").count() == 0
    assert page.get_by_test_id("stException").count() == 0
    wait_idle(page)
    picked = page.get_by_test_id("stSelectbox").filter(has_text="Experiment").inner_html()
    assert "random, glove · sizes 50, 100 · 4 runs" in picked
    screenshot(page, "exp-03-done")

    from core.runs import views as runviews
    from core.store.runstore import RunStore

    store = RunStore(store_dir)  # what the background engine would cache for the newest run
    newest = store.list_runs()[0].run_id
    runviews.comparison(store, newest, cached_only=False)
    go_to(page, "General vs task semantics", "semantics")
    page.get_by_text("Show experiment runs").click()  # hidden from run pickers until asked
    wait_idle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Run").click()
    page.get_by_role("option").filter(has_text=newest).click()
    wait_idle(page)
    charts = page.get_by_test_id("stPlotlyChart")
    charts.nth(1).locator("g.trace.scatter path.point").first.wait_for()  # semantics + pairs
    assert page.get_by_test_id("stException").count() == 0
    screenshot(page, "exp-04-semantics")
