"""The Runs page's import form in real Chromium (issue 18): the server only queues an import
job, a worker process reads the files. A 0.4 MB HDF5 file declaring a 400 MB table (written
zeros, gzip: it used to be decoded inside the server) is refused with its message in the page
while the server's resident memory stays within 50 MB of where it was; a queued import can be
cancelled from the page; a good upload becomes the active run, labelled by the numbers in its
file names. Screenshots: test-artifacts/screenshots/import-job-*.png."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save

from tests.conftest import TEN_WORDS
from tests.hostile.import_corpus import _h5, _written_zeros

from .conftest import ARTIFACTS, _need_browser, fresh_page, screenshot, serve, stop, wait_idle

pytestmark = pytest.mark.browser
WORDS = ["<pad>", "<unk>"] + TEN_WORDS
GROWTH_LIMIT_MB = 50


@pytest.fixture(scope="module")
def import_server(tmp_path_factory):
    _need_browser()
    root = tmp_path_factory.mktemp("import-browser") / "runs"
    root.mkdir()
    proc, url = serve(root, ARTIFACTS / "streamlit-import.log", warm_up=False)
    try:
        yield root, url, proc.pid
    finally:
        stop(proc)


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


def _open_form(page, url: str) -> None:
    page.goto(f"{url}/runs")
    wait_idle(page)
    page.get_by_text("Import saved weights (a model trained elsewhere) as a run").click()
    wait_idle(page)


def _upload(page, files: list[Path]) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(
        [str(f) for f in files])
    for f in files:
        page.get_by_test_id("stFileChipName").filter(has_text=f.name).first.wait_for()
    wait_idle(page)


def test_a_bomb_is_refused_by_a_worker_and_the_server_does_not_grow(browser, import_server,
                                                                      tmp_path):
    root, url, pid = import_server
    bomb = _h5(tmp_path / "zeros.weights.h5", _written_zeros)
    page = next(pages := fresh_page(browser))
    _open_form(page, url)
    _upload(page, [bomb])
    before, peak = rss_mb(pid), 0.0
    page.get_by_role("button", name="Import", exact=True).click()
    error = page.get_by_test_id("stAlertContentError")
    for _ in range(600):  # poll the server's memory while the job runs
        peak = max(peak, rss_mb(pid))
        if error.count():
            break
        page.wait_for_timeout(100)
    text = error.first.inner_text()
    assert "zeros.weights.h5" in text and "possible decompression bomb" in text, text
    screenshot(page, "import-job-refused")
    (ARTIFACTS / "import-job-rss.json").write_text(
        f'{{"before_mb": {before:.1f}, "peak_mb": {peak:.1f}}}\n')
    assert peak - before < GROWTH_LIMIT_MB, (before, peak)
    from core.store.runstore import RunStore
    assert RunStore(root).list_runs() == []
    next(pages, None)


def test_a_queued_import_is_cancelled_from_the_page(browser, import_server, tmp_path):
    from core.jobs.queue import free_slot
    from core.store.runstore import RunStore

    root, url, _ = import_server
    path = tmp_path / "epoch_1.safetensors"
    path.write_bytes(save({"embedding": np.zeros((len(WORDS), 4), np.float32)}))
    slot = free_slot(RunStore(root), 1)  # the only slot is busy: the job waits, queued
    try:
        page = next(pages := fresh_page(browser))
        _open_form(page, url)
        _upload(page, [path])
        page.get_by_role("button", name="Import", exact=True).click()
        page.get_by_text("Import queued: 0 of 1 files read").wait_for()
        screenshot(page, "import-job-queued")
        page.get_by_role("button", name="Cancel import").click()
        page.get_by_text("The import was cancelled; nothing was stored.").wait_for()
    finally:
        slot.close()
    assert RunStore(root).list_runs() == []
    next(pages, None)


def test_a_good_import_becomes_the_active_run(browser, import_server, tmp_path):
    from core.store.runstore import RunStore

    root, url, _ = import_server
    files = []
    for epoch in (2, 1):
        files.append(tmp_path / f"epoch_{epoch}.safetensors")
        table = np.full((len(WORDS), 4), epoch, np.float32)
        files[-1].write_bytes(save({"embedding": table}))
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n")
    page = next(pages := fresh_page(browser))
    _open_form(page, url)
    _upload(page, files)
    page.get_by_test_id("stFileUploaderDropzoneInput").nth(1).set_input_files(str(vocab))
    wait_idle(page)
    page.get_by_text("Snapshots this import will make:").wait_for()
    screenshot(page, "import-job-plan")
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text(re.compile(r"Imported run .* is now the active run")).wait_for(
        timeout=120_000)
    screenshot(page, "import-job-done")
    [run] = RunStore(root).list_runs()
    assert [s["epoch"] for s in run.snapshots] == [1, 2]
    next(pages, None)
