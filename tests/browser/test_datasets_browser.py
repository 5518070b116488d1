"""Data sets and organised runs in real Chromium: an uploaded data set survives a refresh,
Launch selects the new experiment, and experiment runs stay out of the run picker until the
user asks for them. Screenshots go to test-artifacts/screenshots/datasets-*.png."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from tests.conftest import TWENTY_LINES

from .conftest import choose, go_to, no_errors, one_seed_each, screenshot, upload_data, wait_idle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("upload") / "tiny-reviews.csv"
    pd.DataFrame(TWENTY_LINES * 3, columns=["text", "label"]).to_csv(path, index=False)
    return path


def texts_kept(page) -> str:
    return page.get_by_test_id("stMetric").filter(has_text="Texts kept").inner_text()


def test_a_refresh_keeps_the_uploaded_data_set(page, app_url, tiny_csv):
    upload_data(page, app_url, tiny_csv)
    assert "60" in texts_kept(page)
    data_id = parse_qs(urlparse(page.url).query)["data"][0]
    assert len(data_id) == 64

    page.reload()  # a new session: session state is gone, the address and the store are not
    wait_idle(page)
    page.get_by_text("Using your file").wait_for()
    assert "60" in texts_kept(page)
    assert parse_qs(urlparse(page.url).query)["data"] == [data_id]
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert "Data: tiny-reviews.csv" in sidebar
    listing = page.get_by_test_id("stSelectbox").filter(has_text="Data set to use")
    assert "tiny-reviews.csv · 60 texts" in listing.inner_html()
    no_errors(page)
    screenshot(page, "datasets-01-data-page-after-refresh")

    go_to(page, "Train", "train")  # another page of the same session: still that data set
    assert "tiny-reviews.csv" in page.get_by_test_id("stMain").inner_text()


def older_experiment(store_dir) -> str:
    """An experiment launched before (from another data set), finished, with its runs."""
    from core.data.loading import Dataset
    from core.jobs import queue as jobs
    from core.store.runstore import RunStore
    from core.training.config import ExperimentConfig

    store = RunStore(store_dir)
    data = Dataset.from_lists([t for t, _ in TWENTY_LINES * 3], [c for _, c in TWENTY_LINES * 3])
    exp_id = jobs.submit_experiment(store, data, ExperimentConfig.from_dict(dict(
        sizes=(10, "all"), inits=("random",), seeds=1, epochs=1)), dataset_name="older.csv")
    deadline = time.monotonic() + 240
    while store.get_job(exp_id).status in ("queued", "running"):
        assert time.monotonic() < deadline, "the older experiment did not finish"
        time.sleep(0.5)
    assert store.get_job(exp_id).status == "done"
    return exp_id


def test_launch_selects_the_new_experiment(page, app_url, store_dir):
    older = older_experiment(store_dir)
    page.goto(app_url)
    wait_idle(page)
    go_to(page, "Experiments", "experiments")
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Experiment")
    assert older in picker.inner_html()
    assert "older.csv" in picker.inner_html()  # each experiment names its data set
    choose(page, "Training sizes", ["50"])
    choose(page, "Start the word vectors from", ["random"])
    one_seed_each(page, epochs=1)
    page.get_by_role("button", name="Launch").click()
    wait_idle(page)

    from core.store.runstore import RunStore

    newest = RunStore(store_dir).list_jobs("experiment")[0].run_id
    assert newest != older
    page.get_by_role("heading", name=f"Experiment {newest}").wait_for()
    screenshot(page, "datasets-02-experiment-launched")
    assert newest in picker.inner_html(), picker.inner_html()[-1500:]
    assert older not in picker.inner_html()
    assert "sample.csv" in picker.inner_html()
    no_errors(page)
    screenshot(page, "datasets-02-experiment-launched")


def finished_run(store_dir) -> str:
    """A run of the user's own (not an experiment's), written straight into the store."""
    from core.store.runstore import RunStore

    store = RunStore(store_dir)
    run_id = store.create_run({"arch": "bag", "init": "glove", "epochs": 2},
                              info={"dataset_id": "f" * 64, "dataset_name": "own.csv",
                                    "n_train": 48}, status="running")
    for epoch, acc, loss in ((1, 0.81, 0.30), (2, 0.78, 0.40)):  # best: epoch 1 (lowest loss)
        store.add_epoch(run_id, epoch, {"train_loss": 0.3 / epoch, "val_loss": loss,
                                        "val_accuracy": acc})
    store.set_status(run_id, "done")
    return run_id


def picker_options(page) -> list[str]:
    page.get_by_test_id("stSelectbox").filter(has_text="Run").click()
    options = page.get_by_role("option")
    options.first.wait_for()
    found = options.all_inner_texts()
    return found


def test_experiment_runs_are_hidden_from_the_run_picker_until_asked(page, app_url, store_dir):
    from core.store.runstore import RunStore

    own = finished_run(store_dir)
    experiment_runs = [r.run_id for r in RunStore(store_dir).list_runs()
                       if r.label.startswith("experiment:")]
    assert experiment_runs  # made by the experiments of the test above
    page.goto(app_url)
    wait_idle(page)
    go_to(page, "Evolution", "evolution")
    options = picker_options(page)
    assert any(own in o for o in options)
    assert not any(r in o for o in options for r in experiment_runs)
    [label] = [o for o in options if own in o]
    assert label.startswith("own.csv · glove · bag · 48 texts · best 81.0%")
    screenshot(page, "datasets-03-picker-own-runs")
    page.keyboard.press("Escape")
    wait_idle(page)

    page.get_by_text("Show experiment runs").click()
    wait_idle(page)
    options = picker_options(page)
    assert all(any(r in o for o in options) for r in experiment_runs)
    screenshot(page, "datasets-04-picker-with-experiment-runs")
    page.keyboard.press("Escape")
    wait_idle(page)
    no_errors(page)

    go_to(page, "Runs", "runs")
    main = page.get_by_test_id("stMain")
    page.get_by_text("Show experiment runs").click()
    wait_idle(page)
    assert "older.csv" in main.inner_text()  # an experiment's group names its data set
    no_errors(page)
    screenshot(page, "datasets-05-runs-page")
