"""The engine keeps views computed off the page: live previews while training, stable
finished-run views after, and page reads that never compute UMAP."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.analysis.projection_config import ProjectionConfig
from core.runs import evolution as chain
from core.runs import views as runviews
from core.runs.projections import chain_frames
from core.jobs.engine import Engine, engine_running, run_engine
from core.training.config import TrainConfig
from core.training.trainer import train_run
from tests.conftest import make_keyed_vectors


@pytest.fixture
def tiny_ds(tiny_dataset_x3):
    return tiny_dataset_x3


def _run(store, ds, **kw):
    return train_run(ds, TrainConfig(epochs=3, batch_size=8, doc_sample=12, **kw), store).run_id


def test_pca_engine_serves_live_and_finished_views(store, tiny_ds):
    run_id = _run(store, tiny_ds)
    assert chain.latest_frame(store, run_id) is None
    engine = Engine(store, warm=False, method="pca")
    assert engine.tick() >= 1
    live = chain.latest_frame(store, run_id)
    assert live.snapshot == 3 and live.coords.shape == (len(live.words), 2)
    assert runviews.views_state(store, run_id) == "ready"
    evo = runviews.evolution(store, run_id, "pca")
    assert evo.coords.shape == (4, len(evo.words), 2)
    pre = runviews.pretrained_view(store, run_id, "pca")
    assert pre.coords.shape == (1, len(evo.words), 2)
    docs = runviews.document_views(store, run_id, "pca")
    assert docs.learned.shape == (4, 12, 2) and docs.pretrained.shape == (12, 2)
    assert runviews.comparison(store, run_id) is not None
    assert engine.tick() == 0  # nothing left to do


def test_page_reads_never_compute_umap(store, tiny_ds):
    run_id = _run(store, tiny_ds)
    assert runviews.evolution(store, run_id, "umap") is None
    assert runviews.pretrained_view(store, run_id, "umap") is None
    assert runviews.document_views(store, run_id, "umap") is None
    assert runviews.comparison(store, run_id) is None


def test_live_frames_of_unchanged_words_stay_put(store, tiny_ds, tmp_path):
    path = tmp_path / "vecs.txt"
    make_keyed_vectors().save_word2vec_format(str(path), binary=False)
    run_id = _run(store, tiny_ds, init=str(path), freeze=True)
    Engine(store, warm=False, method="pca").tick()
    live = chain.latest_frame(store, run_id)
    frames = chain_frames(store, run_id, live.rows,
                          ProjectionConfig(method="pca", n_words=runviews.EVOLUTION_WORDS),
                          cached_only=True)
    assert len(frames) == 4  # the live preview is the evolution chain, frame by frame
    assert all(np.array_equal(f, frames[0]) for f in frames[1:])


def test_one_engine_per_store(store):
    lock_holder = store.root / ".engine.lock"
    import fcntl

    with open(lock_holder, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        assert engine_running(store)
        assert run_engine(store, warm=False, should_stop=lambda: True) is False
    assert not engine_running(store)


@pytest.mark.slow
def test_umap_engine_end_to_end_frozen_run_is_stable(store, tiny_ds, tmp_path):
    """With UMAP: a frozen embedding gives the same picture in every frame."""
    path = tmp_path / "vecs.txt"
    make_keyed_vectors().save_word2vec_format(str(path), binary=False)
    run_id = _run(store, tiny_ds, init=str(path), freeze=True)
    engine = Engine(store, warm=True, method="umap")
    engine.warm.ready.wait(timeout=600)
    engine.tick()
    assert runviews.views_state(store, run_id) == "ready", store.get_run(run_id).info
    evo = runviews.evolution(store, run_id, "umap")
    assert evo.method.startswith("umap")
    extent = np.ptp(evo.coords[-1], axis=0).max()
    assert np.abs(evo.coords - evo.coords[-1]).max() <= 1e-6 * max(extent, 1.0)
    assert runviews.document_views(store, run_id, "umap") is not None


def test_engine_process_stops_with_its_server(store):
    """A server starts one engine per store; the engine ends when the server process ends, so
    no engine is left behind as an orphan."""
    import subprocess
    import sys
    import time

    from core.jobs.engine import ensure_engine

    fake_server = ("import os, sys, time; from core.jobs.engine import ensure_engine; "
                   "from core.store.runstore import RunStore; "
                   "ensure_engine(RunStore(sys.argv[1]), parent=os.getpid()); time.sleep(600)")
    server = subprocess.Popen([sys.executable, "-c", fake_server, str(store.root)],
                              cwd=str(Path(__file__).resolve().parents[1]))
    try:
        deadline = time.monotonic() + 60
        while not engine_running(store) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert engine_running(store)
        assert ensure_engine(store) is False  # one per store
    finally:
        server.kill()
        server.wait()
    deadline = time.monotonic() + 60
    while engine_running(store) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not engine_running(store)


def test_user_words_and_large_pca_views(store, tiny_ds):
    """Words the user asks for are projected too; PCA serves any number of words on request."""
    from core.errors import ExplorerError

    run_id = _run(store, tiny_ds)
    small = runviews.evolution(store, run_id, "pca", n_words=10)
    assert "himalayas" not in small.words[:10]
    asked = runviews.evolution(store, run_id, "pca", n_words=10, extra_words=("himalayas",))
    assert "himalayas" in asked.words and len(asked.words) == len(small.words) + 1
    everything = runviews.evolution(store, run_id, "pca", n_words=50_000)
    seen = (store.load_vocab(run_id)["train_count"] > 0).sum() - 0
    assert len(everything.words) >= seen - 2  # every seen word except <pad>/<unk>
    assert 0.0 <= everything.trust[-1] <= 1.0
    with pytest.raises(ExplorerError, match="Not in this run's vocabulary: zebra"):
        runviews.evolution(store, run_id, "pca", extra_words=("zebra",))
