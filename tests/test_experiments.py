"""Few-shot learning-curve experiments, unseen-word accuracy, snapshot probes, the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.data.loading import Dataset, load_dataset
from core.errors import StoreError
from core.training.experiments import (
    Plan, key_words, list_experiments, load_experiment, run_learning_curve,
    summarize, unseen_flags, unseen_word_accuracy,
)
from core.runs.semantics import pair_similarity_over_epochs, semantics_over_epochs
from core.store.runstore import RunStore
from core.training.config import ExperimentConfig, TrainConfig
from core.training.split import split_indices
from core.training.trainer import train_run
from tests.conftest import make_keyed_vectors

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tiny_dataset) -> Dataset:
    return tiny_dataset


@pytest.fixture(scope="module")
def vec_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("vec") / "tiny.txt"
    make_keyed_vectors().save_word2vec_format(str(path), binary=False)
    return str(path)


def tiny_config(vec_file: str, **changes) -> ExperimentConfig:
    base = dict(sizes=(4, "all"), inits=("random", vec_file), seeds=2, epochs=2,
                batch_size=4, doc_sample=4)
    return ExperimentConfig.from_dict({**base, **changes})


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny, vec_file):
    """One tiny experiment shared by the machinery tests: (store, config, results, events)."""
    store = RunStore(tmp_path_factory.mktemp("store"))
    config = tiny_config(vec_file)
    events = []
    results = run_learning_curve(tiny, config, store, callback=events.append)
    return store, config, results, events


# ----------------------------------------------------------------------------- machinery

def test_one_row_per_init_size_seed(finished, vec_file):
    _, config, results, _ = finished
    assert len(results) == 2 * 2 * 2
    cells = set(zip(results["init"], results["size"], results["seed"]))
    assert cells == {(i, str(s), k) for i in ("random", vec_file) for s in (4, "all")
                     for k in (0, 1)}
    assert (results["status"] == "done").all()
    assert results.groupby("size")["n_train"].unique().map(list).to_dict() == {
        "4": [4], "all": [16]}
    assert results["best_epoch_accuracy"].between(0, 1).all()
    assert results["last_epoch_accuracy"].between(0, 1).all()


def test_runs_are_scored_at_their_best_epoch(finished):
    """The score is the accuracy at the lowest validation loss (RunInfo.best), not the last
    epoch's and not the highest accuracy; the last epoch's is kept beside it."""
    store, _, results, _ = finished
    for row in results.to_dict("records"):
        run = store.get_run(row["run_id"])
        losses = [e["val_loss"] for e in run.epochs]
        best = int(np.argmin(losses))
        assert row["best_epoch"] == best + 1 and row["epochs_run"] == len(run.epochs)
        assert row["best_epoch_accuracy"] == run.epochs[best]["val_accuracy"]
        assert row["last_epoch_accuracy"] == run.epochs[-1]["val_accuracy"]


def test_results_stored_before_best_epoch_scoring_are_rescored(finished):
    from core.training.experiments import _migrate_results

    store, _, results, _ = finished
    old = results.rename(columns={"last_epoch_accuracy": "val_accuracy"}).drop(
        columns=["best_epoch_accuracy", "epochs_run"])
    old["best_val_accuracy"] = old["val_accuracy"]
    old.loc[0, "run_id"] = "20200101-000000-abcdef"  # a run deleted since
    migrated = _migrate_results(store, old)
    assert list(migrated.columns) == list(results.columns)
    pd.testing.assert_frame_equal(migrated.iloc[1:].reset_index(drop=True),
                                  results.iloc[1:].reset_index(drop=True), check_dtype=False)
    assert migrated.loc[0, "best_epoch_accuracy"] == results.loc[0, "last_epoch_accuracy"]


def test_summary_one_row_per_init_and_size(finished):
    _, _, results, _ = finished
    summary = summarize(results)
    assert len(summary) == 2 * 2
    assert (summary["runs"] == 2).all()
    first = results[(results["init"] == "random") & (results["size"] == "4")]
    row = summary[(summary["init"] == "random") & (summary["size"] == "4")].iloc[0]
    assert row["acc_mean"] == pytest.approx(first["best_epoch_accuracy"].mean())
    assert row["acc_std"] == pytest.approx(first["best_epoch_accuracy"].std())
    assert row["last_mean"] == pytest.approx(first["last_epoch_accuracy"].mean())


def test_validation_set_identical_and_training_subsets_nested(finished, tiny):
    store, config, results, _ = finished
    _, expected_val = split_indices(tiny.labels, TrainConfig(seed=config.split_seed))
    for run_id in results["run_id"]:
        assert np.array_equal(store.load_array(run_id, "split_val"), expected_val)
    for seed in (0, 1):
        runs = results[(results["seed"] == seed) & (results["init"] == "random")]
        train = {s: set(store.load_array(r, "split_train").tolist())
                 for s, r in zip(runs["size"], runs["run_id"])}
        assert train["4"] < train["all"]
        assert not train["all"] & set(expected_val.tolist())
    seed0 = results[(results["size"] == "4") & (results["init"] == "random")]["run_id"]
    a, b = (set(store.load_array(r, "split_train").tolist()) for r in seed0)
    assert a != b  # the train seed moves the training rows, not the validation rows


def test_subsets_are_stratified_and_nested(tiny, vec_file):
    plan = Plan.build(tiny, tiny_config(vec_file))
    for seed in range(5):
        rows = {n: set(plan.train_rows(n, seed).tolist()) for n in (2, 5, 8, "all")}
        assert rows[2] < rows[5] < rows[8] < rows["all"]
        assert np.bincount(tiny.labels[sorted(rows[8])]).tolist() == [4, 4]
        assert np.bincount(tiny.labels[sorted(rows[2])]).tolist() == [1, 1]


def test_runs_are_labelled_and_progress_reported(finished):
    store, _, results, events = finished
    exp_id = results.attrs["experiment_id"]
    labelled = {r.run_id for r in store.list_runs() if r.label == f"experiment:{exp_id}"}
    assert labelled == set(results["run_id"])
    starts = [(e.index, e.total) for e in events if e.kind == "run_start"]
    assert starts == [(n, 8) for n in range(1, 9)]
    assert {e.kind for e in events} == {"start", "run_start", "train", "run_end", "end"}


def test_persisted_and_reloaded(finished, vec_file):
    store, config, results, _ = finished
    exp_id = results.attrs["experiment_id"]
    again = load_experiment(RunStore(store.root), exp_id)  # a fresh store object: a restart
    assert again.config == config and again.status == "done"
    assert (again.done, again.total) == (8, 8)
    pd.testing.assert_frame_equal(again.results, results, check_dtype=False)
    assert exp_id in [e.experiment_id for e in list_experiments(store)]


def test_resume_reuses_finished_runs(finished, tiny):
    store, config, results, _ = finished
    events = []
    frame = run_learning_curve(tiny, config, store, callback=events.append,
                               experiment_id=results.attrs["experiment_id"])
    assert not [e for e in events if e.kind == "run_start"]
    assert list(frame["run_id"]) == list(results["run_id"])


def test_resume_with_other_settings_refused(finished, tiny, vec_file):
    store, _, results, _ = finished
    with pytest.raises(StoreError, match="other settings"):
        run_learning_curve(tiny, tiny_config(vec_file, epochs=3), store,
                           experiment_id=results.attrs["experiment_id"])


@pytest.mark.parametrize("bad_id", ["../etc", "20260101-120000-a1b2c3/../x", "x"],
                         ids=["traversal", "nested-traversal", "not-an-id"])
def test_experiment_ids_validated(tmp_path, bad_id):
    with pytest.raises(StoreError, match="not a valid experiment id"):
        load_experiment(RunStore(tmp_path), bad_id)


def test_cancel_between_batches(tmp_path, tiny, vec_file):
    store = RunStore(tmp_path)
    polls = iter(range(1000))
    frame = run_learning_curve(tiny, tiny_config(vec_file, seeds=1), store,
                               should_stop=lambda: next(polls) >= 5)  # inside run 2
    exp = load_experiment(store, frame.attrs["experiment_id"])
    assert exp.status == "cancelled"
    assert 0 < exp.done < exp.total
    assert frame["status"].iloc[-1] == "cancelled"
    assert store.get_run(frame["run_id"].iloc[-1]).status == "cancelled"


def test_cancel_between_runs(tmp_path, tiny, vec_file):
    store = RunStore(tmp_path)
    state = {"stop": False}

    def callback(event):
        if event.kind == "run_end" and event.index == 2:
            state["stop"] = True

    frame = run_learning_curve(tiny, tiny_config(vec_file, seeds=1), store, callback=callback,
                               should_stop=lambda: state["stop"])
    assert list(frame["status"]) == ["done", "done"]
    assert load_experiment(store, frame.attrs["experiment_id"]).status == "cancelled"


def test_size_larger_than_training_pool_refused(tmp_path, tiny, vec_file):
    with pytest.raises(ValueError, match="more than the 16 rows"):
        run_learning_curve(tiny, tiny_config(vec_file, sizes=(40,)), RunStore(tmp_path))


@pytest.mark.parametrize("field,value,match", [
    ("sizes", (), "sizes must be a non-empty list"),
    ("sizes", (1,), "each size must be an integer"),
    ("sizes", ("most",), "each size must be an integer"),
    ("sizes", (5, 5), "must not repeat"),
    ("inits", ("nope",), "neither one of"),
    ("inits", ("random", "random"), "must not repeat"),
    ("seeds", 0, "seeds must be an integer"),
    ("split_seed", -1, "split_seed must be an integer"),
    ("arch", "rnn", "arch must be one of"),
    ("epochs", 0, "epochs must be an integer"),
    ("lr", 0.0, "lr must be in"),
    ("batch_size", 0, "batch_size must be an integer"),
    ("val_fraction", 0.9, "val_fraction must be in"),
    ("snapshots", "some", "snapshots must be one of"),
], ids=["sizes-empty", "sizes-too-small", "sizes-word", "sizes-repeated", "inits-unknown",
        "inits-repeated", "seeds-zero", "split-seed-negative", "arch-unknown", "epochs-zero",
        "lr-zero", "batch-size-zero", "val-fraction-high", "snapshots-unknown"])
def test_config_validation(field, value, match):
    with pytest.raises(ValueError, match=match):
        ExperimentConfig.from_dict({field: value})


def test_config_round_trip_and_init_mapping(vec_file):
    config = ExperimentConfig(sizes=[100, "all"], inits=["glove-frozen", "word2vec-cbow"])
    assert ExperimentConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    frozen = config.train_config("glove-frozen", 100, 2)
    assert (frozen.init, frozen.freeze, frozen.seed, frozen.train_size) == ("glove", True, 2, 100)
    assert config.train_config("word2vec-cbow", None, 0).w2v_algorithm == "cbow"
    assert config.train_config(vec_file, None, 0).init == vec_file


# ----------------------------------------------------------------------------- unseen words

def test_key_words_and_unseen_flags():
    tokens = [["good", "the"], ["great", "the"], ["bad", "the"], ["awful", "the", "zzz"],
              ["good", "bad"]]
    labels = np.array([0, 0, 1, 1, 1])
    keys = key_words(tokens, labels, 2)
    assert {"great", "awful", "zzz"} <= keys and "the" not in keys
    assert "good" not in keys  # one document per class: 50% < 0.9
    assert "bad" in keys  # both of its documents are class 1
    any_u, key_u = unseen_flags(tokens, np.array([0, 2]), np.array([1, 3, 4]), keys)
    assert any_u.tolist() == [True, True, False]
    assert key_u.tolist() == [True, True, False]


def test_unseen_word_accuracy_matches_stored_accuracy(finished):
    store, _, results, _ = finished
    for run_id in results["run_id"]:
        u = unseen_word_accuracy(store, run_id)
        run = store.get_run(run_id)
        # the stored predictions are the best epoch's (the one the run is scored at)
        assert u["accuracy"] == pytest.approx(run.best()["val_accuracy"])
        assert u["n_unseen"] + u["n_seen"] == u["n_val"] == 4
        assert u["n_unseen"] <= u["n_unseen_any"]
    by_size = results.groupby("size")["n_unseen_any"].mean()
    assert by_size["4"] >= by_size["all"]  # more training rows leave fewer words unseen


def test_unseen_word_accuracy_of_a_plain_run_uses_any_unseen_token(tmp_path, tiny):
    store = RunStore(tmp_path)
    summary = train_run(tiny, TrainConfig(epochs=1, batch_size=4), store)
    u = unseen_word_accuracy(store, summary.run_id)
    assert u["key_purity"] is None and u["n_unseen"] == u["n_unseen_any"]
    assert u["accuracy"] == pytest.approx(summary.val_accuracy[-1])


def test_unseen_word_accuracy_needs_predictions(tmp_path, tiny):
    store = RunStore(tmp_path)
    summary = train_run(tiny, TrainConfig(epochs=1, batch_size=4), store)
    (store.run_dir(summary.run_id) / "val_predictions.parquet").unlink()
    with pytest.raises(StoreError, match="no stored validation predictions"):
        unseen_word_accuracy(store, summary.run_id)


def test_glove_beats_random_on_unseen_word_documents(tmp_path):
    """The bundled sample is built so that GloVe init wins on validation texts whose key words
    never occur in training (sample_data/make_sample.py)."""
    dataset = load_dataset(REPO / "sample_data" / "sample.csv")
    config = ExperimentConfig.from_dict(dict(sizes=(50,), inits=("random", "glove"), seeds=3,
                                             snapshots="ends"))
    summary = summarize(run_learning_curve(dataset, config, RunStore(tmp_path)))
    by_init = summary.set_index("init")
    assert (by_init["n_unseen_mean"] >= 50).all()  # most of the 100 validation texts
    assert by_init.loc["glove", "unseen_mean"] > by_init.loc["random", "unseen_mean"] + 0.05


# ----------------------------------------------------------------------------- probes

@pytest.fixture(scope="module")
def plain_run(tmp_path_factory, tiny):
    store = RunStore(tmp_path_factory.mktemp("plain"))
    summary = train_run(tiny, TrainConfig(epochs=2, batch_size=4, init="glove"), store)
    return store, summary.run_id


def test_pair_similarity_over_epochs(plain_run):
    from core.vectors import pretrained
    store, run_id = plain_run
    pairs = [("alps", "himalayas"), ("good", "great"), ("good", "zzzunknown")]
    table = pair_similarity_over_epochs(store, run_id, pairs)
    assert len(table) == 3 * 3  # snapshots 0, 1, 2 x pairs
    missing = table[table["word_b"] == "zzzunknown"]
    assert (missing["missing"] == "zzzunknown").all() and missing["cosine"].isna().all()
    alps = table[table["word_a"] == "alps"].reset_index(drop=True)
    kv = pretrained.glove()
    expected = float(np.dot(kv["alps"], kv["himalayas"])
                     / np.linalg.norm(kv["alps"]) / np.linalg.norm(kv["himalayas"]))
    assert alps["cosine_glove"].tolist() == pytest.approx([expected] * 3)
    assert alps.loc[0, "cosine"] == pytest.approx(expected, abs=1e-5)  # step 0 = GloVe init
    assert alps["val_accuracy"].isna().tolist() == [True, False, False]


def test_pair_similarity_rejects_malformed_pairs(plain_run):
    store, run_id = plain_run
    with pytest.raises(ValueError, match="two non-empty words"):
        pair_similarity_over_epochs(store, run_id, [("alps",)])


def test_semantics_over_epochs_columns(plain_run):
    store, run_id = plain_run
    table = semantics_over_epochs(store, run_id, k=3)
    assert list(table.columns) == [
        "snapshot", "epoch", "step", "val_accuracy",
        "wordsim353_rho", "wordsim353_low", "wordsim353_high", "wordsim353_found",
        "wordsim353_total", "wordsim353_coverage", "wordsim353_rho_reference",
        "simlex999_rho", "simlex999_low", "simlex999_high", "simlex999_found",
        "simlex999_total", "simlex999_coverage",
        "simlex999_rho_reference", "jaccard_at_k", "cka", "k", "n_words", "against"]
    assert len(table) == 3
    assert table.loc[0, "jaccard_at_k"] == pytest.approx(1.0)  # step 0 is GloVe itself
    assert table.loc[0, "cka"] == pytest.approx(1.0)
    assert table["wordsim353_coverage"].between(0, 1).all()


# ----------------------------------------------------------------------------- CLI

def test_cli_experiment(tmp_path, tiny_csv, capsys):
    code = main(["experiment", str(tiny_csv), "--sizes", "8,all", "--inits", "random",
                 "--seeds", "2", "--epochs", "1", "--batch-size", "4",
                 "--store", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == "done" and result["runs"] == result["total"] == 4
    assert [(r["init"], r["size"]) for r in result["summary"]] == [("random", "8"),
                                                                   ("random", "all")]
    assert {"acc_mean", "acc_std", "unseen_mean", "unseen_std"} <= set(result["summary"][0])
    assert "[4/4] random size=all seed=1" in err


@pytest.mark.parametrize("args,match", [
    (["--sizes", "8,lots"], "sizes"),
    (["--inits", "random,nope"], "inits"),
    (["--sizes", "400"], "more than the 16 rows"),
    (["--seeds", "0"], "seeds"),
    (["--resume", "../x"], "experiment id"),
], ids=["size-word", "init-unknown", "size-too-large", "seeds-zero", "resume-traversal"])
def test_cli_experiment_bad_input(tmp_path, tiny_csv, capsys, args, match):
    code = main(["experiment", str(tiny_csv), "--store", str(tmp_path), *args])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and match in err
