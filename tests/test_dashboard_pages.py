"""Page logic of the dashboard through streamlit.testing.v1.AppTest (no browser).

Each test gets its own run store (EXPLORER_STORE) and no background warm-up. The training
test uses the bundled sample and two epochs, its job served by a worker in this process.
"""
from __future__ import annotations

import json
import pickle
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO, TWENTY_LINES, NoProcess
from dashboard import services
from dashboard.text import escape_markdown

APP = str(REPO / "dashboard" / "app.py")


@pytest.fixture
def app(app_store) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def values(elements) -> list[str]:
    return [str(e.value) for e in elements]


def widget(elements, label: str):
    matches = [w for w in elements if w.label == label]
    assert matches, f"no widget labelled {label!r}: {[w.label for w in elements]}"
    return matches[0]


def metric(at: AppTest, label: str) -> str:
    return widget(at.metric, label).value


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def csv_bytes(rows, columns=("text", "label")) -> bytes:
    return pd.DataFrame(rows, columns=list(columns)).to_csv(index=False).encode()


def fake_run(root: Path, accuracies=(0.6, 0.8), status="done", **config) -> str:
    """A finished run written straight into the store: fast, and exactly known numbers."""
    from core.store.runstore import RunStore

    store = RunStore(root)
    cfg = {"arch": "bag", "init": "random", "epochs": len(accuracies), **config}
    run_id = store.create_run(cfg, status="running")
    for epoch, acc in enumerate(accuracies, start=1):
        store.add_epoch(run_id, epoch, {"train_loss": 1 / epoch, "val_loss": 1.1 / epoch,
                                        "val_accuracy": acc})
    store.set_status(run_id, status)
    time.sleep(0.01)  # distinct creation times keep "newest first" well defined
    return run_id


# ------------------------------------------------------------------------------ shell
def test_every_view_file_is_in_the_navigation_in_order(app):
    from dashboard.app import PAGES

    files = {p.name for p in (REPO / "dashboard" / "screens").glob("*.py")} - {"__init__.py"}
    assert {name for name, *_ in PAGES} == files  # no view left out of the sidebar
    assert [title for _, title, *_ in PAGES] == [
        "Data", "Train", "Evolution", "Lookup table", "Learned vs pretrained", "Documents",
        "Experiments", "General vs task semantics", "Three spaces", "Runs"]


# ------------------------------------------------------------------------------ Data
def test_data_page_opens_on_the_bundled_sample(app):
    from core.data.loading import load_dataset

    sample = load_dataset(REPO / "sample_data" / "sample.csv")
    assert any("bundled sample" in v for v in values(app.info))
    assert widget(app.selectbox, "Text column").value == sample.report.text_column
    assert widget(app.selectbox, "Label column").value == sample.report.label_column
    assert metric(app, "Texts kept") == f"{len(sample):,}"
    assert metric(app, "Classes") == str(len(sample.classes))
    bars = plotly_specs(app)[0]["data"][0]
    assert sorted(bars["x"]) == sorted(sample.classes)
    assert not app.error


def test_column_override_changes_the_labels(app):
    rows = [(t, lab, "travel" if i % 3 else "food") for i, (t, lab) in enumerate(TWENTY_LINES)]
    app.file_uploader[0].set_value(("mine.csv", csv_bytes(rows, ("text", "label", "topic")),
                                    "text/csv")).run()
    # user-controlled names reach Markdown escaped (escape_markdown), so match the escaped form
    assert any(escape_markdown("mine.csv") in v for v in values(app.success))
    assert widget(app.selectbox, "Label column").value == "label"
    assert sorted(plotly_specs(app)[0]["data"][0]["x"]) == ["neg", "pos"]

    widget(app.selectbox, "Label column").set_value("topic").run()
    assert not app.exception and not app.error
    assert app.session_state["data_label_column"] == "topic"
    assert sorted(plotly_specs(app)[0]["data"][0]["x"]) == ["food", "travel"]


def test_same_column_twice_is_an_error_not_a_crash(app):
    widget(app.selectbox, "Label column").set_value("text").run()
    assert not app.exception
    assert any("must be different" in v for v in values(app.error))


@pytest.mark.parametrize("name,data,expected", [
    ("binary.csv", b"\x00\x01\x02\x03 not text", "NUL"),
    ("one_column.csv", b"text\n" + b"hello there\n" * 20, "column"),
    ("few_rows.csv", csv_bytes(TWENTY_LINES[:3]), "too few rows"),
], ids=["binary", "one-column", "too-few-rows"])
def test_bad_upload_shows_an_error_not_an_exception(app, name, data, expected):
    app.file_uploader[0].set_value((name, data, "text/csv")).run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(expected.lower() in v.lower() for v in values(app.error)), values(app.error)


def test_back_to_the_sample(app):
    app.file_uploader[0].set_value(("mine.csv", csv_bytes(TWENTY_LINES), "text/csv")).run()
    assert metric(app, "Texts kept") == "20"
    widget(app.button, "Use the bundled sample instead").click().run()
    assert app.session_state["data_upload"] is None
    assert any("bundled sample" in v for v in values(app.info))


# ------------------------------------------------------------------------------ Train
def test_train_form_submits_a_job_and_shows_the_finished_run(app, app_store, monkeypatch):
    """The form queues a job; the worker serving it runs here, in this process (the
    NoProcess stub takes the spawn: spawned workers are tested in test_queue_*)."""
    from core.jobs import process, workers
    from core.store.runstore import RunStore

    monkeypatch.setattr(process.subprocess, "Popen", NoProcess)
    app.switch_page("screens/train.py").run()
    assert not app.exception and not app.error
    widget(app.number_input, "Epochs").set_value(2)
    widget(app.number_input, "Seed").set_value(3)
    widget(app.button, "Train").click().run()
    assert not app.exception and not app.error, values(app.error)

    run_id = app.session_state["active_run"]
    assert run_id
    assert app.query_params["run"] in (run_id, [run_id])  # AppTest may keep a list
    assert RunStore(app_store).get_run(run_id).status == "queued"
    assert workers.run_job(RunStore(app_store), run_id) == ("run", "done")
    run = RunStore(app_store).get_run(run_id)
    assert run.status == "done", run.error
    assert run.config["epochs"] == 2 and run.config["seed"] == 3 and len(run.epochs) == 2

    app.run()
    assert any("done" in s for s in values(app.subheader))
    assert [(p.value, p.text) for p in app.progress] == [(100, "Epoch 2/2 — done")]
    best = run.best()["epoch"]
    assert metric(app, f"Accuracy at epoch {best}").endswith("%")
    curves = plotly_specs(app)
    assert [len(trace["x"]) for trace in curves[0]["data"]] == [2, 2]

    app.switch_page("screens/runs.py").run()
    assert [b.label for b in app.download_button] == [
        "Download word2vec text", "Download TensorBoard projector", "Download word table"]


def test_train_form_early_stopping_reads_the_config(app):
    """The switch and the patience come from TrainConfig's default and range."""
    from core.common.checks import range_of
    from core.training.config import TrainConfig

    app.switch_page("screens/train.py").run()
    assert not app.exception
    switch = widget(app.checkbox, "Stop early")
    patience = widget(app.number_input, "Patience (epochs)")
    assert switch.value is TrainConfig().early_stopping
    assert patience.value == TrainConfig().patience
    assert (patience.min, patience.max) == range_of(TrainConfig, "patience")


def test_pickle_vector_file_is_refused_with_the_core_message(app):
    app.switch_page("screens/train.py").run()
    widget(app.radio, "Start the word vectors from").set_value("file").run()
    payload = pickle.dumps({"good": [0.1, 0.2]})
    app.file_uploader[0].set_value(("vectors.pkl", payload, "application/octet-stream")).run()
    assert not app.exception
    assert any("pickle" in v for v in values(app.error)), values(app.error)
    widget(app.button, "Train").click().run()
    assert any("passes the check" in v for v in values(app.error))
    assert app.session_state["active_run"] is None


def test_text_vector_file_is_checked_and_described(app):
    app.switch_page("screens/train.py").run()
    widget(app.radio, "Start the word vectors from").set_value("file").run()
    text = "2 3\ngood 0.1 0.2 0.3\nbad -0.1 0.0 0.5\n".encode()
    app.file_uploader[0].set_value(("tiny.vec", text, "text/plain")).run()
    assert not app.error and not app.exception
    assert any("2 words × 3 dimensions" in v for v in values(app.success))


# ------------------------------------------------------------------------------ ?run=
def test_run_in_the_url_becomes_the_active_run(app_store):
    run_id = fake_run(app_store)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["run"] = run_id
    at.switch_page("screens/train.py").run()
    assert at.session_state["active_run"] == run_id
    assert any(run_id in s and "done" in s for s in values(at.subheader))


def test_unknown_run_in_the_url_is_a_warning(app_store):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["run"] = "../../etc"
    at.run()
    assert not at.exception
    assert any("could not be opened" in v for v in values(at.warning))
    assert at.session_state["active_run"] is None


# ------------------------------------------------------------------------------ Runs
def test_train_headline_and_runs_row_name_the_same_chosen_epoch(app, app_store):
    """Epoch 2 has the higher accuracy (83.6 %) but the higher validation loss: both pages
    headline epoch 1 (82.9 %) and say it was scored on the texts that chose it."""
    from core.store.runstore import RunStore

    run_id = fake_run(app_store, (0.829, 0.836))
    store = RunStore(app_store)
    store.add_epoch(run_id, 2, {"train_loss": 0.4, "val_loss": 2.0, "val_accuracy": 0.836})
    app.query_params["run"] = run_id
    app.switch_page("screens/train.py").run()
    assert metric(app, "Accuracy at epoch 1") == "82.9%"
    assert any("Epoch 1 chosen by lowest validation loss; its accuracy measured on validation "
               "(used to choose the epoch)." in c for c in values(app.caption))
    app.switch_page("screens/runs.py").run()
    row = app.dataframe[0].value.set_index("run").loc[run_id]
    assert (row["best epoch"], row["best val accuracy"]) == (1, pytest.approx(0.829))
    assert row["scored on"] == "validation (used to choose the epoch)"


def test_runs_lists_opens_and_deletes(app, app_store):
    older = fake_run(app_store, (0.5, 0.7))
    newer = fake_run(app_store, (0.6, 0.9), init="glove")
    app.switch_page("screens/runs.py").run()
    table = app.dataframe[0].value
    assert list(table["run"]) == [newer, older]
    assert list(table["final val accuracy"]) == pytest.approx([0.9, 0.7])

    picker = widget(app.selectbox, "Run")
    picker.set_value(older).run()
    widget(app.button, "Open").click().run()
    assert app.session_state["active_run"] == older

    widget(app.button, "Delete…").click().run()
    assert any("cannot be undone" in v for v in values(app.warning))
    widget(app.button, "Keep it").click().run()
    from core.store.runstore import RunStore
    assert len(RunStore(app_store).list_runs()) == 2

    widget(app.button, "Delete…").click().run()
    widget(app.button, "Yes, delete").click().run()
    assert not app.exception
    assert [r.run_id for r in RunStore(app_store).list_runs()] == [newer]
    assert app.session_state["active_run"] is None  # the deleted run was the active one
    assert list(app.dataframe[0].value["run"]) == [newer]


def test_runs_compare_two(app, app_store):
    a = fake_run(app_store, (0.5, 0.7))
    b = fake_run(app_store, (0.6, 0.8, 0.9), init="glove")
    app.switch_page("screens/runs.py").run()
    chart = plotly_specs(app)[0]
    assert [trace["y"] for trace in chart["data"]] == [[0.6, 0.8, 0.9], [0.5, 0.7]]
    table = app.dataframe[-1].value  # the last table: the two runs side by side
    from core.runs import naming
    from core.store.runstore import RunStore

    store = RunStore(app_store)  # named by their names (issue 21), not their ids
    assert list(table.columns) == [naming.run_name(store.get_run(r)) for r in (b, a)]
    assert table.loc["final val accuracy"].tolist() == ["90.0%", "70.0%"]
    assert not app.download_button  # runs without snapshots have nothing to export


def test_a_live_run_cannot_be_deleted(app, app_store):
    run_id = fake_run(app_store, (0.5,), status="queued")
    app.switch_page("screens/runs.py").run()
    widget(app.button, "Delete…").click().run()
    assert any("cancel it" in v for v in values(app.warning))
    from core.store.runstore import RunStore
    assert RunStore(app_store).get_run(run_id).status == "queued"


def test_export_download_renders_word2vec_text(app_store):
    """The deferred download calls core.runs.export; checked on a run with one snapshot."""
    import numpy as np
    from core.store.runstore import RunStore
    from dashboard import services

    store = RunStore(app_store)
    run_id = fake_run(app_store)
    store.save_frame(run_id, "vocab", pd.DataFrame({
        "token": ["<pad>", "<unk>", "good", "bad"], "count": [0, 0, 3, 2],
        "train_count": [0, 0, 3, 2], "count_0": [0, 0, 3, 0], "count_1": [0, 0, 0, 2]}))
    store.add_snapshot(run_id, 0, 0, 0, np.arange(8, dtype=np.float32).reshape(4, 2))
    import io
    import zipfile

    data = services.export_download(run_id, "word2vec")()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # zipped: it may list words left out
        assert zf.namelist() == ["vectors.w2v.txt"]
        text = zf.read("vectors.w2v.txt").decode()
    assert text.splitlines()[0] == "4 2"  # every row, <pad>/<unk> too (issue 18)
    assert [line.split()[0] for line in text.splitlines()[1:]] == ["<pad>", "<unk>", "good",
                                                                  "bad"]


def test_runs_page_offers_the_import_even_with_no_runs(app, app_store):
    """Importing saved weights is a way to get a first run: the form is there before any."""
    app.switch_page("screens/runs.py").run()
    assert not app.exception
    assert any("Import saved weights" in e.label for e in app.expander)
    assert any(b.label == "Import" for b in app.button)
    assert any("No runs yet" in i.value for i in app.info)
