"""A run's progress from its first second (issue 21 item 4): every preparation step reports
itself, the batch within an epoch is recorded, the ETA covers the whole run, and a run that
stopped early ends at 100 %."""
from __future__ import annotations

import pytest

from core.jobs import queue as jobs
from core.training.config import TrainConfig
from core.training.progress import STAGES, TRAINING, StoreProgress, describe
from core.training.trainer import TrainEvent, train_run
from tests.conftest import medium_dataset, wait_for_run
from tests.test_early_stopping import OVERFITS, noisy_dataset


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_train_run_reports_each_preparation_step_in_order(store):
    seen = []
    train_run(medium_dataset(), TrainConfig(epochs=1, batch_size=32, doc_sample=10), store,
              callback=lambda e: seen.append(e.data["stage"]) if e.kind == "stage" else None)
    firsts = list(dict.fromkeys(seen))
    # a fresh store: the texts are tokenised now (then GloVe is looked up for their words)
    assert firsts == ["tokenising", "pretrained", "vocabulary", "snapshot", TRAINING]


def test_store_progress_times_each_stage_and_counts_batches(store):
    run_id = store.create_run({}, "fp", status="running")
    clock = _Clock()
    progress = StoreProgress(store, run_id, clock=clock)
    for name, seconds in (("worker", 2.0), ("reading", 1.0), ("tokenising", 3.0)):
        progress.stage(name)
        clock.now += seconds
    progress.stage("tokenising", 0.5)  # a fraction within the step
    live = store.get_run(run_id).info["live"]
    assert live["stage"] == "tokenising" and live["stages"]["tokenising"]["fraction"] == 0.5
    steps = describe(live, 0, 10, "running", now=clock.now).steps
    assert [s.state for s in steps] == ["done", "done", "running", "waiting", "waiting",
                                        "waiting"]
    assert [s.seconds for s in steps[:3]] == [2.0, 1.0, 3.0]
    progress.stage(TRAINING)
    clock.now += 10.0
    progress(TrainEvent("batch", run_id, 1, 5, {"batch": 5, "n_batches": 20, "loss": 0.5}))
    shown = describe(store.get_run(run_id).info["live"], 0, 2, "running", now=clock.now)
    assert not shown.preparing
    assert shown.fraction == pytest.approx(5 / 20 / 2)
    # 10 s for an eighth of the run: 70 s to go
    assert shown.eta_seconds == pytest.approx(70.0)
    assert "batch 5/20" in shown.text
    # the skipped steps (vocabulary etc. never entered) are not left "waiting" once training
    assert all(s.state in ("done", "skipped") for s in shown.steps)


def test_batch_progress_is_written_a_few_times_a_second_at_most(store):
    run_id = store.create_run({}, "fp", status="running")
    clock, writes = _Clock(), []
    real = store.update_info
    store.update_info = lambda rid, **v: (writes.append(v), real(rid, **v))
    progress = StoreProgress(store, run_id, clock=clock)
    progress.stage(TRAINING)
    for b in range(1, 101):  # 100 batches within 0.1 s, then the epoch's last
        clock.now += 0.001
        progress(TrainEvent("batch", run_id, 1, b, {"batch": b, "n_batches": 200, "loss": 1}))
    assert len(writes) == 1
    progress(TrainEvent("batch", run_id, 1, 200, {"batch": 200, "n_batches": 200, "loss": 1}))
    assert len(writes) == 2 and store.get_run(run_id).info["live"]["batch"] == 200


def test_a_run_stopped_early_ends_at_full_progress(store):
    summary = train_run(noisy_dataset(), TrainConfig(**OVERFITS, early_stopping=True, patience=2),
                        store)
    run = store.get_run(summary.run_id)
    assert summary.stopped_early and len(run.epochs) < OVERFITS["epochs"]
    shown = describe(run.info.get("live"), len(run.epochs), OVERFITS["epochs"], run.status,
                     stopped_early=summary.stopped_early)
    assert shown.fraction == 1.0 and "stopped early" in shown.text


@pytest.mark.slow
def test_a_worker_run_records_every_step_from_its_start(store):
    run_id = jobs.submit_run(store, medium_dataset(),
                             TrainConfig(epochs=2, batch_size=32, doc_sample=10))
    run = wait_for_run(store, run_id, lambda r: r.status in ("done", "failed"))
    assert run.status == "done", run.error
    live = run.info["live"]
    assert live["stage"] == TRAINING
    # the worker's start and the reading are timed; the tokens were cached when the run was
    # submitted (its size estimate), so tokenising is skipped rather than left waiting
    for name in ("worker", "reading", "vocabulary", "pretrained", "snapshot"):
        assert live["stages"][name]["seconds"] >= 0, name
    assert live["epoch"] == 2 and live["batch"] == live["n_batches"]
    assert [s.state for s in describe(live, 2, 2, "running").steps] == [
        "done", "done", "skipped" if "tokenising" not in live["stages"] else "done",
        "done", "done", "done"]
    assert len(STAGES) == 6


def test_train_page_shows_each_preparation_step_while_a_run_prepares(app_store, monkeypatch):
    from core.store.runstore import RunStore
    from tests.conftest import open_app

    store = RunStore(app_store)
    run_id = store.create_run(TrainConfig(epochs=10).to_dict(), "fp", status="running")
    clock = _Clock()
    progress = StoreProgress(store, run_id, clock=clock)
    for name in ("worker", "reading", "tokenising"):
        progress.stage(name)
        clock.now += 1.5
    progress.stage("tokenising", 0.4)
    with store.writing(run_id):  # this process is the run's live writer
        at = open_app(app_store, monkeypatch, run_id)
        at.switch_page("screens/train.py").run()
    assert not at.exception, at.exception
    steps = at.code[0].value.splitlines()
    assert steps[0].startswith("✓ Starting the training process 1.5 s")
    assert steps[1].startswith("✓ Reading the data 1.5 s")
    assert steps[2].startswith("… Tokenising the texts 40%")
    assert [line[0] for line in steps[3:]] == [" ", " ", " "]
    assert any("Preparing: tokenising the texts" in i.value for i in at.info)
    assert [p.text for p in at.progress] == ["Epoch 0/10"]
