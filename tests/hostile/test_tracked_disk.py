"""Tracked runs and the disk (issue 18, point 5): a run that would not fit is refused at its
first snapshot with the store's estimate, as the trainer's are."""
from __future__ import annotations

import shutil
from collections import namedtuple

import numpy as np
import pytest

from core.errors import StoreError
from core.track import open_run
from tests.conftest import TEN_WORDS

WORDS = ["<pad>", "<unk>"] + TEN_WORDS


def test_a_tracked_run_that_would_not_fit_is_refused_with_its_estimate(store, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**12, 10**12 - 2**20, 2**20))
    with pytest.raises(StoreError, match=r"this run needs about .* free"):
        with open_run(store, WORDS, epochs=50) as run:
            run.add_snapshot(np.zeros((len(WORDS), 1000), np.float32), epoch=0, step=0)
    [run] = store.list_runs()  # nothing of the table was written; the run says why
    assert run.n_snapshots == 0 and run.status == "failed" and "needs about" in run.error
