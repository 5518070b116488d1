"""The one evolution chain and the service that serves its frames so far: the product's chain
(cached frame by frame in the store) is the pure chain, frame t depends on snapshots 0..t
only, and the Evolution page's reader follows a run from its first frame to the scored end."""
from __future__ import annotations

import shutil

import numpy as np

from core.analysis import projection
from core.analysis.projection_config import ProjectionConfig
from core.jobs.engine import Engine
from core.runs import evolution as chain
from core.runs import views as runviews
from core.runs.projections import chain_frames, evolution_rows
from core.training.config import TrainConfig
from core.training.trainer import train_run

PCA = ProjectionConfig(method="pca", n_words=runviews.EVOLUTION_WORDS)


def _run(store, ds) -> str:
    return train_run(ds, TrainConfig(epochs=3, batch_size=8, doc_sample=12), store).run_id


def _snapshots(store, run_id, rows) -> list[np.ndarray]:
    return [np.asarray(store.load_snapshot(run_id, s["idx"]), dtype=np.float32)[rows]
            for s in store.get_run(run_id).snapshots]


def test_pure_chain_frame_t_depends_only_on_snapshots_up_to_t():
    rng = np.random.default_rng(0)
    frames = [rng.normal(size=(30, 6)).astype(np.float32) for _ in range(4)]
    full = projection.chained_coords(frames, PCA)
    changed = frames[:2] + [f + rng.normal(size=f.shape).astype(np.float32) for f in frames[2:]]
    other = projection.chained_coords(changed, PCA)
    for t in range(2):  # later snapshots never reach back into earlier frames
        np.testing.assert_array_equal(full[t], other[t])
    assert not np.allclose(full[3], other[3])


def test_store_chain_is_the_pure_chain_and_resumes_where_its_cache_ends(store, tiny_dataset_x3):
    run_id = _run(store, tiny_dataset_x3)
    rows, _ = evolution_rows(store, run_id, PCA.n_words)
    expected = projection.chained_coords(_snapshots(store, run_id, rows), PCA)
    head = chain_frames(store, run_id, rows, PCA, upto=1)  # a training run's first frames
    assert len(head) == 2 and len(chain_frames(store, run_id, rows, PCA, cached_only=True)) == 2
    resumed = chain_frames(store, run_id, rows, PCA)
    shutil.rmtree(store.cache_dir(run_id) / "chain")
    fresh = chain_frames(store, run_id, rows, PCA)
    assert len(resumed) == len(expected) == 4
    for r, f, e in zip(resumed, fresh, expected):
        np.testing.assert_allclose(r, e, atol=1e-5)
        np.testing.assert_allclose(f, e, atol=1e-5)


def test_frames_so_far_follow_a_run_then_give_the_scored_sequence(store, tiny_dataset_x3):
    run_id = _run(store, tiny_dataset_x3)
    store.set_status(run_id, "running")  # as while training: more frames are coming
    assert chain.frames_so_far(store, run_id).frames is None
    assert chain.latest_frame(store, run_id) is None
    chain.extend(store, run_id, store.get_run(run_id).snapshots[1]["idx"], use_umap=False)
    store.update_info(run_id, live_method="pca")
    got = chain.frames_so_far(store, run_id)
    assert got.frames.coords.shape[0] == 2 and not got.complete and "training" in got.coming
    assert got.frames.trust == ()  # not scored yet
    assert chain.latest_frame(store, run_id).snapshot == store.get_run(run_id).snapshots[1]["idx"]
    store.set_status(run_id, "done")
    pending = chain.frames_so_far(store, run_id)  # finished, the engine has not scored it
    assert pending.frames.coords.shape[0] == 2 and "finished" in pending.coming
    Engine(store, warm=False, method="pca").tick()
    done = chain.frames_so_far(store, run_id)
    assert done.complete and done.coming == "" and done.frames.coords.shape[0] == 4
    assert len(done.frames.trust) == 4
    np.testing.assert_allclose(done.frames.coords[1], got.frames.coords[1], atol=1e-5)


def test_evolution_page_follows_a_training_run_frame_by_frame(tmp_path, monkeypatch):
    """A run still training: the page shows the frames the engine has drawn so far, says
    more are coming, and polls; once the run's frames are complete it stops polling."""
    from core.store.runstore import RunStore
    from tests.conftest import labelled, open_app
    from tests.test_dashboard_run_views import evolution as chart, open_page

    root = tmp_path / "runs"
    store = RunStore(root)
    run_id = _run(store, labelled(3))
    store.set_status(run_id, "running")
    for snap in store.get_run(run_id).snapshots[:2]:
        chain.extend(store, run_id, snap["idx"], use_umap=False)
    store.update_info(run_id, live_method="pca")
    at = open_page(open_app(root, monkeypatch, run_id), "evolution")
    assert len(chart(at)["figure"]["frames"]) == 2
    assert any("training" in c.value for c in at.caption)
    store.set_status(run_id, "done")
    Engine(store, warm=False, method="pca").tick()
    at.run()
    assert len(chart(at)["figure"]["frames"]) == 4
    assert not any("updates by itself" in c.value for c in at.caption)


def test_pages_read_a_runs_comparison_from_disk_once(tmp_path, monkeypatch):
    """Evolution, Learned vs pretrained, Documents and General vs task semantics all show the
    run's comparison: it is read from disk once per server and run state, not per page load."""
    from core.runs import comparison
    from core.store.runstore import RunStore
    from tests.conftest import labelled, open_app
    from tests.test_dashboard_run_views import open_page

    root = tmp_path / "runs"
    store = RunStore(root)
    run_id = _run(store, labelled(3))
    Engine(store, warm=False, method="pca").tick()
    reads = []
    real = comparison._read_cache
    monkeypatch.setattr(comparison, "_read_cache", lambda folder: reads.append(1) or real(folder))
    at = open_app(root, monkeypatch, run_id)
    for name in ("evolution", "compare", "documents", "semantics", "evolution"):
        open_page(at, name)
    assert len(reads) == 1


def test_all_words_are_served_from_the_engines_chain_not_pca(store, tiny_dataset_x3,
                                                             monkeypatch):
    """A vocabulary larger than the default picture (here 10 words): "all words" is a PCA
    preview, labelled so, until the engine has laid out the all-words chain; then it is that
    chain (frame t from snapshot t), with every word, never PCA again."""
    run_id = _run(store, tiny_dataset_x3)
    engine = Engine(store, warm=False, method="pca", n_words=10)
    engine.tick()  # the default picture and the finished run's views first
    assert chain.has_more_words(store, run_id, 10)
    preview = chain.frames_so_far(store, run_id, all_words=True, n_words=10)
    assert preview.preview and "laying out all" in preview.coming and not preview.complete
    rows, _ = evolution_rows(store, run_id, chain.ALL_WORDS, max_unseen=None)
    assert len(preview.frames.words) == len(rows) > 10
    while engine.tick():  # one all-words frame per quiet tick
        pass
    assert store.get_run(run_id).info["all_words_method"] == "pca"
    got = chain.frames_so_far(store, run_id, all_words=True, n_words=10)
    assert got.complete and not got.preview and got.coming == ""
    expected = projection.chained_coords(_snapshots(store, run_id, rows), PCA)
    assert got.frames.coords.shape == (4, len(rows), 2)
    for t, e in enumerate(expected):  # the chain, not a whole-sequence PCA
        np.testing.assert_allclose(got.frames.coords[t], e, atol=1e-5)
    # a page's PCA preview caches frames too: they never pass for the engine's chain
    store.update_info(run_id, all_words_method="umap")
    assert chain.cached_chain(store, run_id, 10, all_words=True) is None
    # the engine's UMAP chain (its layouts stood in by known ones: no numba compile here)
    known = [np.full((len(rows), 2), t, dtype=np.float32) for t in range(4)]
    def fake(frames, config, start):  # frame t is filled with t: it resumes from ``start``
        first = 0 if start is None else int(start[0][0, 0]) + 1
        return (known[first + i] for i, _ in enumerate(frames))

    monkeypatch.setattr(projection, "chain_layouts", fake)
    for snap in store.get_run(run_id).snapshots:
        chain.extend(store, run_id, snap["idx"], use_umap=True, n_words=10, all_words=True)
    umap = chain.frames_so_far(store, run_id, all_words=True, n_words=10)
    assert umap.frames.method == "umap:chained" and not umap.preview
    np.testing.assert_array_equal(umap.frames.coords, np.stack(known))
