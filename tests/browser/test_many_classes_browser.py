"""A generated ten-class data set (real English words) in real Chromium (issue 21): the
Evolution map opens coloured by class with a legend of ten entries, a class has the same
colour on Evolution, the Train page's live map and Documents; page addresses load without
404s (``/data`` included); a tab opened on a run shows that run's data set; Enter in the
highlight box adds the word typed, not every word it prefixes. Screenshots of the pictures
go to the test artifacts, and to docs/screenshots/ with ``UPDATE_SCREENSHOTS=1`` (small
PNGs: ``SHOTS``)."""
from __future__ import annotations

import os

import pytest

from .conftest import (ARTIFACTS, REPO, _need_browser, fresh_page, screenshot, serve, stop,
                       wait_idle)
from .ten_classes import TOPICS, write_csv

pytestmark = pytest.mark.browser
SHOTS = REPO / "docs" / "screenshots"
EVO = "iframe[title*=evolution_chart]"
LEGEND = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
  title: (gd._fullLayout.title && gd._fullLayout.title.text) || '',
  legend: Array.from(gd.querySelectorAll('.legend .traces')).map(t => [
     t.querySelector('.legendtext').textContent,
     (t.querySelector('.legendpoints path') || {style: {}}).style.fill || ''])}))"""
# the Evolution component draws its legend as HTML (#legend: a dot and a name per entry)
EVO_LEGEND = """() => Array.from(document.querySelectorAll('#legend > span')).map(s => [
  s.querySelector('span').textContent, getComputedStyle(s.querySelector('i')).backgroundColor])"""


@pytest.fixture(scope="module")
def ten_classes(tmp_path_factory):
    """(server URL, run id): a finished eight-epoch run on the ten-class data set, stored
    with its data set, its views computed by the engine (UMAP), served on its own store."""
    _need_browser()
    from core.data.loading import load_dataset
    from core.jobs.engine import Engine
    from core.store import datasets
    from core.store.runstore import RunStore
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    folder = tmp_path_factory.mktemp("ten-classes")
    path = write_csv(folder / "ten_topics.csv")
    store = RunStore(folder / "runs")
    data = load_dataset(path)
    record = datasets.register(store, data, path.read_bytes(), path.name, name="Ten topics")
    config = TrainConfig(epochs=8, batch_size=16, doc_sample=300, early_stopping=False,
                         init="random", lr=0.05)
    run_id = train_run(data, config, store).run_id
    store.update_info(run_id, **datasets.job_info(data, record.name))
    engine = Engine(store, warm=False)
    for _ in range(10):  # live frames, then the finished run's views
        if not engine.tick():
            break
    proc, url = serve(store.root, ARTIFACTS / "streamlit-ten-classes.log", warm_up=False)
    try:
        yield url, run_id
    finally:
        stop(proc)


@pytest.fixture
def page(browser, ten_classes):
    yield from fresh_page(browser)


def _open(page, url: str, path: str, run_id: str) -> None:
    page.goto(f"{url}/{path}?run={run_id}")
    wait_idle(page)


def _legends(frame) -> dict[str, dict[str, str]]:
    """title -> {legend entry: swatch colour} of every plotly chart in ``frame``."""
    return {fig["title"]: dict(fig["legend"]) for fig in frame.evaluate(LEGEND)}


def _wait_chart(page, title_part: str, timeout: int = 60_000) -> None:
    """Until a plotly chart whose title holds ``title_part`` has its legend drawn (a page
    draws its charts after its first paint; under load that is seconds later)."""
    page.wait_for_function(
        f"(part) => ({LEGEND})().some(f => f.title.includes(part) && f.legend.length)",
        arg=title_part, timeout=timeout)
    wait_idle(page)


def _class_legend(legends: dict, title_part: str) -> dict[str, str]:
    found = next(v for t, v in legends.items() if title_part in t)
    return {name: colour for name, colour in found.items() if name in TOPICS}


def _evolution_frame(page):
    page.frame_locator(EVO).locator(".main-svg").first.wait_for()
    wait_idle(page)
    return next(f for f in page.frames if "evolution_chart" in f.url)


def _shot(page, name: str):
    """A full-page screenshot, kept small (an 8-colour PNG is not possible from Chromium:
    the page is shot at 1100 px wide instead) in the test artifacts; with
    ``UPDATE_SCREENSHOTS=1`` also into docs/screenshots/ (a plain test run leaves the
    tracked pictures alone)."""
    path = screenshot(page, name)
    if os.environ.get("UPDATE_SCREENSHOTS") != "1":
        return path
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / f"{name}.png"
    target.write_bytes(path.read_bytes())
    return target


def test_class_colours_agree_on_evolution_train_and_documents(page, ten_classes):
    url, run_id = ten_classes
    page.set_viewport_size({"width": 1100, "height": 900})
    _open(page, url, "evolution", run_id)
    evolution = {name: colour for name, colour in _evolution_frame(page).evaluate(EVO_LEGEND)
                 if name in TOPICS}
    assert sorted(evolution) == sorted(TOPICS)  # a legend of ten entries, one per class
    assert len(set(evolution.values())) == 10
    assert "rgb(127, 127, 127)" not in evolution.values()  # no class looks like "no class"
    _shot(page, "ten-classes-evolution")

    _open(page, url, "train", run_id)
    _wait_chart(page, "Word vectors now")
    train = _class_legend(_legends(page.main_frame), "Word vectors now")
    assert train == evolution
    _shot(page, "ten-classes-train")

    _open(page, url, "documents", run_id)
    _wait_chart(page, "Learned: after the embedding")
    documents = _class_legend(_legends(page.main_frame), "Learned: after the embedding")
    assert documents == evolution
    _shot(page, "ten-classes-documents")

    _open(page, url, "compare", run_id)
    # the page updates by itself once the engine has the comparison (later under load)
    _wait_chart(page, "Learned —", timeout=180_000)
    compare = _class_legend(_legends(page.main_frame), "Learned —")
    assert compare == evolution
    _shot(page, "ten-classes-learned-vs-pretrained")


def test_pages_load_without_404s_and_data_lives_at_the_root(page, ten_classes):
    url, run_id = ten_classes
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400
            else None)
    for path in ("", "train", "evolution"):
        _open(page, url, path, run_id)
    assert failed == []
    page.goto(f"{url}/data?run={run_id}")
    wait_idle(page)
    assert page.url.startswith(f"{url}/?") and f"run={run_id}" in page.url
    assert page.locator("h1").first.inner_text() == "Data"
    assert "does not seem to exist" not in page.inner_text("body")
    assert failed == []


def test_a_tab_opened_on_a_run_shows_that_runs_data_set(page, ten_classes):
    url, run_id = ten_classes
    _open(page, url, "train", run_id)  # no ?data= in the address
    sidebar = page.get_by_test_id("stSidebarContent").inner_text()
    assert "Data: Ten topics" in sidebar and "bundled sample" not in sidebar


def test_enter_in_the_highlight_box_adds_only_the_word_typed(page, ten_classes):
    url, run_id = ten_classes
    _open(page, url, "evolution", run_id)
    _evolution_frame(page)
    box = page.get_by_test_id("stMultiSelect").filter(has_text="Highlight words")
    typed = ["game", "bank", "doctor", "rain", "guitar", "games"]
    for word in typed:  # "game" prefixes "games": Enter once took both
        box.locator("input").click()
        box.locator("input").type(word, delay=30)
        page.keyboard.press("Enter")
        wait_idle(page)
    chips = [c for c in box.inner_text().splitlines()[1:] if c.strip()]
    assert chips == typed
