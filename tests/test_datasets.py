"""The data-set registry (core.store.datasets), the job info naming a run's data set, and the
``datasets`` / ``train`` commands: tiny CSVs made here, temp stores."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pandas as pd
import pytest

from core.data.loading import LoadConfig, load_dataset
from core.errors import StoreError
from core.store import datasets
from core.store.runstore import RunStore
from tests.conftest import REPO, TWENTY_LINES


def csv_bytes(extra_column: bool = False) -> bytes:
    rows = [(t, lab, "x" if i % 2 else "y") for i, (t, lab) in enumerate(TWENTY_LINES)]
    frame = pd.DataFrame(rows, columns=["text", "label", "topic"])
    return (frame if extra_column else frame[["text", "label"]]).to_csv(index=False).encode()


def registered(store, data: bytes, name="reviews.csv", **config):
    dataset = load_dataset(data, name, LoadConfig(**config))
    return dataset, datasets.register(store, dataset, data, name)


def test_a_registered_data_set_survives_reopening_the_store(tmp_path):
    data = csv_bytes()
    dataset, record = registered(RunStore(tmp_path / "runs"), data)
    again = RunStore(tmp_path / "runs")  # a server restart: a new store object, same folder
    [listed] = datasets.list_datasets(again)
    assert listed == record
    assert record.dataset_id == dataset.fingerprint()
    assert (record.name, record.n_rows, record.fmt) == ("reviews.csv", 20, "csv")
    assert (record.text_column, record.label_column) == ("text", "label")
    assert record.class_counts == {"neg": 10, "pos": 10}
    assert datasets.read_source(again, record.dataset_id) == data
    assert datasets.load(again, record.dataset_id).fingerprint() == record.dataset_id


def test_registering_again_keeps_the_record_and_its_name(tmp_path):
    store = RunStore(tmp_path)
    dataset, record = registered(store, csv_bytes())
    datasets.rename(store, record.dataset_id, "my reviews")
    again = datasets.register(store, dataset, csv_bytes(), "other-name.csv")
    assert again.name == "my reviews" and again.created == record.created
    assert len(datasets.list_datasets(store)) == 1


def test_other_columns_make_another_data_set_sharing_the_file(tmp_path):
    store, data = RunStore(tmp_path), csv_bytes(extra_column=True)
    _, by_label = registered(store, data, text_column="text", label_column="label")
    _, by_topic = registered(store, data, text_column="text", label_column="topic")
    assert by_label.dataset_id != by_topic.dataset_id
    assert by_topic.class_counts == {"x": 10, "y": 10}
    sources = list((store.root / "datasets" / "sources").iterdir())
    assert len(sources) == 1  # one copy of the file
    datasets.delete(store, by_label.dataset_id)
    assert datasets.load(store, by_topic.dataset_id).classes == ("x", "y")
    datasets.delete(store, by_topic.dataset_id)
    assert not list((store.root / "datasets" / "sources").iterdir())
    assert datasets.list_datasets(store) == []


def test_the_bundled_sample_cannot_be_deleted(tmp_path):
    store, data = RunStore(tmp_path), csv_bytes()
    dataset = load_dataset(data, "sample.csv")
    record = datasets.register(store, dataset, data, "sample.csv", bundled=True)
    with pytest.raises(StoreError, match="cannot be deleted"):
        datasets.delete(store, record.dataset_id)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a" * 64 + "\n", "A" * 64, "", None])
def test_ids_that_are_not_fingerprints_are_refused(tmp_path, bad):
    with pytest.raises(StoreError, match="not a valid data set id"):
        datasets.get(RunStore(tmp_path), bad)


@pytest.mark.parametrize("name,problem", [("  ", "empty"), ("a\nb", "control"),
                                          ("x" * 121, "at most 120"), ("\u202eevil", "control")])
def test_bad_names_are_refused(tmp_path, name, problem):
    store = RunStore(tmp_path)
    _, record = registered(store, csv_bytes())
    with pytest.raises(StoreError, match=problem):
        datasets.rename(store, record.dataset_id, name)
    assert datasets.get(store, record.dataset_id).name == "reviews.csv"


def test_a_hostile_file_name_stays_inside_the_store(tmp_path):
    store = RunStore(tmp_path / "runs")
    _, record = registered(store, csv_bytes(), name="../../outside<script>.c$v")
    [source] = (store.root / "datasets" / "sources").iterdir()
    assert source.name == record.source_sha + ".cv"
    assert record.name == "outside<script>.c$v"  # shown as text by the pages, never markup
    assert not (tmp_path / "outside<script>.c$v").exists()


def test_a_source_changed_on_disk_is_refused(tmp_path):
    store = RunStore(tmp_path)
    _, record = registered(store, csv_bytes())
    [source] = (store.root / "datasets" / "sources").iterdir()
    source.write_bytes(csv_bytes(extra_column=True))
    with pytest.raises(StoreError, match="changed on disk"):
        datasets.load(store, record.dataset_id)


def test_a_job_names_its_data_set_and_experiment_runs_their_experiments(tmp_path):
    store = RunStore(tmp_path)
    exp = store.create_job("experiment", {}, info={"dataset_id": "a" * 64,
                                                    "dataset_name": "reviews"}, status="done")
    member = store.create_run({}, label=f"experiment:{exp}", status="done")
    own = store.create_run({}, info={"dataset_id": "b" * 64, "dataset_name": "speeches"},
                           status="done")
    old = store.create_run({}, status="done")
    jobs = {j.run_id: j for j in store.list_jobs()}
    assert datasets.job_dataset(jobs[member], jobs) == ("a" * 64, "reviews")
    assert datasets.job_dataset(jobs[own], jobs) == ("b" * 64, "speeches")
    assert datasets.job_dataset(jobs[old], jobs) == (None, None)
    assert datasets.experiment_of(jobs[member]) == exp and datasets.experiment_of(jobs[own]) is None


def test_a_run_name_is_kept_beside_what_the_worker_records(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({}, info={"n_train": 5}, status="done")
    datasets.rename_job(store, run_id, "  baseline  ")
    store.update_info(run_id, views="ready")  # the engine records something afterwards
    assert store.get_run(run_id).info == {"n_train": 5, "name": "baseline", "views": "ready"}
    datasets.rename_job(store, run_id, "")
    assert store.get_run(run_id).info["name"] is None
    with pytest.raises(StoreError, match="line breaks"):
        datasets.rename_job(store, run_id, "two\nlines")


def test_submitted_jobs_record_their_data_set(tmp_path, monkeypatch, tiny_dataset):
    from core.jobs import queue
    from core.training.config import ExperimentConfig, TrainConfig

    monkeypatch.setattr(queue, "start_worker", lambda *a, **k: None)  # stays queued
    store = RunStore(tmp_path)
    run_id = queue.submit_run(store, tiny_dataset, TrainConfig(epochs=1), dataset_name="tiny")
    exp_id = queue.submit_experiment(store, tiny_dataset, ExperimentConfig(),
                                     dataset_name="tiny")
    for job_id in (run_id, exp_id):
        info = store.get_job(job_id).info
        assert (info["dataset_id"], info["dataset_name"]) == (tiny_dataset.fingerprint(), "tiny")


def run_cli(*argv: str) -> list[dict]:
    from core.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(list(argv)) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_train_registers_its_file_and_datasets_lists_it(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_bytes(csv_bytes())
    store = str(tmp_path / "runs")
    assert run_cli("datasets", "--store", store) == []
    summary = run_cli("train", str(path), "--epochs", "1", "--store", store, "--quiet")[-1]
    [listed] = run_cli("datasets", "--store", store)
    assert listed["name"] == "reviews.csv" and listed["n_rows"] == 20
    assert (listed["runs"], listed["experiments"]) == (1, 0)
    info = RunStore(store).get_run(summary["run_id"]).info
    assert (info["dataset_id"], info["dataset_name"]) == (listed["dataset_id"], "reviews.csv")


def test_experiment_registers_its_file_and_names_it(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_bytes(csv_bytes())
    store = str(tmp_path / "runs")
    out = run_cli("experiment", str(path), "--sizes", "8", "--inits", "random", "--seeds", "1",
                  "--epochs", "1", "--store", store, "--quiet")[-1]
    [listed] = run_cli("datasets", "--store", store)
    assert (listed["runs"], listed["experiments"]) == (1, 1)  # its run counts through it
    info = RunStore(store).get_job(out["experiment_id"]).info
    assert (info["dataset_id"], info["dataset_name"]) == (listed["dataset_id"], "reviews.csv")


def test_datasets_is_a_registered_subcommand():
    from core.cli import SUBCOMMANDS

    assert "datasets" in {c.name for c in SUBCOMMANDS}


# ------------------------------------------------------------------------ the Data page
APP = str(REPO / "dashboard" / "app.py")


def open_data_page(**params):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at, label: str):
    [found] = [b for b in at.button if b.label == label]
    return found


def test_an_upload_is_stored_and_a_new_session_finds_it(app_store):
    at = open_data_page()
    at.file_uploader[0].set_value(("reviews.csv", csv_bytes(), "text/csv")).run()
    assert not at.exception and not at.error
    store = RunStore(app_store)
    names = {r.name: r for r in datasets.list_datasets(store)}
    assert set(names) == {"reviews.csv", "sample.csv"}  # the sample is always listed
    chosen = names["reviews.csv"].dataset_id
    assert at.session_state["data_set"] == chosen and at.query_params["data"] == chosen
    fresh = open_data_page(data=chosen)  # a refresh, or a restart: a new session, same URL
    assert fresh.session_state["data_set"] == chosen
    assert [m.value for m in fresh.metric if m.label == "Texts kept"] == ["20"]
    assert fresh.selectbox(key="w_data_pick").value == chosen
    other = open_data_page()  # another tab without ?data= keeps its own choice: the sample
    assert any("bundled sample" in i.value for i in other.info)
    other.selectbox(key="w_data_pick").set_value(chosen).run()  # one click to choose it
    assert other.session_state["data_set"] == chosen
    assert [m.value for m in other.metric if m.label == "Texts kept"] == ["20"]


def test_rename_and_delete_from_the_data_page(app_store):
    at = open_data_page()
    at.file_uploader[0].set_value(("reviews.csv", csv_bytes(), "text/csv")).run()
    chosen = at.session_state["data_set"]
    RunStore(app_store).create_run({"arch": "bag"}, info={"dataset_id": chosen,
                                                          "dataset_name": "reviews.csv"},
                                   status="done")
    at.text_input(key=f"w_data_name_{chosen[:16]}").set_value("Movie reviews").run()
    button(at, "Rename").click().run()
    assert datasets.get(RunStore(app_store), chosen).name == "Movie reviews"
    button(at, "Delete this data set…").click().run()
    warning = " ".join(w.value for w in at.warning)
    assert "1 runs" in warning and "remain viewable" in warning
    button(at, "Yes, delete").click().run()
    assert not at.exception
    assert [r.name for r in datasets.list_datasets(RunStore(app_store))] == ["sample.csv"]
    assert any("bundled sample" in i.value for i in at.info)  # back on the sample
    assert len(RunStore(app_store).list_runs()) == 1  # its run is kept


def test_a_column_fix_replaces_an_unused_data_set(app_store):
    at = open_data_page()
    at.file_uploader[0].set_value(("mine.csv", csv_bytes(extra_column=True), "text/csv")).run()
    first = at.session_state["data_set"]
    [labels] = [s for s in at.selectbox if s.label == "Label column"]
    labels.set_value("topic").run()
    assert not at.exception and at.session_state["data_set"] != first
    names = sorted(r.label_column for r in datasets.list_datasets(RunStore(app_store)))
    assert names == ["label", "topic"]  # the sample's and the fixed one: nothing used the first


def test_a_column_fix_keeps_a_data_set_a_run_trained_on(app_store):
    at = open_data_page()
    at.file_uploader[0].set_value(("mine.csv", csv_bytes(extra_column=True), "text/csv")).run()
    first = at.session_state["data_set"]
    RunStore(app_store).create_run({"arch": "bag"}, info={"dataset_id": first}, status="done")
    [labels] = [s for s in at.selectbox if s.label == "Label column"]
    labels.set_value("topic").run()
    assert not at.exception and at.session_state["data_set"] != first
    names = sorted(r.label_column for r in datasets.list_datasets(RunStore(app_store)))
    assert names == ["label", "label", "topic"]  # the sample's, the used one and the fixed one


def test_an_unknown_data_set_in_the_address_is_a_warning(app_store):
    at = open_data_page(data="../../etc/passwd")
    assert any("could not be opened" in w.value for w in at.warning)
    assert any("bundled sample" in i.value for i in at.info)


# ------------------------------------------------------------------------ the Runs page
def stored_run(store, accuracies, losses, label="", **info) -> str:
    run_id = store.create_run({"arch": "bag", "init": "glove", "epochs": len(accuracies)},
                              label=label, info=info, status="running")
    for epoch, (acc, loss) in enumerate(zip(accuracies, losses), start=1):
        store.add_epoch(run_id, epoch, {"train_loss": loss, "val_loss": loss,
                                        "val_accuracy": acc})
    store.set_status(run_id, "done")
    return run_id


def test_runs_page_shows_data_set_size_best_and_a_name_to_edit(app_store):
    import time

    store = RunStore(app_store)
    exp = store.create_job("experiment", {}, info={"dataset_id": "e" * 64,
                                                    "dataset_name": "speeches"}, status="done")
    member = stored_run(store, (0.6,), (0.5,), label=f"experiment:{exp}", n_train=100)
    time.sleep(0.01)
    own = stored_run(store, (0.81, 0.78), (0.3, 0.4), dataset_id="d" * 64,
                     dataset_name="reviews", n_train=48)
    at = open_data_page()
    at.switch_page("screens/runs.py").run()
    assert not at.exception
    [table] = [d.value for d in at.dataframe]  # the experiment's runs are hidden
    row = table.set_index("run").loc[own]
    assert (row["data set"], row["init"], row["arch"], row["training size"]) == (
        "reviews", "glove", "bag", "48")
    assert row["best val accuracy"] == pytest.approx(0.81)  # best epoch (lowest loss), not last
    assert row["name"] == "reviews · glove · bag · 48 texts"
    assert member not in set(table["run"])

    at.toggle(key="w_run_exps_runs").set_value(True).run()
    assert any(f"Experiment {exp} · speeches · 1 runs" in e.label for e in at.expander)
    assert member in set(at.dataframe[1].value["run"])

    at.selectbox(key=[s.key for s in at.selectbox if s.label == "Run"][0]).set_value(own).run()
    at.text_input(key=f"w_run_name_{own}").set_value("GloVe baseline").run()
    button(at, "Save name").click().run()
    assert store.get_run(own).info["name"] == "GloVe baseline"
    assert at.dataframe[0].value.set_index("run").loc[own, "name"] == "GloVe baseline"


def test_a_hostile_data_set_name_is_shown_as_text(app_store):
    from dashboard.text import escape_markdown

    hostile = "![x](http://example.invalid/x.png)"
    store = RunStore(app_store)
    at = open_data_page()
    at.file_uploader[0].set_value(("reviews.csv", csv_bytes(), "text/csv")).run()
    chosen = at.session_state["data_set"]
    datasets.rename(store, chosen, hostile)
    exp = store.create_job("experiment", {}, info={"dataset_id": chosen, "dataset_name": hostile},
                           status="done")
    stored_run(store, (0.6,), (0.5,), label=f"experiment:{exp}")
    at.run()
    captions = [c.value for c in at.sidebar.caption]
    assert any(escape_markdown(hostile) in c for c in captions) and not any(hostile in c for c in captions)
    at.switch_page("screens/runs.py").run()
    at.toggle(key="w_run_exps_runs").set_value(True).run()
    [group] = [e.label for e in at.expander if e.label.startswith("Experiment")]
    assert escape_markdown(hostile) in group and hostile not in group


def test_two_data_sets_never_share_a_name(tmp_path):
    store, data = RunStore(tmp_path), csv_bytes(extra_column=True)
    _, first = registered(store, data, text_column="text", label_column="label")
    _, second = registered(store, data, text_column="text", label_column="topic")
    assert (first.name, second.name) == ("reviews.csv", "reviews.csv (2)")
    with pytest.raises(StoreError, match="already called 'Reviews.csv'"):
        datasets.rename(store, second.dataset_id, "Reviews.csv")
    assert datasets.rename(store, first.dataset_id, "reviews.csv").name == "reviews.csv"
