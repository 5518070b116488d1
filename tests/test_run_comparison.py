"""Run-level comparison over a tiny stored run (TWENTY_LINES, init from a 10-word vector file)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


from core.runs import comparison as runcompare
from core.errors import ExplorerError, StoreError
from core.runs.comparison import GLOBAL_COLUMNS, CompareConfig, compare_run
from core.store.runstore import RunStore
from core.training.config import TrainConfig
from core.training.trainer import train_run
from tests.conftest import TEN_WORDS, make_keyed_vectors


@pytest.fixture(scope="module")
def vec_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vec") / "tiny.w2v.txt"
    make_keyed_vectors().save_word2vec_format(str(path), binary=False)
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, vec_file, tiny_dataset):
    """A bag run on TWENTY_LINES, initialised from the 10-word vector file, 3 epochs."""
    store = RunStore(tmp_path_factory.mktemp("store"))
    dataset = tiny_dataset
    config = TrainConfig(init=str(vec_file), epochs=3, val_fraction=0.5, batch_size=4, lr=0.05)
    summary = train_run(dataset, config, store)
    return store, summary.run_id


def test_same_space_at_step_zero_gives_jaccard_and_cka_one(tiny_run, vec_file):
    store, run_id = tiny_run
    result = compare_run(store, run_id, CompareConfig(against=str(vec_file), k=3))
    first = result.snapshots.iloc[0]
    assert first["mean_jaccard"] == pytest.approx(1.0)
    assert first["cka"] == pytest.approx(1.0)
    assert (result.words[0]["jaccard"] == 1.0).all()
    assert (result.words[0]["gained"].map(len) == 0).all()


def test_words_are_the_shared_ones_without_specials(tiny_run, vec_file):
    store, run_id = tiny_run
    words = compare_run(store, run_id, CompareConfig(against=str(vec_file), k=3)).words[0]
    assert set(words["word"]) == set(TEN_WORDS)


def test_shapes_and_columns(tiny_run):
    store, run_id = tiny_run
    result = compare_run(store, run_id, CompareConfig(against="init", k=3))
    n_snap = store.get_run(run_id).n_snapshots
    assert list(result.snapshots.columns) == GLOBAL_COLUMNS
    assert len(result.snapshots) == len(result.words) == n_snap == 4
    for table in result.words:
        assert list(table.columns) == [
            "word", "train_count", "seen", "jaccard", "neighbors", "neighbors_pretrained",
            "gained", "lost", "drift_from_start", "drift_from_prev", "norm",
            "z_neg", "z_pos", "direction"]
        assert table["neighbors"].map(len).eq(3).all()
    assert result.words[0]["drift_from_prev"].isna().all()
    assert result.words[-1]["drift_from_prev"].notna().all()
    assert result.words[-1]["direction"].notna().all()  # bag run, binary: direction exists
    assert result.snapshots["val_accuracy"].iloc[1:].notna().all()


def test_snapshot_zero_against_its_init_is_identical(tiny_run):
    """Step 0 is the init table itself: every neighbourhood kept, nothing gained or lost, no
    drift, CKA 1."""
    store, run_id = tiny_run
    result = compare_run(store, run_id, CompareConfig(against="init", k=3), use_cache=False)
    table = result.words[0]
    assert (table["jaccard"] == 1.0).all()
    assert table["gained"].map(len).sum() == 0 and table["lost"].map(len).sum() == 0
    np.testing.assert_allclose(table["drift_from_start"], 0.0, atol=1e-6)
    assert result.snapshots["cka"].iloc[0] == pytest.approx(1.0)
    assert result.snapshots["mean_jaccard"].iloc[0] == 1.0


def test_class_association_marks_the_sentiment_words(tiny_run):
    store, run_id = tiny_run
    table = compare_run(store, run_id, CompareConfig(against="init", k=3)).words[-1]
    z = table.set_index("word")["z_pos"]
    assert z["great"] > 0 > z["awful"]


def test_second_request_is_read_from_the_cache(tiny_run, monkeypatch):
    store, run_id = tiny_run
    config = CompareConfig(against="init", k=2)
    calls = []
    original = runcompare._snapshot_measures
    monkeypatch.setattr(runcompare, "_snapshot_measures",
                        lambda *a, **kw: calls.append(1) or original(*a, **kw))
    first = compare_run(store, run_id, config)
    n_calls = len(calls)
    second = compare_run(store, run_id, config)
    assert n_calls == 4 and len(calls) == n_calls
    assert not first.cached and second.cached
    pd.testing.assert_frame_equal(first.snapshots, second.snapshots)
    for a, b in zip(first.words, second.words):
        pd.testing.assert_frame_equal(a, b)


def test_other_settings_are_recomputed(tiny_run, monkeypatch):
    store, run_id = tiny_run
    compare_run(store, run_id, CompareConfig(against="init", k=2))
    calls = []
    original = runcompare._snapshot_measures
    monkeypatch.setattr(runcompare, "_snapshot_measures",
                        lambda *a, **kw: calls.append(1) or original(*a, **kw))
    compare_run(store, run_id, CompareConfig(against="init", k=4))
    assert len(calls) == 4


def test_summary_is_json_ready(tiny_run):
    import json

    store, run_id = tiny_run
    summary = compare_run(store, run_id, CompareConfig(against="init", k=3)).summary()
    text = json.dumps(summary, allow_nan=False)  # NaN would make invalid JSON
    assert json.loads(text)["snapshots"][0]["mean_jaccard"] == pytest.approx(1.0)
    assert set(summary["pretrained"]) >= {"wordsim353", "simlex999", "knn", "silhouette"}


def test_word_cap_keeps_the_most_frequent_training_words():
    vocab = pd.DataFrame({"token": ["<pad>", "<unk>", "a", "b", "c", "d", "e"],
                          "count": [0, 0, 9, 5, 7, 3, 4],
                          "train_count": [0, 0, 9, 5, 7, 0, 0]})
    shared = np.array([False, False, True, True, False, True, True])
    rows = runcompare.select_rows(vocab, shared, n_words=2, max_unseen=1)
    assert vocab["token"][rows].tolist() == ["a", "b", "e"]  # c not shared; e beats d


@pytest.mark.parametrize("kwargs", [
    {"k": 0}, {"k": 101}, {"n_words": 5}, {"max_unseen": -1}, {"knn_k": 0},
    {"silhouette_sample": 10}, {"against": ""}, {"k": 2.5},
], ids=["k-zero", "k-large", "few-words", "negative-unseen", "knn-zero", "tiny-sample",
        "empty-against", "k-float"])
def test_bad_config_is_refused(kwargs):
    with pytest.raises(ValueError):
        CompareConfig(**kwargs)


def test_k_not_below_word_count_is_refused(tiny_run, vec_file):
    store, run_id = tiny_run
    with pytest.raises(ExplorerError, match="k must be below"):
        compare_run(store, run_id, CompareConfig(against=str(vec_file), k=10))


def test_unknown_run_is_refused(tiny_run):
    store, _ = tiny_run
    with pytest.raises(StoreError):
        compare_run(store, "20200101-000000-abcdef")


def test_missing_vectors_file_is_refused(tiny_run, tmp_path):
    store, run_id = tiny_run
    with pytest.raises(ExplorerError, match="no such file"):
        compare_run(store, run_id, CompareConfig(against=str(tmp_path / "none.txt")))


def test_word_similarity_counts_every_row_not_only_the_compared_words(tmp_path):
    """Texts built from 60 WordSim353 pairs (both words in the vocabulary, GloVe knows them):
    with only 10 compared words, the benchmark still finds every pair whose two words own a
    row of the table; the GloVe reference scores the same pairs."""
    from core.analysis.measures import benchmark_path, read_word_pairs
    from core.data.loading import Dataset
    from core.vectors.pretrained import glove

    kv = glove()
    pairs = [(a, b) for a, b, _ in read_word_pairs(benchmark_path("wordsim353"))
             if a in kv.key_to_index and b in kv.key_to_index][:60]
    texts = [f"{a} {b}" for a, b in pairs] * 2
    labels = ["x", "y"] * len(pairs)
    store = RunStore(tmp_path)
    config = TrainConfig(epochs=1, batch_size=8, doc_sample=0, init="glove")
    run_id = train_run(Dataset.from_lists(texts, labels), config, store).run_id
    result = compare_run(store, run_id, CompareConfig(against="glove", k=3, n_words=10,
                                                      max_unseen=0))
    assert result.snapshots["n_words"].iloc[0] == 10
    vocab = set(store.load_vocab(run_id)["token"])
    expected = sum(a in vocab and b in vocab for a, b, _ in
                   read_word_pairs(benchmark_path("wordsim353")))
    assert expected >= 60
    assert (result.snapshots["wordsim353_found"] == expected).all()
    assert result.reference["wordsim353"]["n_found"] == expected
    assert result.reference["benchmark_rows"] == len(vocab)


def test_three_classes_get_a_one_vs_rest_direction_each(tmp_path):
    """With more than two classes there is no single "direction": each class gets its own
    column d_<class>, the projection on W[c] minus the other rows' mean."""
    from core.data.loading import Dataset

    lines = [("good great fine", "pos"), ("bad awful poor", "neg"), ("alps river lake", "place")]
    dataset = Dataset.from_lists([t for t, _ in lines] * 8, [c for _, c in lines] * 8)
    store = RunStore(tmp_path)
    run_id = train_run(dataset, TrainConfig(epochs=2, val_fraction=0.25, batch_size=4,
                                            early_stopping=False), store).run_id
    result = compare_run(store, run_id, CompareConfig(against="glove", k=3))
    classes = store.get_run(run_id).info["classes"]
    table = result.words[-1]
    assert [c for c in table.columns if c.startswith("d_")] == [f"d_{c}" for c in classes]
    assert table["direction"].isna().all()
    learned = store.load_snapshot(run_id, result.snapshots["snapshot"].iloc[-1])
    W = np.asarray(store.load_array(run_id, f"snapshots/out_{result.snapshots['snapshot'].iloc[-1]:04d}"), float)
    vocab = store.load_vocab(run_id)["token"].astype(str).tolist()
    row = learned[vocab.index(table["word"].iloc[0])].astype(float)
    d = W[0] - W[1:].mean(axis=0)
    assert table[f"d_{classes[0]}"].iloc[0] == pytest.approx(row @ d / np.linalg.norm(d), rel=1e-5)
