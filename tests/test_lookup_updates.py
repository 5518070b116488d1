"""core.runs.updates.updates_per_frame: the Evolution view's "updates received" colouring,
per evolution frame (snapshot) and shown row, from the run's recorded counts (contract A)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from core.store.runstore import RunStore
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    from core.data.loading import load_dataset

    store = RunStore(tmp_path_factory.mktemp("updates") / "runs")
    sample = load_dataset(REPO / "sample_data" / "sample.csv")  # validation-only words
    run_id = train_run(sample, TrainConfig(epochs=3, batch_size=32), store).run_id
    return store, run_id


def test_frames_are_the_cumulative_counts_of_the_shown_rows(trained):
    from core.runs.updates import updates_per_frame

    store, run_id = trained
    snaps = [s["idx"] for s in store.get_run(run_id).snapshots]
    vocab = store.load_vocab(run_id)
    rows = np.array([5, 2, 3, len(vocab) - 1, 0])
    got = updates_per_frame(store, run_id, rows)
    assert got.shape == (len(snaps), len(rows)) and got.dtype == np.int64
    intervals = np.stack([store.load_array(run_id, f"snapshots/updates_{i:04d}") for i in snaps])
    assert np.array_equal(got, np.cumsum(intervals, axis=0)[:, rows])
    assert (got[0] == 0).all() and (got[:, -1] == 0).all()  # start, and the padding row
    assert (np.diff(got, axis=0) >= 0).all() and got[-1, :3].sum() > 0
    assert updates_per_frame(store, run_id, rows, n_frames=2).shape == (2, len(rows))


def test_never_seen_rows_stay_at_zero(trained):
    from core.runs.updates import updates_per_frame

    store, run_id = trained
    vocab = store.load_vocab(run_id)
    unseen = np.flatnonzero((vocab["train_count"] == 0).to_numpy()
                            & ~vocab["token"].isin(["<pad>", "<unk>"]).to_numpy())
    assert len(unseen) > 0
    assert (updates_per_frame(store, run_id, unseen) == 0).all()
    seen = np.flatnonzero((vocab["train_count"] > 0).to_numpy())
    assert len(seen) > 0
    assert (updates_per_frame(store, run_id, seen)[-1] > 0).all()


def test_a_run_without_counts_gives_none(store):
    """As an external run that does not know its batches: snapshots, no counts."""
    from core.runs.updates import updates_per_frame

    rid = store.create_run({"arch": "bag"})
    for idx in range(3):
        store.add_snapshot(rid, idx, idx, 10 * idx, np.ones((6, 4), dtype=np.float32))
    assert updates_per_frame(store, rid, np.array([2, 3])) is None
