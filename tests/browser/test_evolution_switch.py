"""A snapshot switch of an Evolution map too big to animate (6,000 synthetic words, more
than ``evolution.MAX_ANIMATED``), in real Chromium: the WebGL points move to the chosen
snapshot and the figure is not sent again (only the snapshot's number)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import (ARTIFACTS, REPO, _free_port, _need_browser, _wait_healthy, fresh_page,
                       screenshot, stop, wait_idle)

pytestmark = pytest.mark.browser
APP = REPO / "tests" / "browser" / "evolution_chart_app.py"
EVO = "iframe[title*=evolution_chart]"
POINTS = """() => { const gd = document.getElementById('chart');
  const t = gd._fullData.find((d) => d.meta === 'points');
  const grey = gd._fullData.find((d) => d.meta === 'under');
  return {type: t.type, x: Array.from(t.x.slice(0, 20)), n: t.x.length,
          grey: Array.from(grey.x.slice(0, 20)),
          height: gd.getBoundingClientRect().height,
          frame: gd.dataset.frame, marks: window.evolutionMarks.map((m) => m[0])}; }"""


def serve_chart(words: int, frames: int, log_name: str) -> tuple[subprocess.Popen, str]:
    """``evolution_chart_app.py`` on 127.0.0.1:<free port>; (process, URL) once healthy."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port, log = _free_port(), ARTIFACTS / log_name
    env = {**os.environ, "EVO_WORDS": str(words), "EVO_FRAMES": str(frames)}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(APP),
                                 "--server.headless", "true", "--server.address", "127.0.0.1",
                                 "--server.port", str(port)], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url, proc, log)
    return proc, url


@pytest.fixture(scope="module")
def chart_url():
    _need_browser()
    proc, url = serve_chart(6000, 3, "streamlit-evolution-switch.log")
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture
def page(browser, chart_url):
    yield from fresh_page(browser)


def test_snapshot_switch_moves_the_webgl_points_without_resending_the_figure(page, chart_url):
    page.goto(chart_url)
    wait_idle(page)
    page.frame_locator(EVO).locator(".main-svg").first.wait_for()
    wait_idle(page)
    chart = next(f for f in page.frames if "evolution_chart" in f.url)
    chart.wait_for_function("() => document.getElementById('chart').dataset.frame === '2'")
    before = chart.evaluate(POINTS)
    assert before["type"] == "scattergl" and before["n"] == 6000
    thumb = page.get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowLeft")  # epoch 2 -> epoch 1
    chart.wait_for_function("() => document.getElementById('chart').dataset.frame === '1'")
    after = chart.evaluate(POINTS)
    assert after["type"] == "scattergl" and after["n"] == 6000
    assert after["height"] == before["height"] > 300  # still drawn, at its size
    assert after["x"] != before["x"], "the points did not move to the other snapshot"
    assert after["grey"] != before["grey"]  # the words without a colour value move too
    # the switch sent no figure (the frontend may hand the first render's args over twice)
    assert after["marks"].count("figure arrived") == before["marks"].count("figure arrived")
    assert "frame 1" in after["marks"]
    assert "epoch 1" in chart.evaluate(
        "() => document.querySelector('#chart .gtitle').textContent")
    screenshot(page, "evolution-switch-6000")

