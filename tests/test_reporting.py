"""The held-apart reporting part: experiments choose each run's epoch on one part of their fixed
validation set and score it on the other; plain runs say they were scored on the texts that
chose the epoch; a run's headline names its chosen epoch."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import DataError
from core.store.runstore import RunStore
from core.training.config import ExperimentConfig
from core.training.experiments import run_learning_curve, unseen_word_accuracy
from core.store.headline import SCORED_ON_REPORT, SCORED_ON_SAME, headline
from core.training.reporting import split_reporting, validation_scores


def test_split_is_stratified_disjoint_and_fixed_by_its_seed():
    labels = np.array([0] * 60 + [1] * 40)
    val = np.arange(100, dtype=np.int64)[::2]  # 30 of class 0, 20 of class 1
    stop, report = split_reporting(labels, val, 0.5, seed=3)
    assert np.intersect1d(stop, report).size == 0
    assert sorted(np.concatenate([stop, report])) == list(val)
    assert np.bincount(labels[report]).tolist() == [15, 10]
    again = split_reporting(labels, val, 0.5, seed=3)
    assert [list(a) for a in again] == [list(stop), list(report)]
    assert list(split_reporting(labels, val, 0.5, seed=4)[1]) != list(report)
    stop, report = split_reporting(labels, val, 0.9, seed=3)
    assert len(report) == 45 and len(stop) == 5


def test_tiny_sets_keep_a_row_in_each_part_and_a_single_row_is_refused():
    labels = np.array([0, 1])
    stop, report = split_reporting(labels, np.array([0, 1]), 0.1, seed=0)
    assert len(stop) == 1 and len(report) == 1
    with pytest.raises(DataError, match="too few"):
        split_reporting(labels, np.array([0]), 0.5, seed=0)


def test_validation_scores_count_only_the_stopping_rows():
    losses = np.array([1.0, 3.0, 10.0, 20.0])
    hit = np.array([True, False, True, True])
    report = np.array([False, False, True, True])
    assert validation_scores(losses, hit, report) == (2.0, 0.5, {"report_accuracy": 1.0})
    assert validation_scores(losses, hit, None) == (8.5, 0.75, {})


@pytest.fixture(scope="module")
def held_apart(tmp_path_factory, tiny_dataset_x3):
    store = RunStore(tmp_path_factory.mktemp("store"))
    config = ExperimentConfig.from_dict(dict(
        sizes=[10], inits=["random"], seeds=2, report_fraction=0.5,
        train=dict(epochs=4, batch_size=4, doc_sample=4, early_stopping=False)))
    return store, run_learning_curve(tiny_dataset_x3, config, store)


def test_experiment_chooses_on_the_stopping_part_and_scores_on_the_reporting_part(held_apart):
    store, results = held_apart
    parts = []
    for row in results.to_dict("records"):
        run = store.get_run(row["run_id"])
        preds = store.load_frame(row["run_id"], "val_predictions")
        report = preds["report"].to_numpy()
        parts.append(preds.loc[report, "row"].tolist())
        hit = (preds["pred"] == preds["label_id"]).to_numpy()
        assert run.info["n_report"] == report.sum() == row["n_report"] > 0
        assert run.info["n_stop"] == (~report).sum() > 0
        assert run.info["scored_on"] == SCORED_ON_REPORT
        # the stored predictions are the chosen epoch's: on the reporting rows they give the
        # headline accuracy, on the stopping rows the accuracy that chose the epoch
        assert row["best_epoch_accuracy"] == pytest.approx(hit[report].mean())
        assert row["stop_accuracy"] == pytest.approx(hit[~report].mean())
        best = min(run.epochs, key=lambda e: (e["val_loss"], e["epoch"]))
        assert row["best_epoch"] == best["epoch"]
        assert unseen_word_accuracy(store, row["run_id"])["n_val"] == report.sum()
        assert headline(run)["epoch"] == row["best_epoch"]
        assert headline(run)["accuracy"] == row["best_epoch_accuracy"]
    assert parts[0] == parts[1]  # one reporting part for every run of the experiment
    job = store.get_job(results.attrs["experiment_id"], "experiment")
    assert job.info["n_stop"] + job.info["n_report"] == job.info["n_val"]


class _Run:
    def __init__(self, epochs, best):
        self.epochs, self._best = epochs, best

    def best(self):
        return self._best


def test_headline_is_the_chosen_epoch_not_the_last():
    epochs = [{"epoch": 1, "val_accuracy": 0.70, "val_loss": 0.5},
              {"epoch": 2, "val_accuracy": 0.836, "val_loss": 0.6}]
    said = headline(_Run(epochs, {"epoch": 1, "val_accuracy": 0.70}))
    assert said == {"epoch": 1, "accuracy": 0.70, "chosen_on": "lowest validation loss",
                    "scored_on": SCORED_ON_SAME}
    logged_no_loss = headline(_Run([{"epoch": 3, "val_accuracy": 0.5}], None))
    assert (logged_no_loss["epoch"], logged_no_loss["chosen_on"]) == (3, "last epoch")
    assert headline(_Run([], None)) == {}


def test_the_experiment_caption_says_where_accuracies_were_measured(held_apart):
    from core.training.reporting import experiment_scoring

    _, results = held_apart
    n = int(results["n_report"].iloc[0])
    assert experiment_scoring(results).endswith(f"measured on the {n:,} validation texts held "
                                                f"apart from that choice")
    old = results.drop(columns="n_report")  # stored before the reporting part existed
    assert experiment_scoring(old).startswith("chosen and measured on the same")
