"""The dashboard in real Chromium: what a user sees and does, end to end.

Screenshots of every view go to test-artifacts/screenshots/ (look at them).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import go_to, no_errors, screenshot, upload_data, wait_idle

pytestmark = pytest.mark.browser


def test_data_page_opens_on_the_sample(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    expect(page.get_by_text("Using the bundled sample")).to_be_visible()
    chart = page.get_by_test_id("stPlotlyChart").first
    chart.locator(".js-plotly-plot .main-svg").first.wait_for()
    page.get_by_text("Distinct words in GloVe").wait_for()
    no_errors(page)
    screenshot(page, "01-data-sample")


def finished_run(root, like: str | None = None) -> str:
    """A second, finished run written straight into the server's store (no second training),
    on the data set of run ``like`` when given (a comparison pairs runs of one data set)."""
    from core.store.runstore import RunStore

    store = RunStore(root)
    run_id = store.create_run({"arch": "bag", "init": "random", "epochs": 2}, status="running")
    if like is not None:
        info = store.get_run(like).info
        store.update_info(run_id, **{k: info[k] for k in ("dataset_id", "dataset_name")
                                     if k in info})
    for epoch, acc in ((1, 0.93), (2, 0.95)):
        store.add_epoch(run_id, epoch, {"train_loss": 0.3 / epoch, "val_loss": 0.35 / epoch,
                                        "val_accuracy": acc})
    store.set_status(run_id, "done")
    return run_id


def test_upload_train_reload_and_list(page, app_url, store_dir, clickbait_csv, clickbait_rows):
    upload_data(page, app_url, clickbait_csv)
    kept = page.get_by_test_id("stMetric").filter(has_text="Texts kept")
    # the rerun after the upload replaces the sample's numbers element by element
    expect(kept).to_contain_text(f"{len(clickbait_rows):,}", timeout=60_000)
    page.get_by_text("Running words in GloVe").wait_for()
    no_errors(page)
    screenshot(page, "02-data-clickbait")

    go_to(page, "Train", "train")
    assert f"{len(clickbait_rows):,} texts" in page.get_by_test_id("stMain").inner_text()
    page.get_by_text("GloVe 6B 50d (bundled)").click()
    wait_idle(page)
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("2")
    epochs.press("Tab")
    screenshot(page, "03-train-form")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_url(re.compile(r".*[?&]run=\d{8}-\d{6}-[0-9a-f]{6}"))
    run_id = re.search(r"run=([0-9a-f-]+)", page.url).group(1)
    page.get_by_text(f"Run {run_id}").wait_for()

    # A refresh starts a new session: the run must come back from the URL, still going.
    page.reload()
    wait_idle(page)
    heading = page.get_by_role("heading", name=re.compile(f"Run {run_id}"))
    heading.wait_for()
    assert re.search(r"queued|running", heading.inner_text()), heading.inner_text()
    assert run_id in page.url
    screenshot(page, "04-train-after-reload")

    # Live progress: the fragment redraws from the store with no user action. An epoch can
    # take under the 1 s refresh, so the counter may jump from 0/2 straight to 2/2.
    progress = page.get_by_test_id("stProgress")
    progress.filter(has_text=re.compile(r"Epoch [12]/2")).wait_for(timeout=240_000)
    page.get_by_test_id("stPlotlyChart").nth(1).locator(".main-svg").first.wait_for()
    screenshot(page, "05-train-live")
    page.get_by_role("heading", name=re.compile(r"done")).wait_for(timeout=240_000)
    assert "Epoch 2/2" in progress.inner_text()
    page.get_by_test_id("stPlotlyChart").nth(1).locator(".main-svg").first.wait_for()
    no_errors(page)
    screenshot(page, "06-train-done")

    other = finished_run(store_dir, like=run_id)
    go_to(page, "Runs", "runs")
    page.get_by_test_id("stDataFrame").first.wait_for()
    assert page.get_by_text(run_id).count() > 0 and page.get_by_text(other).count() > 0
    compare = page.get_by_test_id("stPlotlyChart").first
    compare.locator(".main-svg").first.wait_for()
    expect(compare.locator("g.trace.scatter")).to_have_count(2)  # one accuracy line per run
    assert run_id in page.url  # the active run stays in the address across pages
    no_errors(page)
    screenshot(page, "07-runs")

    # export: the browser downloads the learned vectors, and gensim reads them back
    from gensim.models import KeyedVectors

    with page.expect_download() as download:
        page.get_by_role("button", name="Download word2vec text").click()
    import zipfile

    text = download.value.path().with_name("vectors.w2v.txt")
    with zipfile.ZipFile(download.value.path()) as zf:  # the text, and what it left out
        text.write_bytes(zf.read("vectors.w2v.txt"))
    kv = KeyedVectors.load_word2vec_format(str(text), binary=False)
    assert kv.vector_size == 50 and len(kv) > 1000 and "you" in kv.key_to_index
