"""Three spaces, one corpus (core/runs/spaces.py): the task table, the word2vec table and
GloVe compared on the same words; typed sentences in each space."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import labelled
from core.store.runstore import RunStore
from core.training.config import TrainConfig


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    from core.training.trainer import train_run

    store = RunStore(tmp_path_factory.mktemp("spaces"))
    data = labelled(3)
    w2v = train_run(data, TrainConfig(objective="skipgram", epochs=2, dim=50), store)
    task = train_run(data, TrainConfig(epochs=2), store)
    return store, task.run_id, w2v.run_id, data


def test_default_pair_is_the_newest_of_each_kind_on_the_data_set(pair):
    from core.runs.spaces import default_pair

    store, task, w2v, data = pair
    assert default_pair(store, data.fingerprint()) == (task, w2v)
    assert default_pair(store, "0" * 64) == (None, None)


def test_a_space_against_itself_agrees_fully(pair):
    from core.runs.spaces import three_spaces

    store, task, _, _ = pair
    same = three_spaces(store, task, task, k=3)
    row = same.pairs.set_index("pair").loc["task vs word2vec"]
    assert row["jaccard"] == pytest.approx(1.0) and row["cka"] == pytest.approx(1.0)


def test_three_spaces_compare_the_shared_words(pair):
    from core.runs.spaces import most_different, three_spaces

    store, task, w2v, _ = pair
    result = three_spaces(store, task, w2v, k=3)
    assert "<unk>" not in result.words and "good" in result.words
    assert len(result.pairs) == 3 and result.pairs["jaccard"].between(0, 1).all()
    assert result.pairs.set_index("pair").loc["task vs word2vec", "jaccard"] < 1.0
    assert set(result.scores["space"]) == {"task", "word2vec", "pretrained"}
    near = result.neighbours_of("good", 3)
    assert all(len(v) == 3 and "good" not in v for v in near.values())
    worst = most_different(result, 5)
    assert worst["task vs word2vec"].is_monotonic_increasing


def test_sentences_in_each_space(pair):
    from core.runs.spaces import sentence_similarities, sentence_vectors

    store, task, w2v, _ = pair
    texts = ["a good film", "a good film", "the river walk"]
    vectors = sentence_vectors(store, task, w2v, texts)
    table = sentence_similarities(vectors).set_index("texts")
    assert table.loc["1 & 2"].to_numpy() == pytest.approx(np.ones(3))  # same text: cosine 1
    assert (table.loc["1 & 3"] < 0.999).all()
    # the bag's pooled vector is the mean of the text's rows
    vocab = store.load_vocab(task)["token"].tolist()
    table0 = store.load_snapshot(task, store.get_run(task).best()["snapshot"])
    rows = [vocab.index(w) for w in ("a", "good", "film")]
    np.testing.assert_allclose(vectors["task"][0], table0[rows].mean(axis=0), rtol=1e-5)
