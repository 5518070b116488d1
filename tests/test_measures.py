"""Unit tests for core/analysis/measures.py on tiny constructed spaces with known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import ortho_group

from core.analysis import measures
SIX = ["a", "b", "c", "d", "e", "f"]


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _angles(degrees: list[float]) -> np.ndarray:
    rad = np.deg2rad(degrees)
    return np.stack([np.cos(rad), np.sin(rad)], axis=1)


def _brute_force_neighbors(X: np.ndarray, k: int) -> np.ndarray:
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


# ----------------------------------------------------------------------------- neighbours

def test_blockwise_neighbors_equal_brute_force():
    X = _rng(1).normal(size=(300, 8))
    expected = _brute_force_neighbors(X, 10)
    for block_size in (7, 64, None):  # 7 does not divide 300: exercises the ragged last block
        np.testing.assert_array_equal(measures.nearest_neighbors(X, 10, block_size=block_size), expected)


def test_neighbors_exclude_self_even_for_duplicates():
    X = np.repeat(_rng(2).normal(size=(5, 3)), 2, axis=0)  # every row has an exact twin
    nn = measures.nearest_neighbors(X, 3)
    assert not (nn == np.arange(10)[:, None]).any()
    np.testing.assert_array_equal(nn[:, 0], np.arange(10) ^ 1)  # the twin is nearest


def test_neighbors_on_known_angles():
    X = _angles([0, 10, 30, 180, 185, 200])
    np.testing.assert_array_equal(
        measures.nearest_neighbors(X, 2), [[1, 2], [0, 2], [1, 0], [4, 5], [3, 5], [4, 3]]
    )


def test_identical_spaces_have_jaccard_one():
    X = _rng(3).normal(size=(50, 6))
    assert measures.mean_jaccard(X, X.copy(), k=5) == 1.0


def test_rotated_scaled_copy_has_jaccard_one_and_cka_one():
    X = _rng(4).normal(size=(80, 6))
    Y = 3.5 * X @ ortho_group.rvs(6, random_state=4)
    assert measures.mean_jaccard(X, Y, k=10) == 1.0
    assert measures.linear_cka(X, Y) == pytest.approx(1.0, abs=1e-9)


def test_independent_spaces_are_near_chance():
    n, k = 400, 10
    A, B = _rng(5).normal(size=(n, 8)), _rng(6).normal(size=(n, 12))
    assert measures.mean_jaccard(A, B, k=k) < 2 * k / (n - 1)
    assert measures.linear_cka(A, B) < 0.1


def test_jaccard_counts_overlap():
    nn_a = np.array([[1, 2, 3], [0, 2, 3]])
    nn_b = np.array([[3, 2, 1], [4, 5, 0]])
    np.testing.assert_allclose(measures.jaccard_at_k(nn_a, nn_b), [1.0, 1 / 5])


def test_gained_and_lost_by_hand():
    nn_before = np.array([[1, 2], [0, 2], [1, 0], [4, 5], [3, 5], [4, 3]])
    nn_after = np.array([[3, 1], [0, 2], [1, 0], [4, 5], [3, 5], [4, 0]])
    gained, lost = measures.neighbor_changes(nn_before, nn_after, SIX)
    assert gained == [["d"], [], [], [], [], ["a"]]
    assert lost == [["c"], [], [], [], [], ["d"]]


def test_gained_and_lost_from_vectors():
    before = _angles([0, 10, 30, 180, 185, 200])
    after = _angles([0, 10, 190, 180, 185, 30])  # c and f swap places
    gained, lost = measures.neighbor_changes(
        measures.nearest_neighbors(before, 2), measures.nearest_neighbors(after, 2), SIX
    )
    assert (gained[0], lost[0]) == (["f"], ["c"])  # a: [b, c] -> [b, f]
    assert (gained[2], lost[2]) == (["e", "d"], ["b", "a"])  # c: [b, a] -> [e, d]


# ----------------------------------------------------------------------------- alignment

def test_procrustes_recovers_known_rotation():
    X = _rng(7).normal(size=(40, 5))
    Q = ortho_group.rvs(5, random_state=7)
    aligned, R = measures.procrustes_align(X, X @ Q)
    np.testing.assert_allclose(R, Q, atol=1e-6)
    np.testing.assert_allclose(aligned, X @ Q, atol=1e-6)


def test_procrustes_2d_with_scale_and_shift():
    X = _rng(8).normal(size=(30, 2))
    theta = 0.7
    rot = np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    Y = 2.5 * X @ rot + np.array([4.0, -1.0])
    aligned, R = measures.procrustes_align(X, Y, scale=True, center=True)
    np.testing.assert_allclose(aligned, Y, atol=1e-9)
    np.testing.assert_allclose(R, rot, atol=1e-9)
    unscaled, _ = measures.procrustes_align(X, Y, center=True)
    assert np.abs(unscaled - Y).max() > 0.1  # scaling is what closed the gap


def test_drift_zero_for_rotated_copy():
    X = _rng(9).normal(size=(60, 6))
    Y = X @ ortho_group.rvs(6, random_state=9)
    np.testing.assert_allclose(measures.drift(Y, X), 0.0, atol=1e-9)


def test_drift_positive_only_for_moved_words():
    reference = _rng(10).normal(size=(200, 6))
    current = reference @ ortho_group.rvs(6, random_state=10)
    moved = [3, 17]
    current[moved] = -current[moved]  # pointing the other way: cosine distance ~2
    d = measures.drift(current, reference)
    assert d[moved].min() > 1.5
    # one whole-matrix rotation: unmoved words drift only by the compromise, a tiny amount
    assert np.delete(d, moved).max() < 0.01


def test_drift_of_zero_rows():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(measures.drift(X, X), [0.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(measures.cosine_distance_rows(X, X[[1, 1, 2]]), [1.0, 0.0, 0.0])


# ----------------------------------------------------------------------------- global

def test_cka_identical_is_one_and_different_dims_work():
    X = _rng(11).normal(size=(100, 4))
    assert measures.linear_cka(X, X) == pytest.approx(1.0)
    Y = np.hstack([X, np.zeros((100, 3))])  # padding dimensions changes nothing
    assert measures.linear_cka(X, Y) == pytest.approx(1.0)
    assert math.isnan(measures.linear_cka(X, np.ones((100, 2))))


def _write_pairs(path, rows):
    path.write_text("# comment line\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in rows) + "bad line\n")
    return path


def test_word_similarity_on_own_file_ranks_perfectly(tiny_kv, tmp_path):
    words, vecs = tiny_kv.index_to_key, tiny_kv.vectors
    pairs = [("good", "great"), ("good", "bad"), ("alps", "lake"), ("poor", "river"), ("fine", "awful")]
    gold = [10 * float(tiny_kv.similarity(a, b)) + 5 for a, b in pairs]  # monotone in cosine
    rows = [(a.upper(), b, g) for (a, b), g in zip(pairs, gold)] + [("good", "zebra", 3.0)]
    score = measures.word_similarity(words, vecs, _write_pairs(tmp_path / "p.tsv", rows), min_pairs=5)
    assert score.rho == pytest.approx(1.0)
    assert (score.n_found, score.n_total) == (5, 6)
    assert score.coverage == pytest.approx(5 / 6)


def test_word_similarity_agrees_with_gensim(tiny_kv, tmp_path):
    kv, words = tiny_kv, tiny_kv.index_to_key
    rng = _rng(16)
    rows = [(a, b, float(rng.uniform(0, 10))) for a in words[:5] for b in words[5:]]
    path = _write_pairs(tmp_path / "p.tsv", rows + [("good", "zebra", 1.0)])
    ours = measures.word_similarity(kv.index_to_key, kv.vectors, path)
    _, (rho, pvalue), oov_percent = kv.evaluate_word_pairs(str(path))
    assert ours.rho == pytest.approx(rho) and ours.pvalue == pytest.approx(pvalue)
    assert 100 * (1 - ours.coverage) == pytest.approx(oov_percent)


def test_word_similarity_bundled_benchmarks_on_tiny_kv(tiny_kv):
    words, vecs = tiny_kv.index_to_key, tiny_kv.vectors
    ws = measures.word_similarity(words, vecs, "wordsim353")
    assert (ws.n_found, ws.n_total) == (0, 353) and math.isnan(ws.rho) and math.isnan(ws.pvalue)
    sl = measures.word_similarity(words, vecs, "simlex999")  # bad/awful, bad/great, great/awful
    assert (sl.n_found, sl.n_total) == (3, 999) and math.isnan(sl.rho)
    sl3 = measures.word_similarity(words, vecs, "simlex999", min_pairs=3)
    assert sl3.n_found == 3 and sl3.rho > 0  # bad/awful is the most similar pair on both sides


def test_word_similarity_skips_zero_vectors(tiny_kv, tmp_path):
    vecs = tiny_kv.vectors.copy()
    vecs[tiny_kv.key_to_index["lake"]] = 0.0
    path = _write_pairs(tmp_path / "p.tsv", [("alps", "lake", 1.0), ("good", "great", 2.0)])
    score = measures.word_similarity(tiny_kv.index_to_key, vecs, path, min_pairs=1)
    assert (score.n_found, score.n_total) == (1, 2)
    assert math.isnan(score.rho)  # a single pair has no rank correlation


# ----------------------------------------------------------------------------- task signal

COUNTS = np.array([[0, 10], [10, 0], [5, 5], [4, 4]])  # class totals 19 and 19


def test_log_odds_sign_by_hand():
    z = measures.log_odds_z(COUNTS)
    assert z.shape == (4, 2)
    assert z[0, 1] > 2 and z[0, 0] < -2  # word 0 only used in class 1
    assert z[1, 0] > 2 and z[1, 1] < -2
    assert z[2] == pytest.approx([0.0, 0.0], abs=1e-12)  # balanced use, equal class totals
    np.testing.assert_allclose(z[:, 0], -z[:, 1])  # binary: one class vs the rest is symmetric


def test_log_odds_three_classes_and_prior_strength():
    counts = np.array([[9, 0, 0], [0, 9, 0], [0, 0, 9], [3, 3, 3]])
    z = measures.log_odds_z(counts)
    assert (np.argmax(z[:3], axis=1) == [0, 1, 2]).all()
    weak, strong = measures.log_odds_z(counts, prior_strength=1.0), measures.log_odds_z(counts, prior_strength=1e4)
    assert abs(strong[0, 0]) < abs(weak[0, 0])  # a stronger prior shrinks towards zero


def test_direction_projection_sign():
    W = np.array([[0.0, 0.0, -1.0], [0.0, 0.0, 1.0]])
    E = np.array([[0.0, 0.0, 2.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(measures.direction_projection(E, W), [2.0, -1.0, 0.0])


@pytest.mark.parametrize(
    "W", [np.ones((2, 4)), np.ones((1, 3))], ids=["hidden-size-differs", "one-class"]
)
def test_direction_unavailable_returns_none(W):
    assert measures.direction_projection(np.ones((5, 3)), W) is None


def test_one_vs_rest_direction_of_each_class():
    # Three classes on three axes: class c's direction is W[c] minus the others' mean.
    W = np.eye(3)
    E = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    for c in range(3):
        expected = (W[c] - np.delete(W, c, axis=0).mean(axis=0))
        expected /= np.linalg.norm(expected)
        np.testing.assert_allclose(measures.direction_projection(E, W, cls=c), E @ expected)
    assert measures.direction_projection(E, W, cls=0)[0] > 0 > measures.direction_projection(E, W, cls=2)[0]
    with pytest.raises(ValueError, match="cls"):
        measures.direction_projection(E, W, cls=3)


def _two_clusters(n: int = 100, seed: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng(seed)
    centres = np.array([[5.0, 0, 0, 0], [0, 5.0, 0, 0]])
    labels = np.repeat([0, 1], n // 2)
    return centres[labels] + 0.3 * rng.normal(size=(n, 4)), labels


def test_knn_and_silhouette_on_separated_clusters():
    X, y = _two_clusters()
    assert measures.knn_accuracy(X, y) == pytest.approx(1.0)
    assert measures.silhouette(X, y) > 0.8


def test_knn_and_silhouette_on_random_labels():
    X = _rng(13).normal(size=(300, 4))
    y = _rng(14).integers(0, 2, size=300)
    assert 0.35 < measures.knn_accuracy(X, y) < 0.65
    assert abs(measures.silhouette(X, y, sample_size=200)) < 0.05


# ----------------------------------------------------------------------------- bad inputs

X10 = np.ones((10, 3))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: measures.linear_cka(X10, np.ones((9, 3))), "Y"),
        (lambda: measures.mean_jaccard(X10, np.ones((9, 3))), "B"),
        (lambda: measures.drift(X10, np.ones((9, 3))), "current"),
        (lambda: measures.drift(X10, np.ones((10, 4))), "current"),
        (lambda: measures.procrustes_align(X10, np.ones((9, 3))), "Y"),
        (lambda: measures.nearest_neighbors(X10, k=10), "k"),
        (lambda: measures.nearest_neighbors(X10, k=0), "k"),
        (lambda: measures.nearest_neighbors(np.empty((0, 3))), "X"),
        (lambda: measures.linear_cka(np.empty((0, 3)), np.empty((0, 3))), "X"),
        (lambda: measures.nearest_neighbors(np.ones(3), k=1), "X"),
        (lambda: measures.neighbor_changes(np.zeros((2, 1)), np.zeros((2, 1)), ["a"]), "words"),
        (lambda: measures.log_odds_z(np.array([[1, -1], [0, 1]])), "class_counts"),
        (lambda: measures.log_odds_z(COUNTS, prior_strength=0.0), "prior_strength"),
        (lambda: measures.knn_accuracy(X10, np.zeros(10)), "labels"),
        (lambda: measures.knn_accuracy(X10, np.zeros(9)), "labels"),
        (lambda: measures.silhouette(X10, np.arange(10)), "labels"),
        (lambda: measures.word_similarity(["a"], np.ones((1, 2)), "no-such-benchmark"), "benchmark"),
    ],
    ids=[
        "cka-row-mismatch", "jaccard-row-mismatch", "drift-row-mismatch", "drift-dim-mismatch",
        "procrustes-row-mismatch", "k-equals-n", "k-zero", "neighbors-empty", "cka-empty",
        "neighbors-1d", "words-length",
        "negative-counts", "zero-prior", "one-class", "labels-length", "silhouette-all-singletons",
        "unknown-benchmark",
    ],
)
def test_bad_inputs_raise_value_error_naming_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        call()


def test_rho_interval_fisher_z_with_the_spearman_standard_error():
    low, high = measures.rho_interval(0.5, 103)  # z 0.549 +- 1.96 * sqrt(1.06 / 100)
    assert (round(low, 3), round(high, 3)) == (0.334, 0.636)
    wide = measures.rho_interval(0.5, 20)
    assert wide[0] < low and wide[1] > high  # fewer pairs, wider interval
    assert all(np.isnan(measures.rho_interval(0.5, 3)))
    assert all(np.isnan(measures.rho_interval(float("nan"), 100)))


def test_word_similarity_reports_its_interval_and_whether_it_is_reliable(tiny_kv):
    score = measures.word_similarity(tiny_kv.index_to_key, tiny_kv.vectors, "simlex999")
    assert score.n_found == 3 and not score.reliable and np.isnan(score.low)
    assert measures.MIN_RELIABLE_PAIRS == 30
