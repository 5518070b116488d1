"""Evolution, Learned vs pretrained and Documents in real Chromium, on runs trained in the
test (bundled sample; clickbait for scale) whose views the engine computed with PCA.

These tests start their own Streamlit server over their own run store, so they neither see
nor disturb the runs of test_dashboard_browser.py. Screenshots: test-artifacts/screenshots/.
"""
from __future__ import annotations

import json
import time


import pytest
from playwright.sync_api import expect

from .conftest import (ARTIFACTS, REPO, _need_browser, fresh_page, screenshot, serve, stop,
                       wait_idle)

pytestmark = pytest.mark.browser
PLOT = '[data-testid="stPlotlyChart"] .js-plotly-plot'
STATE = """(n) => { const gd = document.querySelectorAll('%s')[n];
  const main = gd._fullData.reduce((a, b) => ((b.x || []).length > (a.x || []).length ? b : a));
  return {title: gd.querySelector('.gtitle').textContent, x: Array.from(main.x).slice(0, 50),
          points: main.x.length,
          frames: (gd._transitionData._frames || []).length}; }""" % PLOT
# the Evolution map is a component (dashboard/components/evolution_chart): its own frame
EVO = "iframe[title*=evolution_chart]"
GD = "document.getElementById('chart')"
TITLE = "document.querySelector('#chart .gtitle').textContent"  # the title as drawn
EVO_STATE = STATE.replace("document.querySelectorAll('%s')[n]" % PLOT, GD)


def evolution_map(page):
    """The Evolution map's frame once its plot is drawn."""
    page.frame_locator(EVO).locator(".main-svg").first.wait_for()
    wait_idle(page)  # the component reported the figure it holds: one more fragment run
    return next(f for f in page.frames if "evolution_chart" in f.url)


def offline(page) -> list[str]:
    """Abort and record every request of this page's context to a host other than 127.0.0.1
    (plotly.js of the Evolution map included: it must come from the plotly package)."""
    outside: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()
    page.context.route("**/*", route)
    return outside


def train(store, path, **kw) -> str:
    from core.data.loading import load_dataset
    from core.jobs.engine import Engine
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    run_id = train_run(load_dataset(path), TrainConfig(**kw), store).run_id
    engine = Engine(store, warm=False, method="pca")
    while engine.tick():
        pass
    return run_id


@pytest.fixture(scope="module")
def views_store(tmp_path_factory):
    from core.store.runstore import RunStore

    store = RunStore(tmp_path_factory.mktemp("views2-browser") / "runs")
    sample = train(store, REPO / "sample_data" / "sample.csv", init="glove", epochs=4,
                   batch_size=32)
    return store, sample


def served(root, log_name: str):
    """A module fixture's body: yields the URL of a dashboard over the store at ``root``
    (no warm-up, log in test-artifacts/``log_name``) and stops it afterwards."""
    _need_browser()
    proc, url = serve(root, ARTIFACTS / log_name, warm_up=False)
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def views_url(views_store):
    yield from served(views_store[0].root, "streamlit-views2.log")


@pytest.fixture
def vpage(browser, views_url):
    yield from fresh_page(browser)


def open_view(page, url: str, path: str, run_id: str) -> None:
    page.goto(f"{url}/{path}?run={run_id}")
    wait_idle(page)
    page.locator(PLOT).first.wait_for()
    assert page.get_by_test_id("stException").count() == 0
    errors = page.get_by_test_id("stAlertContentError")
    assert errors.count() == 0, errors.all_inner_texts()


def test_evolution_slider_and_play_move_the_words(vpage, views_url, views_store):
    page = vpage
    outside = offline(page)
    open_view(page, views_url, "evolution", views_store[1])
    chart = evolution_map(page)
    before = chart.evaluate(EVO_STATE, 0)
    assert before["frames"] == 5 and "epoch 4" in before["title"]
    rail = page.frame_locator(EVO).locator(".slider-rail-touch-rect").first
    rail.scroll_into_view_if_needed()
    box = rail.bounding_box()
    page.mouse.click(box["x"] + 3, box["y"] + box["height"] / 2)  # first snapshot
    chart.wait_for_function(f"() => {TITLE}.includes('— start')")
    start = chart.evaluate(EVO_STATE, 0)
    assert start["x"] != before["x"], "the words did not move between snapshots"
    screenshot(page, "v2-01-evolution-start")
    page.frame_locator(EVO).locator(".updatemenu-button").first.click()  # Play, to the end
    chart.wait_for_function(f"() => {TITLE}.includes('— epoch 4')",
                            timeout=30_000)
    assert chart.evaluate(EVO_STATE, 0)["x"] == before["x"]
    assert outside == [], f"the Evolution page reached outside hosts: {outside}"


def test_evolution_highlighted_word_has_a_trail(vpage, views_url, views_store):
    page = vpage
    open_view(page, views_url, "evolution", views_store[1])
    chart = evolution_map(page)
    box = page.get_by_test_id("stMultiSelect")
    box.locator("input").fill("alps")
    page.get_by_role("option", name="alps", exact=True).click()
    wait_idle(page)
    page.keyboard.press("Escape")  # close the list so the screenshot shows the chart
    chart.wait_for_function(f"() => {GD}.layout.shapes.some(s => s.name === 'trail: alps')")
    labels = chart.evaluate(f"() => {GD}.layout.shapes.filter(s => s.label && s.label.text)"
                            ".map(s => s.label.text)")
    assert labels == ["alps"]
    expect(page.frame_locator(EVO).locator("#legend")).to_contain_text("trail: alps")
    # the trail's dots have their hover: the word and the snapshot
    chart.wait_for_function(f"() => {GD}.data.some(t => (t.hovertext || [])"
                            ".includes('alps — start'))")
    screenshot(page, "v2-02-evolution-alps")


def test_evolution_unknown_added_word_keeps_the_chart(vpage, views_url, views_store):
    page = vpage
    open_view(page, views_url, "evolution", views_store[1])
    box = page.get_by_test_id("stTextInput").filter(has_text="Add words")
    box.locator("input").fill("himalayas, zzqqx")
    box.locator("input").press("Enter")
    wait_idle(page)
    expect(page.get_by_text("Not in this run's vocabulary: zzqqx")).to_be_visible()
    assert page.get_by_test_id("stAlertContentError").count() == 0
    evolution_map(page).wait_for_function(
        f"() => {GD}.data.some(t => (t.customdata || [])"
        ".some(c => String(c).includes('himalayas')))")
    screenshot(page, "v2-02b-evolution-added-word")


def test_train_page_shows_the_final_map_of_a_fast_run(vpage, views_url, views_store):
    """A run that ended before the engine drew its last snapshot: the Train page keeps
    polling after "done" and shows the final map once the engine has drawn it."""
    from core.data.loading import load_dataset
    from core.jobs.engine import Engine
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    store = views_store[0]
    run_id = train_run(load_dataset(REPO / "sample_data" / "sample.csv"),
                       TrainConfig(epochs=2), store).run_id  # no engine yet: no map
    page = vpage
    page.goto(f"{views_url}/train?run={run_id}")
    wait_idle(page)
    expect(page.get_by_text("Word vectors now")).to_have_count(0)
    Engine(store, warm=False, method="pca").tick()  # the engine catches up afterwards
    expect(page.get_by_text("Word vectors now — snapshot 2")).to_be_visible(timeout=30_000)
    screenshot(page, "v2-07-train-final-map")


def test_compare_word_neighbors_are_listed(vpage, views_url, views_store):
    page = vpage
    open_view(page, views_url, "compare", views_store[1])
    box = page.get_by_test_id("stSelectbox").filter(has_text="Word")
    box.click()
    box.locator("input").fill("himalayas")
    page.get_by_role("option", name="himalayas", exact=True).click()
    wait_idle(page)
    page.get_by_text("Neighbours of 'himalayas'").wait_for()
    table = page.get_by_test_id("stTable")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(10)
    glove = [r.locator("td").nth(1).inner_text() for r in rows.all()]
    assert all(glove), glove
    expect(page.get_by_text("Gained", exact=True)).to_be_visible()
    expect(page.get_by_text("Lost", exact=True)).to_be_visible()
    expect(page.locator(PLOT)).to_have_count(4)  # two maps, Jaccard histogram, measures
    screenshot(page, "v2-03-compare-himalayas")


def test_documents_side_by_side(vpage, views_url, views_store):
    page = vpage
    open_view(page, views_url, "documents", views_store[1])
    expect(page.locator(PLOT)).to_have_count(2)
    learned, pretrained = page.evaluate(STATE, 0), page.evaluate(STATE, 1)
    assert "Learned" in learned["title"] and "Pretrained" in pretrained["title"]
    expect(page.get_by_test_id("stMetric")).to_have_count(4)
    screenshot(page, "v2-04-documents")


def _timed(page, chart, act, done: str, timeout: float = 60_000) -> dict:
    """Seconds from an action to the chart showing its result (``done``: a JS condition in
    the map's frame), and when the change reached the map and was drawn there (the
    component's marks)."""
    chart.evaluate("() => { window.evolutionMarks = []; }")
    t0, epoch = time.perf_counter(), time.time() * 1000
    act()
    chart.wait_for_function(done, timeout=timeout)
    took = round(time.perf_counter() - t0, 3)
    marks = chart.evaluate("() => window.evolutionMarks")
    return {"seconds": took, **{what: round((at - epoch) / 1000, 3) for what, at in marks[:2]}}


def interaction_timings(page, chart) -> dict[str, dict]:
    """Highlight a word, change the colouring, change the snapshot: each must show without
    rerunning the page; the map applies them in place (dashboard/components/evolution_chart)."""
    box = page.get_by_test_id("stMultiSelect")
    box.locator("input").fill("you")

    def pick():
        page.get_by_role("option", name="you", exact=True).click()
    out = {"highlight a word": _timed(
        page, chart, pick, f"() => {GD}.layout.shapes.some(s => s.name === 'trail: you')")}
    page.keyboard.press("Escape")
    wait_idle(page)
    colour = page.get_by_test_id("stSelectbox").filter(has_text="Colour by")

    def recolour():
        colour.click()
        page.get_by_role("option", name="seen vs never seen in training").click()
    out["change the colouring"] = _timed(
        page, chart, recolour,
        "() => document.getElementById('legend').textContent.includes('never seen')")
    wait_idle(page)
    rail = page.frame_locator(EVO).locator(".slider-rail-touch-rect").first
    rail.scroll_into_view_if_needed()
    box = rail.bounding_box()
    out["change the snapshot"] = _timed(
        page, chart, lambda: page.mouse.click(box["x"] + 3, box["y"] + box["height"] / 2),
        f"() => {TITLE}.includes('— start')")
    return out


@pytest.mark.e2e
def test_clickbait_run_stays_readable(vpage, views_url, views_store, clickbait_csv):
    """Thousands of words and documents: WebGL points, frames for every snapshot; highlight,
    colour and snapshot changes timed in Chromium (printed; test-artifacts/
    evolution-timings.json); nothing fetched from outside the machine."""
    page = vpage
    outside = offline(page)
    run_id = train(views_store[0], clickbait_csv, init="random", epochs=3)
    open_view(page, views_url, "evolution", run_id)
    chart = evolution_map(page)
    state = chart.evaluate(EVO_STATE, 0)
    assert state["frames"] == 4 and state["points"] >= 2000
    assert chart.evaluate(f"() => {GD}.data[0].type") == "scattergl"
    screenshot(page, "v2-05-evolution-clickbait")
    timings = interaction_timings(page, chart)
    print(f"\nEvolution interactions, {state['points']:,} words x 4 snapshots (seconds from "
          "the click; 'change arrived' / 'drawn': in the map's frame):")
    for name, parts in timings.items():
        print(f"  {name}: {parts}")
    (ARTIFACTS / "evolution-timings.json").write_text(json.dumps(timings, indent=1))
    assert outside == [], f"the Evolution page reached outside hosts: {outside}"
    screenshot(page, "v2-05b-evolution-clickbait-highlighted")
    open_view(page, views_url, "documents", run_id)
    assert page.evaluate(STATE, 0)["points"] > 100
    screenshot(page, "v2-06-documents-clickbait")
