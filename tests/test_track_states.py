"""Tracked runs never lie about their state: every metric may be missing, a refused first
snapshot leaves no run, the store default is one, and the tracker takes what users pass."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from core.errors import CancelledError, DataError
from core.track import open_run
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
