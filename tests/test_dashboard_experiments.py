"""Experiments and General vs task semantics views through AppTest: a tiny stored experiment
(TWENTY_LINES x3, two inits, two sizes, two seeds) gives the charts known data."""
from __future__ import annotations

import json
import os

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

APP = str(REPO / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def tiny_dataset(tiny_dataset_x3):
    return tiny_dataset_x3


@pytest.fixture(scope="module")
def experiment_store(tmp_path_factory, tiny_dataset):
    """One finished experiment, made once for the module and copied per test."""
    from core.training.config import ExperimentConfig
    from core.training.experiments import run_learning_curve
    from core.store.runstore import RunStore

    root = tmp_path_factory.mktemp("exp") / "runs"
    config = ExperimentConfig.from_dict(dict(
        sizes=(10, "all"), inits=("random", "glove"), seeds=2, epochs=2, doc_sample=10))
    frame = run_learning_curve(tiny_dataset, config, RunStore(root))
    return root, frame.attrs["experiment_id"]


@pytest.fixture
def with_experiment(app_store, experiment_store):
    import shutil

    shutil.copytree(experiment_store[0], app_store)
    return experiment_store[1]


def open_page(view: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(f"screens/{view}").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def specs(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def test_an_uploaded_vector_file_is_offered_as_a_start(app_store):
    at = open_page("experiments.py")
    assert len(at.multiselect(key="w_exp_inits").options) == 5  # the built-in starts
    text = "2 3\ngood 0.1 0.2 0.3\nbad -0.1 0.0 0.5\n".encode()
    at.file_uploader(key="w_exp_vectors_upload").set_value(("mine.vec", text, "text/plain")).run()
    assert not at.exception and not at.error
    options = at.multiselect(key="w_exp_inits").options
    assert len(options) == 6 and options[-1] == "your file mine.vec"


def test_a_pickle_vector_file_is_refused_on_the_experiments_page(app_store):
    import pickle

    at = open_page("experiments.py")
    at.file_uploader(key="w_exp_vectors_upload").set_value(
        ("vectors.pkl", pickle.dumps({"good": [0.1]}), "application/octet-stream")).run()
    assert not at.exception
    assert any("pickle" in e.value.lower() for e in at.error)
    assert len(at.multiselect(key="w_exp_inits").options) == 5


def test_sizes_offered_are_below_the_training_pool(app_store):
    at = open_page("experiments.py")
    sizes = at.multiselect(key="w_exp_sizes")
    assert sizes.options == ["50", "100", "200", "all (400)"]  # sample: 500 rows, 100 validate
    assert sizes.value == [100, "all"]
    assert at.multiselect(key="w_exp_inits").value == ["random", "glove"]
    assert any("**12 runs**" in c for c in texts(at.caption))
    assert any("No experiment yet" in c for c in texts(at.caption))


def test_estimate_follows_the_settings(app_store):
    at = open_page("experiments.py")
    at.multiselect(key="w_exp_inits").set_value(["random", "glove", "word2vec"])
    at.slider(key="w_exp_seeds").set_value(5).run()
    assert any("**30 runs** (3 starts × 2 sizes × 5 seeds)" in c for c in texts(at.caption))
    at.multiselect(key="w_exp_inits").set_value([]).run()
    assert at.button[0].label == "Launch" and at.button[0].disabled


def test_stored_experiment_draws_curve_unseen_chart_and_csv(with_experiment):
    at = open_page("experiments.py")
    assert not at.error
    assert at.selectbox(key=f"w_exp_pick_{with_experiment}").value == with_experiment
    curve, unseen = specs(at)
    assert [t["name"] for t in curve["data"]] == ["random", "glove", "majority class (50.0%)"]
    assert [t["x"] for t in curve["data"][:2]] == [[10.0, 48.0], [10.0, 48.0]]  # all = 48 rows
    assert curve["layout"]["shapes"][0]["y0"] == 0.5  # the dashed floor: always one class
    assert curve["layout"]["xaxis"]["type"] == "log"
    assert all(t["error_y"]["visible"] is not None for t in curve["data"][:2])
    # two seeds: the bars are the 95 % interval of the mean (t with 1 degree of freedom)
    from core.training.experiments import load_experiment
    from core.store.runstore import RunStore

    summary = load_experiment(RunStore(os.environ["EXPLORER_STORE"]), with_experiment).summary()
    first = summary.iloc[0]
    up = curve["data"][0]["error_y"]["array"][0]
    assert up == pytest.approx(first["acc_high"] - first["acc_mean"])
    assert up == pytest.approx(12.706 * first["acc_std"] / 2 ** 0.5, rel=1e-3)
    assert [t["name"] for t in unseen["data"]] == ["random", "glove"]
    assert unseen["data"][0]["x"] == ["10", "all (48)"]
    assert all(label.startswith("n=") for label in unseen["data"][0]["text"])
    assert [b.label for b in at.get("download_button")] == ["Download results (CSV)",
                                                            "Download paired gains (CSV)"]
    assert len(at.dataframe[0].value) == 8  # 2 inits x 2 sizes x 2 seeds
    assert any("95 % interval of the mean" in c for c in texts(at.caption))
    assert any("Paired by seed: With 10 training texts, glove vs random: " in c
               for c in texts(at.caption))
    assert [p.value for p in at.progress] == [100]


def craft_results(store_root, experiment_id: str, gains: dict) -> None:
    """Overwrite a stored experiment's accuracies: random 0.6 + 0.02 * seed, glove that plus
    ``gains[size][seed]`` (for both the whole validation set and the unseen-key-word part)."""
    import pandas as pd

    from core.store.runstore import RunStore
    from core.training.experiments import experiment_dir

    path = experiment_dir(RunStore(store_root), experiment_id) / "results.parquet"
    frame = pd.read_parquet(path)
    for i, row in frame.iterrows():
        acc = 0.6 + 0.02 * row["seed"] + (gains[row["size"]][row["seed"]]
                                          if row["init"] == "glove" else 0.0)
        frame.loc[i, ["best_epoch_accuracy", "unseen_accuracy"]] = acc
    frame.to_parquet(path, index=False)


def test_the_page_judges_the_paired_gain_not_interval_overlap(with_experiment):
    """Per init, the two seeds' accuracies (0.60, 0.62 vs 0.63, 0.652) give 95 % intervals
    that overlap widely (t with 1 df); paired, the gain +3.0/+3.2 points excludes zero. At
    'all' the differences +5 and -4 points hold zero: may be chance."""
    craft_results(os.environ["EXPLORER_STORE"], with_experiment,
                  {"10": {0: 0.030, 1: 0.032}, "all": {0: 0.05, 1: -0.04}})
    at = open_page("experiments.py")
    caption = next(c for c in texts(at.caption) if "Paired by seed" in c
                   and "points to a class" not in c)
    assert ("With 10 training texts, glove vs random: +3.1 points, 95 % interval +1.8 to "
            "+4.4, 2 seeds: a real gain.") in caption
    assert ("With 48 training texts, glove vs random: +0.5 points, 95 % interval -56.7 to "
            "+57.7, 2 seeds: with these seeds it may be chance.") in caption
    assert "overlap" not in caption


def test_launch_submits_an_experiment_job(app_store, monkeypatch):
    from core.jobs import queue as jobs
    submitted = []

    def fake_submit(store, dataset, config, dataset_name=None):
        submitted.append(config)
        names.append(dataset_name)
        return "20990101-000000-abcdef"

    names = []

    monkeypatch.setattr(jobs, "submit_experiment", fake_submit)
    at = open_page("experiments.py")
    at.multiselect(key="w_exp_sizes").set_value([50, 100])
    at.slider(key="w_exp_seeds").set_value(1)
    at.number_input(key="w_exp_epochs").set_value(2)
    at.button[0].click().run()
    assert not at.exception and not at.error, texts(at.error)
    (config,) = submitted
    assert config.sizes == (50, 100) and config.inits == ("random", "glove")
    assert config.seeds == 1 and config.train.epochs == 2
    assert at.session_state["experiment_open"] == "20990101-000000-abcdef"
    assert names == ["sample.csv"]  # the experiment records the chosen data set's name


def test_live_experiment_shows_progress_and_cancel(app_store, tiny_dataset, monkeypatch):
    from core.jobs import process
    from core.jobs import queue as jobs
    from core.store.runstore import RunStore
    from core.training.config import ExperimentConfig

    class Idle:  # no worker: the experiment stays queued, its pid is this test's process
        pid = __import__("os").getpid()

        def __init__(self, *a, **k):
            pass

        def wait(self):
            return 0

    monkeypatch.setattr(process.subprocess, "Popen", Idle)
    store = RunStore(app_store)
    exp_id = jobs.submit_experiment(store, tiny_dataset, ExperimentConfig.from_dict(dict(
        sizes=(10,), inits=("random",), seeds=1, epochs=2)))
    at = open_page("experiments.py")
    assert any("queued" in s for s in texts(at.subheader))
    assert "Waiting for a free slot" in at.progress[0].text
    cancel = [b for b in at.button if b.label == "Cancel experiment"]
    cancel[0].click().run()
    assert store.cancel_requested(exp_id)


def test_semantics_without_comparison_says_it_is_being_computed(with_experiment):
    at = open_page("semantics.py")
    assert any("being computed by the background engine" in i for i in texts(at.info))
    pairs = specs(at)[0]  # the word-pair probe is cheap: drawn on page load
    names = [t["name"] for t in pairs["data"]]
    # suggested: benchmark pairs this run saw, not the sample's alps/himalayas (issue 21)
    assert names[1] == f"{names[0]} in GloVe" and "alps" not in names[0]
    assert pairs["data"][0]["x"] == ["start", "epoch 1", "epoch 2"]


def test_semantics_chart_from_the_cached_comparison(with_experiment, app_store):
    from core.runs import views as runviews
    from core.store.runstore import RunStore

    store = RunStore(app_store)
    for run in store.list_runs():
        runviews.comparison(store, run.run_id, cached_only=False)
    at = open_page("semantics.py")
    assert not at.error, texts(at.error)
    semantics, pairs = specs(at)
    names = [t["name"] for t in semantics["data"]]
    assert names[-1] == "validation accuracy (the task)"
    assert any(n.startswith("CKA with GloVe (over ") and n.endswith(" words)") for n in names)
    assert any(n.startswith("Jaccard@k with GloVe (over ") for n in names)
    assert semantics["data"][-1]["x"] == ["start", "epoch 1", "epoch 2"]
    assert any("Validation accuracy" in c and "CKA with GloVe" in c for c in texts(at.caption))
    # the tiny vocabulary has a handful of benchmark pairs: said, not drawn as a line
    few = [t for t in semantics["data"] if "too few pairs" in t["name"]]
    assert {t["name"].split(":")[0] for t in few} == {"WordSim353 ρ", "SimLex999 ρ"}
    assert all(t["y"] == [None] for t in few)
    assert not any(t["name"].startswith(("WordSim353 ρ of GloVe", "SimLex999 ρ of GloVe"))
                   for t in semantics["data"])


def test_word_pairs_input_is_parsed_and_bad_input_is_an_error(with_experiment):
    at = open_page("semantics.py")
    at.text_input(key="w_sem_pairs").set_value("good/bad, lake/zzzunknown").run()
    names = [t["name"] for t in specs(at)[-1]["data"]]
    assert names[0] == "good / bad" and "lake / zzzunknown" in names
    assert any("zzzunknown" in c for c in texts(at.caption))
    at.text_input(key="w_sem_pairs").set_value("good-bad").run()
    assert not at.exception
    assert any("word/word" in e for e in texts(at.error))


def test_a_comparison_not_computed_yet_is_not_remembered(with_experiment, app_store):
    """The pages' once-per-server read of a comparison keeps a found one, never a "not yet":
    the comparison may be written later without the run's state changing."""
    from core.runs import views as runviews
    from core.store.runstore import RunStore
    from dashboard import run_reads

    run_reads._comparison.clear()  # other tests' stores had runs of the same ids
    store = RunStore(app_store)
    run_id = store.list_runs()[0].run_id
    assert run_reads.comparison(run_id) is None
    runviews.comparison(store, run_id, cached_only=False)
    assert run_reads.comparison(run_id) is not None
