"""The pretrained side of the finished-run views fitted before the run ends (issue 21 item 3):
the engine's fit, aligned at the end, is the view computed at once."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.analysis import projection
from core.jobs.engine import Engine
from core.runs import views as runviews
from core.training.config import TrainConfig
from core.training.trainer import train_run


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from core.store.runstore import RunStore
    from tests.conftest import labelled

    store = RunStore(tmp_path_factory.mktemp("fits") / "runs")
    config = TrainConfig(epochs=2, batch_size=8, doc_sample=12)
    return store, train_run(labelled(3), config, store).run_id


real_config = runviews.projection_config


def test_views_align_the_fit_made_before_the_end_and_equal_the_view_made_at_once(
        finished, monkeypatch):
    store, run_id = finished
    monkeypatch.setattr(runviews, "projection_config",  # a PCA engine fitting as UMAP's would
                        lambda method, n_words=runviews.EVOLUTION_WORDS: real_config("pca", n_words))
    Engine(store, warm=False)._fit_static(run_id)  # while the run trains
    monkeypatch.undo()
    fits = []
    original = projection.project_static
    monkeypatch.setattr(projection, "project_static",
                        lambda *a, **kw: fits.append(1) or original(*a, **kw))
    view = runviews.pretrained_view(store, run_id, "pca", cached_only=False)
    docs = runviews.document_views(store, run_id, "pca", cached_only=False)
    assert fits == []  # both pretrained layouts were the engine's fits, only aligned now
    config = runviews.projection_config("pca")
    vectors, where = runviews.pretrained_vectors(store, run_id, view.words, "glove")
    evo = runviews.evolution(store, run_id, "pca")
    at_once = original(vectors, config).coords[0]
    expected = projection.align_layout(evo.coords[-1], at_once, (where, np.arange(len(where))))
    np.testing.assert_array_equal(view.coords[0][where], expected)
    mean = runviews.mean_glove(store, run_id, docs.docs)
    expected_docs = projection.align_layout(docs.learned[-1], original(mean, config).coords[0])
    np.testing.assert_array_equal(docs.pretrained, expected_docs)


def test_the_engine_fits_once_per_run_as_soon_as_its_frames_are_umap(finished, monkeypatch):
    """While frames are PCA (UMAP not warm) nothing is fitted; the first UMAP pass fits, once."""
    from core.runs import evolution as chain

    store, run_id = finished
    engine = Engine(store, warm=False)
    fitted, method = [], {"name": "pca"}
    monkeypatch.setattr(chain, "extend", lambda *a, **kw: method["name"])
    monkeypatch.setattr(engine, "_fit_static", fitted.append)
    run = dataclasses.replace(store.get_run(run_id), status="running")
    engine._live(run)
    assert fitted == []
    method["name"] = "umap"
    engine.live_done.clear()
    engine._live(run)
    engine.live_done.clear()
    engine._live(run)
    assert fitted == [run_id]
