"""Run-level comparison over a tiny stored run (TWENTY_LINES, init from a 10-word vector file)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import compare, runcompare
from core.data import Dataset
from core.errors import ExplorerError, StoreError
from core.runcompare import GLOBAL_COLUMNS, CompareConfig, compare_run
from core.store import RunStore
from core.train import TrainConfig, train_run
from tests.conftest import TEN_WORDS, TWENTY_LINES, make_keyed_vectors


@pytest.fixture(scope="module")
def vec_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vec") / "tiny.w2v.txt"
    make_keyed_vectors().save_word2vec_format(str(path), binary=False)
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, vec_file):
    """A bag run on TWENTY_LINES, initialised from the 10-word vector file, 3 epochs."""
    store = RunStore(tmp_path_factory.mktemp("store"))
    texts, labels = zip(*TWENTY_LINES)
    dataset = Dataset.from_lists(list(texts), list(labels))
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


def test_matches_summarise_snapshot_on_the_same_inputs(tiny_run):
    """The run-level table agrees with compare.summarise_snapshot (same measures, no rewrite)."""
    store, run_id = tiny_run
    result = compare_run(store, run_id, CompareConfig(against="init", k=3), use_cache=False)
    table = result.words[2]
    rows = runcompare.select_rows(store.load_vocab(run_id),
                                  np.asarray(store.load_snapshot(run_id, 0)).any(axis=1)
                                  & (np.arange(len(store.load_vocab(run_id))) > 1), 5000, 1000)
    E = [np.asarray(store.load_snapshot(run_id, i))[rows] for i in range(3)]
    summary, expected = compare.summarise_snapshot(
        list(table["word"]), E[2], E[0], k=3, start=E[0], previous=E[1],
        output_weight=store.load_array(run_id, "snapshots/out_0002"))
    assert list(expected["word"]) == list(table["word"])
    for col in ("jaccard", "drift_from_start", "drift_from_prev", "direction"):
        np.testing.assert_allclose(table[col], expected[col], atol=1e-9, err_msg=col)
    assert result.snapshots["cka"].iloc[2] == pytest.approx(summary["cka"])


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
