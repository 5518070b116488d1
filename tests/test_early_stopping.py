"""Early stopping on the validation loss and the best epoch (contract B)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.data.loading import Dataset
from core.store.records import best_epoch
from core.training.config import ExperimentConfig, TrainConfig
from core.training.trainer import train_run


def noisy_dataset(n: int = 120, seed: int = 0) -> Dataset:
    """Two classes told apart by one cue word present in 70 % of the texts, plus five random
    filler words: a bag at lr 0.1 fits the fillers after two epochs and its validation loss
    rises (measured: 0.33, 0.26, 0.40, 0.51, ...)."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(40)]
    texts, labels = [], []
    for i in range(n):
        cue = ["good" if i % 2 else "bad"] if rng.random() < 0.7 else []
        texts.append(" ".join(list(rng.choice(words, 5)) + cue))
        labels.append("pos" if i % 2 else "neg")
    return Dataset.from_lists(texts, labels)


OVERFITS = dict(epochs=20, batch_size=8, lr=0.1, doc_sample=4, seed=0)


@pytest.fixture(scope="module")
def noisy():
    return noisy_dataset()


def _lowest(run) -> int:
    losses = [e["val_loss"] for e in run.epochs]
    return int(np.argmin(losses)) + 1


def test_stops_after_patience_epochs_without_improvement(noisy, store):
    run = store.get_run(train_run(noisy, TrainConfig(**OVERFITS, patience=2), store).run_id)
    info = run.info
    assert info["stopped_early"] is True
    assert info["best_epoch"] == _lowest(run)
    assert info["stopped_at_epoch"] == info["best_epoch"] + 2 == len(run.epochs) < 20
    assert run.epochs[-1]["stopped_early"] is True
    best_row = run.epochs[info["best_epoch"] - 1]
    assert info["best_val_accuracy"] == best_row["val_accuracy"]
    assert run.status == "done" and run.snapshots[-1]["epoch"] == info["stopped_at_epoch"]


def test_without_early_stopping_every_epoch_runs_and_the_best_is_still_recorded(noisy, store):
    config = TrainConfig(**{**OVERFITS, "epochs": 8}, early_stopping=False)
    run = store.get_run(train_run(noisy, config, store).run_id)
    assert len(run.epochs) == 8 and run.info["stopped_early"] is False
    assert run.info["stopped_at_epoch"] == 8
    assert run.info["best_epoch"] == _lowest(run) < 8  # the loss rose after it
    best = run.best()
    assert best["snapshot"] == run.info["best_snapshot"]
    snap = run.snapshots[best["snapshot"]]
    assert snap["epoch"] == best["epoch"]


def test_min_delta_counts_small_improvements_as_none(noisy, store):
    config = TrainConfig(**OVERFITS, patience=1, min_delta=10.0)  # nothing improves by 10
    run = store.get_run(train_run(noisy, config, store).run_id)
    assert run.info["stopped_at_epoch"] == 2  # epoch 1 sets the reference, epoch 2 waits


def test_ends_mode_keeps_a_snapshot_of_the_best_epoch(noisy, store):
    """With snapshots="ends" the best epoch (not the last) still gets its snapshot, written
    between step 0 and the last, and it is the same table the "all" run has at that epoch."""
    ends = store.get_run(train_run(noisy, TrainConfig(**OVERFITS, patience=2,
                                                      snapshots="ends"), store).run_id)
    every = store.get_run(train_run(noisy, TrainConfig(**OVERFITS, patience=2), store).run_id)
    best = ends.best()
    assert best["epoch"] == every.best()["epoch"] < ends.info["stopped_at_epoch"]
    assert [s["epoch"] for s in ends.snapshots] == [0, best["epoch"], len(ends.epochs)]
    assert best["snapshot"] == 1 == ends.info["best_snapshot"]
    np.testing.assert_array_equal(
        store.load_snapshot(ends.run_id, 1),
        store.load_snapshot(every.run_id, every.best()["snapshot"]))


def test_ends_mode_without_a_better_later_epoch_writes_two_snapshots(tiny_dataset, store):
    """A small learning rate: the validation loss falls every epoch (checked, not assumed),
    so the best epoch is the last and "ends" writes exactly step 0 and it: no extra table."""
    config = TrainConfig(epochs=3, batch_size=4, doc_sample=4, lr=0.002, snapshots="ends",
                         early_stopping=False)
    run = store.get_run(train_run(tiny_dataset, config, store).run_id)
    losses = [e["val_loss"] for e in run.epochs]
    assert losses[0] > losses[1] > losses[2]  # the premise of this case
    assert run.best()["epoch"] == 3
    assert [s["epoch"] for s in run.snapshots] == [0, 3]
    assert run.best()["snapshot"] == 1


def test_predictions_are_the_best_epochs(noisy, store):
    run_id = train_run(noisy, TrainConfig(**OVERFITS, patience=3), store).run_id
    run = store.get_run(run_id)
    frame = store.load_frame(run_id, "val_predictions")
    accuracy = float((frame["pred"] == frame["label_id"]).mean())
    assert accuracy == pytest.approx(run.info["best_val_accuracy"])
    assert run.info["predictions_epoch"] == run.info["best_epoch"]
    assert run.epochs[-1]["val_accuracy"] != run.info["best_val_accuracy"]  # it differs here


def test_best_of_an_old_run_falls_back_to_the_lowest_validation_loss():
    epochs = [{"epoch": 1, "val_loss": 0.5, "val_accuracy": 0.7, "step": 3},
              {"epoch": 2, "val_loss": 0.3, "val_accuracy": 0.8, "step": 6},
              {"epoch": 3, "val_loss": 0.4, "val_accuracy": 0.9, "step": 9}]
    snaps = [{"idx": 0, "epoch": 0, "step": 0}, {"idx": 1, "epoch": 1, "step": 3},
             {"idx": 2, "epoch": 2, "step": 6}, {"idx": 3, "epoch": 3, "step": 9}]
    assert best_epoch(epochs, snaps) == {"epoch": 2, "val_accuracy": 0.8, "val_loss": 0.3,
                                         "snapshot": 2}
    assert best_epoch(epochs, snaps[:1] + snaps[3:])["snapshot"] is None  # "ends" of old
    assert best_epoch([], snaps) is None
    nan = [{"epoch": 1, "val_loss": float("nan"), "val_accuracy": 0.5, "step": 1}]
    assert best_epoch(nan, []) is None


def test_best_prefers_what_the_trainer_recorded():
    epochs = [{"epoch": 1, "val_loss": 0.5, "val_accuracy": 0.7, "step": 3},
              {"epoch": 2, "val_loss": 0.3, "val_accuracy": 0.8, "step": 6}]
    info = {"best_epoch": 1, "best_snapshot": 4}
    assert best_epoch(epochs, [], info) == {"epoch": 1, "val_accuracy": 0.7, "val_loss": 0.5,
                                            "snapshot": 4}


@pytest.mark.parametrize("field, value", [("patience", 0), ("min_delta", -0.1),
                                          ("early_stopping", "yes")])
def test_bad_early_stopping_settings(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_stored_configs_from_before_early_stopping_read_back_without_it():
    old = {k: v for k, v in TrainConfig().to_dict().items()
           if k not in ("early_stopping", "patience", "min_delta")}
    assert TrainConfig.from_dict(old).early_stopping is False
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()
    exp = ExperimentConfig().to_dict()
    exp["train"] = {k: v for k, v in exp["train"].items() if k != "early_stopping"}
    assert ExperimentConfig.from_dict(exp).train.early_stopping is False
    flat = {"sizes": [100], "inits": ["random"], "seeds": 1, "epochs": 4}
    assert ExperimentConfig.from_dict(flat).train == dataclasses.replace(
        ExperimentConfig().train, epochs=4, early_stopping=False)
