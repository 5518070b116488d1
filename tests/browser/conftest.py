"""Fixtures for driving the dashboard in real Chromium: one Streamlit server per test session
(own run store, loopback, free port), one browser, a fresh page per test, and helpers.

In CI (CI=true) these tests must run: a missing Chromium or Playwright is a failure there.
Elsewhere they are skipped when Chromium is not installed.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import IN_CI, REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
IDLE = ('[data-testid="stApp"][data-test-script-state="notRunning"]'
        '[data-test-connection-state="CONNECTED"]')


def _need_browser() -> None:
    missing = None if CHROMIUM.exists() else f"Chromium not found at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright Python package is not installed"
    if missing:
        if IN_CI:
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"streamlit did not answer /_stcore/health in {timeout} s:\n"
                f"{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("browser-store") / "runs"


def serve(store: Path, log: Path, warm_up: bool = True) -> tuple[subprocess.Popen, str]:
    """Start the dashboard (``dashboard/serve.py``, as `make run` does) on 127.0.0.1:<free
    port> over ``store``; returns
    the process and its URL once /_stcore/health answers. ``warm_up=False`` skips the
    background warm-up (and so the projection engine)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "EXPLORER_STORE": str(store),
           "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(REPO / ".cache" / "numba"))}
    if not warm_up:
        env["EXPLORER_WARM_UP"] = "0"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "dashboard/serve.py",  # `make run`'s launcher
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.port", str(port)],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
    except BaseException:
        stop(proc)
        raise
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def app_url(store_dir) -> str:
    """The dashboard over the session's store; stopped at session end."""
    _need_browser()
    proc, url = serve(store_dir, ARTIFACTS / "streamlit-server.log")
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                      headless=True)
        yield chromium
        chromium.close()


def fresh_page(browser):
    """A page in its own browser context (1400x1000, 60 s default timeout); a generator
    for fixtures: closes the context when the test is done."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def page(browser, app_url):
    yield from fresh_page(browser)


def wait_idle(page, timeout: float = 120_000) -> None:
    """Wait until the script run triggered by the last interaction has finished."""
    page.wait_for_timeout(300)  # let the rerun request reach the server first
    page.wait_for_selector(IDLE, timeout=timeout)


_CONTENT_HEIGHT = """() => Math.max(...["stMain", "stMainBlockContainer", "stSidebarContent"]
    .map(id => document.querySelector(`[data-testid="${id}"]`))
    .map(el => el ? el.scrollHeight : 0))"""


def screenshot(page, name: str) -> Path:
    """Full-page screenshot. Streamlit scrolls inside its main container, so the page itself
    is only a viewport tall: grow the viewport to the content for the shot, then restore."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = page.viewport_size
    height = min(max(size["height"], int(page.evaluate(_CONTENT_HEIGHT)) + 120), 6000)
    page.set_viewport_size({"width": size["width"], "height": height})
    page.wait_for_timeout(600)  # plotly redraws at the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def go_to(page, title: str, url_path: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.wait_for_url(f"**/{url_path}*")
    wait_idle(page)


def choose(page, label: str, wanted: list[str]) -> None:
    """Set a multiselect to exactly ``wanted`` (option texts), in that order."""
    box = page.get_by_test_id("stMultiSelect").filter(has_text=label)
    box.get_by_role("button", name="Clear all").click()
    wait_idle(page)
    for option in wanted:
        box.locator("input").click()
        page.get_by_role("option", name=option, exact=True).click()
        wait_idle(page)
    page.keyboard.press("Escape")


def no_errors(page) -> None:
    """No error box and no exception on the page."""
    errors = page.get_by_test_id("stAlertContentError")
    assert errors.count() == 0, errors.all_inner_texts()
    assert page.get_by_test_id("stException").count() == 0


def upload_data(page, app_url: str, path: Path) -> None:
    """Open the dashboard (the Data page) and upload ``path``; returns once it is in use."""
    page.goto(app_url)
    wait_idle(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    page.get_by_test_id("stFileChipName").filter(has_text=path.name).wait_for()
    wait_idle(page)
    page.get_by_text("Using your file").wait_for()
    wait_idle(page)  # the rerun that says so may still be drawing the file's numbers


def one_seed_each(page, epochs: int) -> None:
    """Experiments page: one seed per setting, ``epochs`` epochs per run."""
    page.get_by_role("slider").focus()
    page.keyboard.press("Home")  # the slider's minimum: 1 seed
    wait_idle(page)
    box = page.get_by_label("Epochs per run")
    box.fill(str(epochs))
    box.press("Enter")
    wait_idle(page)
