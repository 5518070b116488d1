"""Tests of core.analysis.projection: stability properties, alignment, word selection, faithfulness, cache.

UMAP tests use 200 x 8 arrays and are marked ``slow``: the first one in a process pays numba's
compile cost (tens of seconds on a cold NUMBA_CACHE_DIR), the rest take about a second each.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import core.analysis.projection as P
from core.analysis import umap_runtime
from core.analysis.faithfulness import (faithfulness, trust_previous, trust_sample_size,
                                        trustworthiness_score)
from core.analysis.projection_config import ProjectionConfig
from core.common.files import DiskCache
from core.runs import projections

REPO = umap_runtime.DEFAULT_CACHE_DIR.parents[1]
FAST = ProjectionConfig(n_neighbors=10, n_epochs=50, live_epochs=20, trust_sample=100)
PCA = ProjectionConfig(method="pca", trust_sample=100)


@pytest.fixture(scope="session", autouse=True)
def numba_cache():
    """Compile into a persistent cache (NUMBA_CACHE_DIR if set, e.g. by the Makefile, else the
    repo-local .cache/numba) so later runs skip most of numba's work."""
    return umap_runtime.configure_numba_cache(os.environ.get("NUMBA_CACHE_DIR") or REPO / ".cache" / "numba")


def clustered(n: int = 200, dim: int = 8, seed: int = 0, labels: bool = False):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, dim)) * 3
    lab = rng.integers(0, 4, n)
    x = (centres[lab] + rng.normal(size=(n, dim))).astype(np.float32)
    return (x, lab) if labels else x


def max_shift(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b, axis=1).max())


# ----------------------------------------------------------------------- import / numba


def test_import_does_not_import_umap_and_cache_dir_is_set(tmp_path):
    code = (
        "import json, os, sys; import core.analysis.projection; "
        "import core.analysis.umap_runtime as p; "
        f"d = p.configure_numba_cache({str(tmp_path / 'nb')!r}); "
        "print(json.dumps([sorted(m for m in ('umap', 'numba', 'pynndescent') if m in sys.modules),"
        " os.environ['NUMBA_CACHE_DIR'], d.is_dir()]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True)
    loaded, env_dir, exists = json.loads(out.stdout)
    assert loaded == ["numba"]  # its decorators now cache by default; umap is not loaded
    assert env_dir == str(tmp_path / "nb") and exists


# ----------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "field, value",
    [
        ("method", "tsne"),
        ("n_neighbors", 1),
        ("n_neighbors", 201),
        ("min_dist", -0.1),
        ("min_dist", 1.5),
        ("metric", "hamming"),
        ("random_state", -1),
        ("n_words", 5),
        ("n_epochs", 5),
        ("live_epochs", 0),
        ("trust_sample", 10),
        ("trust_neighbors", 0),
    ],
    ids=["method", "n_neighbors-low", "n_neighbors-high", "min_dist-neg", "min_dist-high",
         "metric", "random_state", "n_words", "n_epochs", "live_epochs", "trust_sample",
         "trust_neighbors"],
)
def test_config_rejects_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        ProjectionConfig(**{field: value})


def test_config_defaults_are_valid_and_frozen():
    cfg = ProjectionConfig()
    assert cfg.metric == "cosine" and cfg.method == "umap"
    with pytest.raises(AttributeError):
        cfg.n_neighbors = 5  # type: ignore[misc]


# ----------------------------------------------------------------------- PCA


def test_pca_frozen_run_gives_identical_frames():
    x = clustered()
    proj = P.pca_frames([x, x.copy(), x.copy()], PCA)
    for c in proj.coords:
        assert c.shape == (200, 2) and c.dtype == np.float32
        assert np.array_equal(c, proj.coords[-1])


@pytest.mark.parametrize("fit_on", ["each", "final", "union"])
def test_pca_unmoved_rows_stay_put(fit_on):
    x = clustered()
    y = x.copy()
    y[:60] += np.random.default_rng(1).normal(size=(60, 8)).astype(np.float32) * 3
    proj = P.pca_frames([x, y], PCA, fit_on=fit_on)
    assert np.array_equal(proj.coords[0][60:], proj.coords[1][60:])
    assert max_shift(proj.coords[0][:60], proj.coords[1][:60]) > 0.01


def test_pca_projection_of_documents_and_static():
    docs = [clustered(50, 16, seed=s) for s in (0, 0)]
    assert len(P.project_documents(docs, PCA).coords) == 2
    assert P.project_static(docs[0], PCA).coords[0].shape == (50, 2)


# ----------------------------------------------------------------------- trustworthiness


def test_trustworthiness_high_for_pca_of_low_rank_data():
    rng = np.random.default_rng(0)
    low_rank = (rng.normal(size=(300, 2)) @ rng.normal(size=(2, 20))).astype(np.float32)
    cfg = ProjectionConfig(method="pca", metric="euclidean", trust_sample=300)
    score = P.pca_frames([low_rank], cfg).trust[0]
    assert 0.99 <= score <= 1.0


def test_trustworthiness_low_for_random_layout():
    rng = np.random.default_rng(0)
    x = clustered(300, 20)
    score = trustworthiness_score(x, rng.normal(size=(300, 2)), n_sample=200)
    assert 0.0 <= score < 0.7


# ----------------------------------------------------------------------- Procrustes


def test_procrustes_recovers_rotation_scale_shift():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(50, 2)).astype(np.float32)
    t = 0.7
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    moved = (ref @ rot * 2.5 + [4.0, -1.0]) @ np.diag([1, -1])  # with a reflection
    assert max_shift(P.align_layout(ref, moved), ref) < 1e-4


def test_procrustes_on_shared_rows_only():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(30, 2))
    other = np.vstack([rng.normal(size=(5, 2)), ref * 3.0 + 1.0])  # 5 extra rows first
    aligned = P.align_layout(ref, other, (np.arange(30), np.arange(5, 35)))
    assert aligned.shape == (35, 2)
    assert max_shift(aligned[5:], ref) < 1e-4


def test_pretrained_projection_matches_rotated_copy():
    x = clustered(120, 10)
    reference = P.project_static(x, PCA).coords[0]
    q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(10, 10)))
    pretrained = (x @ q * 3.0).astype(np.float32)  # same geometry, rotated and scaled
    aligned = P.project_pretrained(pretrained, reference, PCA).coords[0]
    assert max_shift(aligned, reference) < 1e-3 * P.layout_extent(reference)
    assert not aligned.flags.writeable


# ----------------------------------------------------------------------- select_words


def test_select_words_orders_top_extra_unseen_and_skips_specials():
    itos = ["<pad>", "<unk>", "a", "b", "c", "d", "e", "f"]
    counts = np.array([0, 9, 50, 40, 30, 5, 7, 3])
    train = np.array([0, 9, 50, 40, 30, 5, 0, 0])
    found = np.array([False, False, True, True, True, True, True, False])
    idx = P.select_words(counts, train, n_top=2, extra_words=["d", 2], include_unseen=True,
                         itos=itos, in_pretrained=found)
    # top-2 by training count, then the extras (2 is already in), then unseen-but-pretrained
    assert idx.tolist() == [2, 3, 5, 6]


def test_select_words_top_only_and_unknown_word():
    counts = train = np.array([0, 100, 3, 8, 8, 1])
    assert P.select_words(counts, train, n_top=3).tolist() == [3, 4, 2]
    with pytest.raises(KeyError, match="zebra"):
        P.select_words(counts, train, extra_words=["zebra"], itos=["p", "u", "a", "b", "c", "d"])


# ----------------------------------------------------------------------- cache


def test_cache_hit_does_not_recompute(tmp_path, monkeypatch):
    calls = []
    real = P.project_sequence

    def counting(frames, config):
        calls.append(1)
        return real(frames, PCA)

    monkeypatch.setattr(P, "project_sequence", counting)
    cache = DiskCache(tmp_path / "cache")
    frames = [clustered(), clustered(seed=1)]
    first = projections.cached_sequence(cache, frames, FAST)
    second = projections.cached_sequence(cache, frames, FAST)
    assert len(calls) == 1
    for a, b in zip(first.coords, second.coords):
        assert np.array_equal(a, b) and not b.flags.writeable
    assert second.trust == first.trust
    projections.cached_sequence(cache, frames, ProjectionConfig(n_neighbors=11))  # settings are in the key
    projections.cached_sequence(cache, frames, FAST, key="run42-n2")
    projections.cached_sequence(cache, frames, FAST, key="run42-n2")
    assert len(calls) == 3
    assert not list((tmp_path / "cache").glob(".*tmp"))


@pytest.mark.parametrize("key", ["", "../x", ".hidden", "a/b"], ids=["empty", "parent", "dot", "slash"])
def test_cache_rejects_unsafe_keys(tmp_path, key):
    with pytest.raises(ValueError, match="cache key"):
        DiskCache(tmp_path).get(key, lambda folder: folder)


# ----------------------------------------------------------------------- UMAP (numba)


@pytest.mark.slow
def test_umap_frozen_run_gives_identical_frames():
    x = clustered()
    proj = P.project_sequence([x, x.copy(), x.copy(), x.copy()], FAST)
    extent = P.layout_extent(proj.coords[-1])
    assert extent > 0
    for c in proj.coords:
        assert not c.flags.writeable
        assert max_shift(c, proj.coords[-1]) <= 1e-6 * extent
    assert all(0.0 <= t <= 1.0 for t in proj.trust) and proj.trust[-1] > 0.8


@pytest.mark.slow
def test_umap_unmoved_rows_stay_put_when_others_move():
    x = clustered()
    rng = np.random.default_rng(3)
    frames = [x.copy() for _ in range(3)]
    frames[0][:80] += rng.normal(size=(80, 8)).astype(np.float32) * 2  # rows 0..79 move
    frames[1][:40] += rng.normal(size=(40, 8)).astype(np.float32)
    frames[2][100:120] += 0.5  # these differ only in the final frame
    proj = P.project_sequence(frames, FAST)
    c0, c1, c2 = proj.coords
    assert np.array_equal(c0[120:], c1[120:]) and np.array_equal(c1[120:], c2[120:])
    assert np.array_equal(c0[80:100], c1[80:100])
    assert max_shift(c0[:80], c2[:80]) > 0.01 * P.layout_extent(c2)


@pytest.mark.slow
def test_incremental_pins_unchanged_rows_and_skips_frozen():
    x, lab = clustered(labels=True)
    prev = P.project_static(x, FAST).coords[0]
    assert np.array_equal(P.project_incremental(prev, x, FAST, prev_snapshot=x), prev)
    y = x.copy()
    y[:30] += 1.0
    live = P.project_incremental(prev, y, FAST, prev_snapshot=x)
    assert live.shape == (200, 2) and np.array_equal(live[30:], prev[30:])
    # without the previous snapshot nothing is pinned: points shuffle within their cluster
    # (measured: median ~7 % of the extent) but the clusters stay where they were
    loose = P.project_incremental(prev, x, FAST)
    for k in range(4):
        shift = np.linalg.norm(loose[lab == k].mean(axis=0) - prev[lab == k].mean(axis=0))
        assert shift < 0.1 * P.layout_extent(prev)


def separating_run(scale: float = 0.7, n: int = 300, dim: int = 10, frames: int = 4):
    """Snapshots of random vectors in which two classes pull apart along one axis only after
    step 0 (the shape of a random-init run: no structure at the start)."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, n)
    start = rng.normal(size=(n, dim)).astype(np.float32)
    axis = np.zeros(dim, dtype=np.float32)
    axis[0] = 3 * scale
    side = np.where(labels == 1, 1.0, -1.0)[:, None].astype(np.float32)
    return [start + (t / (frames - 1)) * side * axis for t in range(frames)], labels


def test_pca_each_frame_is_a_pca_of_its_own_snapshot():
    """The honest instant fallback: frame 0 is as faithful to snapshot 0 as a PCA fitted on
    snapshot 0 alone (a PCA fitted on the last frame borrows its axes)."""
    frames, _ = separating_run()
    each = P.pca_frames(frames, PCA)
    alone = P.pca_frames(frames[:1], PCA)
    final_axes = P.pca_frames(frames, PCA, fit_on="final")
    assert each.trust[0] == pytest.approx(alone.trust[0], abs=1e-9)
    assert each.trust[0] > final_axes.trust[0]
    assert 0 not in each.borrowed(0.0) and len(each.trust_final) == len(frames)


def test_place_rows_puts_a_word_among_its_neighbors_and_keeps_it_still():
    x, lab = clustered(labels=True)
    coords = P.pca_frames([x], PCA).coords[0]
    new = x[lab == 2][:3] + 0.01  # three near-copies of cluster-2 words
    moved = new.copy()
    moved[0] += 5.0
    placed = P.place_rows([x, x, x], [coords] * 3, [new, new, moved])
    centre = coords[lab == 2].mean(axis=0)
    assert np.all(np.linalg.norm(placed[0] - centre, axis=1) < 0.5 * P.layout_extent(coords))
    assert np.array_equal(placed[1], placed[0])  # unchanged vectors keep their place
    assert np.array_equal(placed[2][1:], placed[1][1:])
    assert not np.array_equal(placed[2][0], placed[1][0])


@pytest.mark.slow
def test_chained_frames_are_faithful_to_their_own_snapshot():
    """Every frame is fitted on its own snapshot: none is closer to the final vectors than
    to its own, frame 0 is a structureless cloud and the last frame separates the classes.
    Fitting the final snapshot and placing the others in its layout (the former method) fails
    this.

    The former method is built here from a fit of the final frame and ``place_rows`` (each
    earlier row at the mean position of its nearest final rows: what umap's ``transform``
    starts from). The ``fit_transform`` strategy itself compiles pynndescent's search, which
    numba cannot cache: 160 s of a test run for the same contrast (bench_evolution measures
    that strategy)."""
    from sklearn.metrics import silhouette_score

    frames, labels = separating_run()
    cfg = ProjectionConfig(n_epochs=100, live_epochs=30)
    chained = P.project_sequence(frames, cfg)
    # late frames converge on the last one, so own and final trust tie there: 0.01 is the
    # sampling noise of trustworthiness on 300 points
    assert chained.borrowed(0.01) == [] and chained.trust[0] > chained.trust_final[0]
    assert silhouette_score(chained.coords[0], labels) < 0.1
    assert silhouette_score(chained.coords[-1], labels) > 0.4
    final = P.first_layout(frames[-1], cfg)
    coords = P.place_rows([frames[-1]] * 3, [final] * 3, frames[:-1]) + [final]
    own, to_final = P.faithfulness(frames, coords, cfg)
    borrowed = P.Projection(tuple(coords), own, 0.0, "umap:final", to_final)
    assert borrowed.borrowed(0.01) != [] and borrowed.trust[0] < chained.trust[0]


@pytest.mark.slow
def test_warm_up_reports_timings():
    report = umap_runtime.warm_up()
    assert report.seconds_import >= 0 and report.seconds_fit > 0
    assert "umap" in sys.modules


def test_trust_against_the_previous_frame_catches_a_lagging_layout():
    """Frame 1's layout is frame 0's (it lags a whole snapshot): against the previous frame's
    vectors it is exactly as faithful as frame 0 was against its own (sklearn's number, all
    60 rows: below the sample cap), more than against its own, unrelated vectors."""
    from sklearn.manifold import trustworthiness

    rng = np.random.default_rng(0)
    x0, x1 = rng.normal(size=(60, 8)), rng.normal(size=(60, 8))
    lagging = x0[:, :2].copy()
    cfg = ProjectionConfig(method="pca")
    previous = trust_previous([x0, x1], [x0[:, :2], lagging], cfg)
    own = faithfulness([x0, x1], [x0[:, :2], lagging], cfg)[0]
    assert np.isnan(previous[0])
    assert previous[1] == pytest.approx(trustworthiness(x0, lagging, n_neighbors=10,
                                                        metric=cfg.metric))
    assert previous[1] > own[1] + 0.1
    assert trust_sample_size(60, cfg) == 60 and trust_sample_size(5000, cfg) == 1000
