"""A Keras model trained by the user's own script (examples/keras_sentiment.py, with the
EmbeddingExplorer callback) in real Chromium: the Train page follows it live while the script
is still training, and once it is done the Evolution page plays its snapshots.

Own Streamlit server (with its projection engine) over its own run store. Screenshots:
test-artifacts/screenshots/track-keras-*.png.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from .conftest import ARTIFACTS, REPO, _need_browser, fresh_page, screenshot, serve, stop, wait_idle

pytestmark = pytest.mark.browser
PLOT = '[data-testid="stPlotlyChart"] .js-plotly-plot'
EVO = "iframe[title*=evolution_chart]"  # the Evolution map is a component: its own frame
FRAMES = """() => { const gd = document.getElementById('chart');
  return {frames: (gd._transitionData._frames || []).length,
          title: gd.querySelector('.gtitle').textContent,
          points: gd._fullData.reduce((n, t) => n + (t.x || []).length, 0)}; }"""
EPOCHS = 3


@pytest.fixture(scope="module")
def track_server(tmp_path_factory):
    _need_browser()
    root = tmp_path_factory.mktemp("track-browser") / "runs"
    root.mkdir()
    proc, url = serve(root, ARTIFACTS / "streamlit-track.log")  # with the engine
    try:
        yield root, url
    finally:
        stop(proc)


def _first_run(root, example: subprocess.Popen, timeout: float = 180) -> str:
    from core.store.runstore import RunStore

    store, deadline = RunStore(root), time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = store.list_runs()
        if runs:
            return runs[0].run_id
        assert example.poll() is None, example.stderr.read()[-3000:]
        time.sleep(0.5)
    pytest.fail("the example created no run")


def test_keras_run_is_live_while_training_then_evolves(browser, track_server):
    root, url = track_server
    page_gen = fresh_page(browser)
    page = next(page_gen)
    page.goto(f"{url}/train")  # the server's first page load is slow: pay it before
    wait_idle(page)
    env = {**os.environ, "KERAS_BACKEND": "torch", "EXPLORER_WARM_UP": "0"}
    # after epoch N the script waits until the step file says N: the page is seen live at
    # each epoch while the script is certainly still training (no fixed pause to outlast)
    step = root.parent / "step"
    example = subprocess.Popen(
        [sys.executable, "examples/keras_sentiment.py", "--store", str(root),
         "--epochs", str(EPOCHS), "--step-file", str(step)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run_id = _first_run(root, example)
        page.goto(f"{url}/train?run={run_id}")
        wait_idle(page)
        expect(page.get_by_text("Epoch 1/3")).to_be_visible(timeout=120_000)
        step.write_text("1")
        expect(page.get_by_text("Epoch 2/3")).to_be_visible(timeout=120_000)
        assert example.poll() is None  # the page moved on while the script still trains
        page.locator(PLOT).first.wait_for()  # the engine's live map of the table
        screenshot(page, "track-keras-train-live")
        step.write_text(str(EPOCHS))
        assert example.wait(timeout=300) == 0, example.stderr.read()[-3000:]
        page.goto(f"{url}/evolution?run={run_id}")
        wait_idle(page)
        page.frame_locator(EVO).locator(".main-svg").first.wait_for()
        wait_idle(page)
        assert page.get_by_test_id("stException").count() == 0
        chart = next(f for f in page.frames if "evolution_chart" in f.url)
        drawn = chart.evaluate(FRAMES)
        screenshot(page, "track-keras-evolution")
        assert drawn["frames"] == EPOCHS + 1 and drawn["points"] > 100, drawn
        assert f"epoch {EPOCHS}" in drawn["title"], drawn
        page.frame_locator(EVO).locator(".updatemenu-button").first.click()  # Play
        chart.wait_for_function("() => document.querySelector('#chart .gtitle')"
                                f".textContent.includes('epoch {EPOCHS}')")
    finally:
        if example.poll() is None:
            example.kill()
            example.wait()
        next(page_gen, None)
