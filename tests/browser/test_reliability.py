"""Reliability and security in real Chromium: hostile uploads through the real upload path,
two users training at once, closed tabs, a killed worker, a server restart, traversal in the
URL — and not one request to a host other than 127.0.0.1 (telemetry off).

Every context here routes all requests: loopback passes, anything else is aborted and recorded,
and each test ends by asserting that nothing was attempted.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.conftest import REPO, wait_for_run
from tests.hostile import corpus

from .conftest import screenshot, serve, stop, wait_idle

pytestmark = pytest.mark.browser
MARKER = Path(os.environ.get("TMPDIR", "/tmp")) / f"browser-pickle-marker-{os.getpid()}"
RUN_IN_URL = re.compile(r"[?&]run=(\d{8}-\d{6}-[0-9a-f]{6})")


class Guarded:
    """A browser context whose requests to any host but 127.0.0.1 are aborted and recorded."""

    def __init__(self, browser) -> None:
        self.outside: list[str] = []
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.set_default_timeout(60_000)
        self.context.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if urlparse(url).hostname in ("127.0.0.1",) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def page(self):
        return self.context.new_page()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def guarded(browser):
    made: list[Guarded] = []

    def new() -> Guarded:
        made.append(Guarded(browser))
        return made[-1]
    yield new
    outside = [u for g in made for u in g.outside]
    for g in made:
        g.close()
    assert outside == [], f"the page tried to reach outside hosts: {outside}"


def alerts(page) -> str:
    kinds = ("stAlertContentError", "stAlertContentWarning", "stAlertContentSuccess",
             "stAlertContentInfo")
    return "\n".join(t for k in kinds for t in page.get_by_test_id(k).all_inner_texts())


def upload(page, case: corpus.Case, input_index: int = 0) -> None:
    """Upload ``case`` and return once the uploader holds it (its chip is titled with the file
    name; the chip's text shortens long names): a file set while the previous upload's rerun
    still ran could be dropped by the widget."""
    chip = page.get_by_test_id("stFileChipName").and_(page.get_by_title(case.filename, exact=True))
    for attempt in range(2):
        wait_idle(page)
        page.get_by_test_id("stFileUploaderDropzoneInput").nth(input_index).set_input_files(
            files=[{"name": case.filename, "mimeType": "application/octet-stream",
                    "buffer": case.bytes()}])
        try:
            chip.first.wait_for(timeout=10_000)
            break
        except Exception:
            if attempt:
                raise
    wait_idle(page)


# ------------------------------------------------------------------------------ uploads
DATA_SUBSET = [c for c in corpus.DATA_CASES if c.browser]
VECTOR_SUBSET = [c for c in corpus.all_cases(str(MARKER)) if c.browser and c.kind == "vectors"]


def test_hostile_data_uploads_show_their_message(guarded, app_url):
    """The representative subset through the real HTTP upload: each shows its message."""
    page = guarded().page()
    page.goto(app_url)
    wait_idle(page)
    seen = []
    for case in DATA_SUBSET:
        upload(page, case)
        if case.ok:
            page.get_by_text("Using your file").wait_for()
            expected = {"excel-several-sheets": "3 sheets; only the first"}.get(case.id)
            if expected:
                page.get_by_text(expected).wait_for()
        else:
            # the Data page may say it as a warning next to the error (column detection)
            error = page.locator('[data-testid="stAlertContentError"], '
                                 '[data-testid="stAlertContentWarning"]').filter(
                has_text=re.compile(case.expect))
            try:
                error.first.wait_for(timeout=20_000)  # the message this file must show
            except Exception:
                screenshot(page, f"rel-fail-{case.id}")
                raise AssertionError(f"{case.id}: {alerts(page)}")
            # the error may render a moment after the warning: wait for it, don't sample once
            expect(page.get_by_test_id("stAlertContentError").first).to_be_visible(timeout=20_000)
        assert page.get_by_test_id("stException").count() == 0, case.id
        seen.append(case.id)
        if case.id in ("zip-bomb-renamed-csv", "label-with-markdown-image"):
            screenshot(page, f"rel-upload-{case.id}")
    assert len(seen) >= 12


def test_hostile_vector_uploads_refused_and_never_unpickled(guarded, app_url):
    MARKER.unlink(missing_ok=True)
    page = guarded().page()
    page.goto(f"{app_url}/train")
    wait_idle(page)
    page.get_by_text("Your word-vector file").click()
    wait_idle(page)
    for case in VECTOR_SUBSET:
        upload(page, case)
        page.get_by_test_id("stAlertContentError").filter(
            has_text=re.compile(case.expect)).first.wait_for()
    screenshot(page, "rel-vectors-refused")
    assert not MARKER.exists(), "the server unpickled an uploaded file"


# ------------------------------------------------------------------------------ URLs
@pytest.mark.parametrize("param, message", [
    ("../../etc", r"'\.\./\.\./etc' is not a valid run id"),
    ("..%2F..%2Fetc%2Fpasswd", r"is not a valid run id"),
    ("/etc/passwd", r"is not a valid run id"),
    ("20991231-000000-abcdef", r"Run 20991231-000000-abcdef does not exist"),
    ("![x](http://203.0.113.7/x.png)", r"'!\[x\]\(http://203\.0\.113\.7/x\.png\)' is not a valid"),
], ids=["dotdot", "encoded", "absolute", "unknown", "markdown-image"])
def test_run_param_cannot_escape_the_store(guarded, app_url, store_dir, param, message):
    before = sorted(p.name for p in store_dir.iterdir()) if store_dir.exists() else []
    page = guarded().page()
    page.goto(f"{app_url}/train?run={param}")
    wait_idle(page)
    warning = page.get_by_test_id("stAlertContentWarning").first
    warning.wait_for()
    assert re.search(message, warning.inner_text()), warning.inner_text()
    assert "run=" not in page.url  # the bad id is dropped from the address
    assert "No run yet" in page.get_by_test_id("stMain").inner_text()
    after = sorted(p.name for p in store_dir.iterdir()) if store_dir.exists() else []
    assert [n for n in after if n not in before and not n.startswith(".")] == []


def test_telemetry_is_off_in_the_config_the_server_reads():
    code = ("from streamlit import config; config.get_config_options(force_reparse=True); "
            "print(config.get_option('browser.gatherUsageStats'), "
            "config.get_option('server.address'), config.get_option('server.maxUploadSize'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[:2] == ["False", "127.0.0.1"] and int(out[2]) <= 200


# ------------------------------------------------------------------------------ training
def start_training(page, epochs: int, batch: int | None = None) -> str:
    epochs_box = page.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs_box.fill(str(epochs))
    epochs_box.press("Tab")
    stop_early = page.get_by_role("checkbox", name="Stop early")
    if stop_early.is_checked():  # these runs must last all their epochs
        page.get_by_test_id("stCheckbox").filter(has_text="Stop early").click()
        expect(stop_early).not_to_be_checked()
    if batch:
        box = page.get_by_role("spinbutton", name="Batch size")
        box.fill(str(batch))
        box.press("Tab")
    page.get_by_role("button", name="Train", exact=True).click()
    try:
        page.wait_for_url(RUN_IN_URL, timeout=30_000)
    except Exception:
        screenshot(page, "rel-fail-train-submit")
        raise AssertionError(f"no run started: {alerts(page)}")
    return RUN_IN_URL.search(page.url).group(1)


def heading(page, run_id: str):
    return page.get_by_role("heading", name=re.compile(f"Run {run_id}"))


def test_two_sessions_train_at_once_closed_tab_finds_its_run(guarded, app_url, store_dir):
    """Two users: separate runs, each page shows its own progress; the second waits with a
    clear message while the one slot is busy; closing the first tab mid-run loses nothing."""
    from core.store.runstore import RunStore

    first, second = guarded().page(), guarded().page()
    for page in (first, second):
        page.goto(f"{app_url}/train")
        wait_idle(page)
    run_a = start_training(first, epochs=12, batch=4)
    heading(first, run_a).filter(has_text="running").wait_for(timeout=120_000)
    run_b = start_training(second, epochs=2)
    assert run_a != run_b
    second.get_by_text("Waiting: another run is training now").wait_for(timeout=30_000)
    screenshot(second, "rel-second-session-queued")

    first.context.close()  # the tab is closed mid-run: the worker goes on
    reopened = guarded().page()
    reopened.goto(f"{app_url}/train?run={run_a}")
    wait_idle(reopened)
    heading(reopened, run_a).wait_for()
    for page, run_id, epochs in ((reopened, run_a, 12), (second, run_b, 2)):
        heading(page, run_id).filter(has_text="done").wait_for(timeout=240_000)
        progress = page.get_by_test_id("stProgress").inner_text()
        assert f"Epoch {epochs}/{epochs}" in progress, progress
        main = page.get_by_test_id("stMain").inner_text()
        other = run_b if run_id == run_a else run_a
        assert other not in main and RUN_IN_URL.search(page.url).group(1) == run_id
    screenshot(second, "rel-second-session-done")
    store = RunStore(store_dir)
    a, b = store.get_run(run_a), store.get_run(run_b)
    assert (len(a.epochs), len(b.epochs)) == (12, 2)
    assert a.config["epochs"] == 12 and b.config["epochs"] == 2


# ------------------------------------------------------------------------------ faults
def test_killed_worker_and_server_restart(guarded, tmp_path):
    """kill -9 of the worker mid-epoch shows "failed" live; after a server restart the
    finished run and the killed run's finished epochs are listed and open."""
    from core.jobs import queue as jobs
    from core.data.loading import load_dataset
    from core.store.runstore import RunStore
    from core.training.config import TrainConfig

    root, log = tmp_path / "runs", tmp_path / "server.log"
    store = RunStore(root)
    data = load_dataset(REPO / "sample_data" / "sample.csv")
    done = jobs.submit_run(store, data, TrainConfig(epochs=2))
    wait_for_run(store, done, lambda r: r.status == "done")
    victim = jobs.submit_run(store, data, TrainConfig(epochs=300, batch_size=4, early_stopping=False))
    proc, url = serve(root, log, warm_up=False)
    try:
        page = guarded().page()
        page.goto(f"{url}/train?run={victim}")
        wait_idle(page)
        heading(page, victim).filter(has_text="running").wait_for(timeout=120_000)
        run = wait_for_run(store, victim, lambda r: len(r.epochs) >= 2)
        time.sleep(0.3)  # inside the next epoch
        os.kill(run.pid, signal.SIGKILL)
        page.get_by_text("the process writing this run stopped").wait_for(timeout=30_000)
        heading(page, victim).filter(has_text="failed").wait_for()
        screenshot(page, "rel-worker-killed")
    finally:
        stop(proc)
    kept = len(store.get_run(victim).epochs)

    proc, url = serve(root, log, warm_up=False)  # the restart
    try:
        page = guarded().page()
        page.goto(f"{url}/runs")
        wait_idle(page)
        table = page.get_by_test_id("stDataFrame").first
        table.wait_for()
        page.get_by_text(victim).first.wait_for(state="attached")  # canvas table cells
        for run_id in (done, victim):
            assert page.get_by_text(run_id).count() > 0, run_id
        screenshot(page, "rel-after-restart-runs")
        for run_id, status, epochs in ((done, "done", "Epoch 2/2"),
                                       (victim, "failed", f"Epoch {kept}/300")):
            page.goto(f"{url}/train?run={run_id}")
            wait_idle(page)
            heading(page, run_id).filter(has_text=status).wait_for()
            assert epochs in page.get_by_test_id("stProgress").inner_text()
            page.get_by_test_id("stPlotlyChart").first.locator(".main-svg").first.wait_for()
    finally:
        stop(proc)
    assert kept >= 2 and len(RunStore(root).get_run(victim).epochs) == kept
    for snap in RunStore(root).get_run(victim).snapshots:
        assert RunStore(root).load_snapshot(victim, snap["idx"]).shape[0] > 100
