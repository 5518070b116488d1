"""Tracked runs never lie about their state: every metric may be missing, a refused first
snapshot leaves no run, the store default is one, and the tracker takes what users pass."""
from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pytest
import torch

from core.errors import DataError, StoreError
from core.store.runstore import RunStore
from core.track import EmbeddingTracker, open_run
from tests.conftest import REPO, TEN_WORDS

WORDS = ["<pad>", "<unk>"] + TEN_WORDS


def _table(rows: int = len(WORDS), dim: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)


def _every_kind_of_run(store) -> dict[str, str]:
    """No validation, no counts, no classes, failed at start, cancelled, class names only."""
    ids = {}
    run = open_run(store, WORDS, name="no validation")
    run.add_snapshot(_table(), 0, 0)
    run.add_snapshot(_table(seed=1), 1, 5, metrics={"loss": 0.7, "accuracy": 0.6})
    run.finish()
    ids["no validation"] = run.run_id
    run = open_run(store, WORDS, name="failed at start")
    run.fail("boom")
    ids["failed at start"] = run.run_id
    run = open_run(store, WORDS, name="cancelled")
    run.add_snapshot(_table(), 0, 0)
    run.cancel()
    ids["cancelled"] = run.run_id
    run = open_run(store, WORDS, name="validated", counts=np.arange(len(WORDS)))
    run.add_snapshot(_table(), 0, 0)
    run.add_snapshot(_table(seed=2), 1, 5, metrics={"val_accuracy": 0.8, "val_loss": 0.5})
    run.finish()
    ids["validated"] = run.run_id
    return ids


def test_cli_runs_lists_every_kind_of_tracked_run(store):
    ids = _every_kind_of_run(store)
    res = subprocess.run([sys.executable, "-m", "core", "runs", "--store", str(store.root)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = {r["name"]: r for r in map(json.loads, res.stdout.strip().splitlines())}
    assert set(rows) == set(ids)
    assert rows["no validation"]["val_accuracy"] is None and rows["no validation"]["epochs"] == 1
    assert rows["validated"]["val_accuracy"] == pytest.approx(0.8)
    assert rows["failed at start"]["status"] == "failed"
    assert rows["cancelled"]["status"] == "cancelled"


# -- a refused first snapshot leaves no run (point 2) -------------------------------------------
@pytest.mark.parametrize("rows, poison, message", [
    (len(WORDS) + 5, False, "vocabulary size 12"), (len(WORDS), True, "NaN")])
def test_refused_starting_table_writes_nothing(store, rows, poison, message):
    emb = torch.nn.Embedding(rows, 4)
    if poison:
        with torch.no_grad():
            emb.weight[3, 1] = float("nan")
    with pytest.raises(DataError, match=message):
        with EmbeddingTracker(emb, WORDS, store=store):
            pass
    assert store.list_runs() == []
    with pytest.raises(DataError, match=message):
        open_run(store, WORDS, initial=emb.weight.detach().numpy(), layer="emb")
    assert store.list_runs() == []


# -- one store default, logged once (point 3) ---------------------------------------------------
def test_tracker_and_open_run_honour_explorer_store(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EXPLORER_STORE", str(tmp_path / "elsewhere"))
    caplog.set_level(logging.INFO, logger="core.track.run")
    with EmbeddingTracker(torch.nn.Embedding(len(WORDS), 4), WORDS) as tracker:
        tracker.epoch_end({"val_accuracy": 0.5})
    assert RunStore(tmp_path / "elsewhere").get_run(tracker.run_id).status == "done"
    assert not (tmp_path / "runs").exists()
    said = [r.getMessage() for r in caplog.records if tracker.run_id in r.getMessage()]
    assert len(said) == 1 and str((tmp_path / "elsewhere").resolve()) in said[0]
    monkeypatch.delenv("EXPLORER_STORE")
    run = open_run(vocabulary=WORDS)  # no env: ./runs, as the CLI
    run.fail("x")
    assert RunStore(tmp_path / "runs").get_run(run.run_id).status == "failed"


# -- what users pass (point 6) -------------------------------------------------------------------
def test_tracker_config_log_and_finish_without_with(store):
    tracker = EmbeddingTracker(torch.nn.Embedding(len(WORDS), 4), WORDS, store=store,
                               config={"lr": 0.01, "batch_size": 32}).start()
    for step in range(3):
        tracker.step()
        tracker.log({"loss": 1.0 / (step + 1), "note": "text is dropped"})
    tracker.epoch_end({"train_loss": 0.3})
    tracker.finish()
    run = store.get_run(tracker.run_id)
    assert run.status == "done" and run.config["lr"] == 0.01 and run.config["batch_size"] == 32
    steps = store.load_frame(tracker.run_id, "step_metrics")
    assert steps["step"].tolist() == [1, 2, 3] and list(steps.columns) == ["step", "loss"]
    other = EmbeddingTracker(torch.nn.Embedding(len(WORDS), 4), WORDS, store=store).start()
    other.fail(RuntimeError("the loss went to NaN\nTraceback (most recent call last): ..."))
    assert store.get_run(other.run_id).error == "RuntimeError: the loss went to NaN"
    with pytest.raises(ValueError, match=r"\['dim'\] are the tracker's own"):
        EmbeddingTracker(torch.nn.Embedding(len(WORDS), 4), WORDS, store=store,
                         config={"dim": 3}).start()


def test_class_names_alone_name_the_documents(store):
    run = open_run(store, WORDS, classes=["neg", "pos"], documents=["good", "bad", "fine"],
                   labels=[1, 0, 1])
    run.fail("x")
    assert store.load_docs(run.run_id)["label"].tolist() == ["pos", "neg", "pos"]
    assert store.get_run(run.run_id).info["class_names"] == ["neg", "pos"]


# -- the wrong kind of module (point 7) ----------------------------------------------------------
@pytest.mark.parametrize("module, message", [
    (torch.nn.LayerNorm(4), "got LayerNorm with a weight of shape \\(4,\\)"),
    (torch.nn.Linear(4, len(WORDS)), "got Linear with a weight of shape \\(12, 4\\)")])
def test_tracker_refuses_what_is_not_an_embedding(store, module, message):
    with pytest.raises(DataError, match=message):
        EmbeddingTracker(module, WORDS, store=store)
    assert store.list_runs() == []


def test_tracker_takes_a_named_two_d_parameter(store):
    table = torch.nn.Parameter(torch.randn(len(WORDS), 3))
    with EmbeddingTracker(table, WORDS, store=store) as tracker:
        tracker.epoch_end()
    assert store.get_run(tracker.run_id).n_snapshots == 2


# -- names (point 9) -----------------------------------------------------------------------------
@pytest.mark.parametrize("name, message", [
    ("x" * 3089, "at most 120 characters"), ("evil\u202ename", "U\\+202E"),
    ("two\nlines", "U\\+000A")])
def test_open_run_checks_its_name(store, name, message):
    with pytest.raises(StoreError, match=message):
        open_run(store, WORDS, name=name)
    assert store.list_runs() == []
