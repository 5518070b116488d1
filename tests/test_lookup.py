"""core.analysis.lookup: the lookup equals one-hot x matrix (for every architecture's own
embedding layer too), the bag's pooled vector, the cost measurement, one-row neighbours."""
from __future__ import annotations

import numpy as np
import pytest

from core.analysis import lookup as lk


@pytest.fixture
def table():
    return np.random.default_rng(0).standard_normal((12, 5)).astype(np.float32)


IDS = np.array([3, 7, 3, 1, 11])


def test_one_hot_has_a_single_one_per_row():
    m = lk.one_hot(IDS, 12)
    assert m.shape == (5, 12) and m.dtype == np.float32
    assert (m.sum(axis=1) == 1).all() and (m.argmax(axis=1) == IDS).all()


def test_lookup_is_the_one_hot_product_exactly(table):
    rows = lk.lookup(IDS, table)
    product, chunks = lk.one_hot_product(IDS, table)
    assert chunks == 1
    assert np.array_equal(rows, product)
    assert np.array_equal(rows, table[IDS])


def test_the_product_in_chunks_is_the_same(table):
    # 12 rows x 4 bytes = 48 bytes per one-hot row: 100 bytes -> two text positions a chunk
    product, chunks = lk.one_hot_product(IDS, table, chunk_bytes=100)
    assert chunks == 3
    assert np.array_equal(product, table[IDS])


def test_check_equal_reports_exact(table):
    eq = lk.check_equal(IDS, table)
    assert eq.exact and eq.close and eq.max_abs_diff == 0.0 and eq.chunks == 1


@pytest.mark.parametrize("bad", [np.array([12]), np.array([-1]), np.array([], dtype=int),
                                 np.array([1.0])])
def test_ids_outside_the_table_are_refused(table, bad):
    with pytest.raises(ValueError, match="ids"):
        lk.lookup(bad, table)


def test_bag_pools_the_mean_without_padding(table):
    ids = np.array([0, 3, 5, 0])
    rows = lk.lookup(ids, table)
    assert np.allclose(lk.pooled(ids, rows, "bag"), (table[3] + table[5]) / 2)
    assert lk.pooled(ids, rows, "cnn") is None and lk.pooled(ids, rows, "gru") is None
    with pytest.raises(ValueError, match="arch"):
        lk.pooled(ids, rows, "mlp")


@pytest.mark.parametrize("arch", ["bag", "cnn", "gru"])
def test_every_architectures_embedding_is_one_hot_times_its_weight(arch):
    """The model's own embedding layer (EmbeddingBag for the bag, Embedding otherwise) gives
    what one-hot x weight gives; for the bag, the mean of those rows."""
    import torch

    from core.training.config import ModelConfig
    from core.training.model import EmbeddingClassifier

    torch.manual_seed(0)
    model = EmbeddingClassifier(ModelConfig(arch=arch, vocab_size=20, dim=6, n_classes=2,
                                            hidden=4))
    weight = model.embedding_matrix()
    ids = np.array([4, 9, 4, 17, 2])
    with torch.no_grad():
        batch = torch.from_numpy(ids).unsqueeze(0)
        out = model.embedding(batch)[0].numpy()
    product, _ = lk.one_hot_product(ids, weight)
    if arch == "bag":
        assert out.shape == (6,)
        assert np.allclose(out, product.mean(axis=0), atol=1e-6)
        assert np.allclose(out, lk.pooled(ids, lk.lookup(ids, weight), arch), atol=1e-6)
    else:
        assert out.shape == (5, 6)
        assert np.array_equal(out, product)
        assert np.array_equal(out, lk.lookup(ids, weight))


def test_measure_counts_the_inputs_and_measures_peaks(table):
    cost = lk.measure(IDS, table, repeats=3)
    assert (cost.n_rows, cost.n_tokens, cost.dim) == (12, 5, 5)
    assert cost.index_bytes == 5 * 8 and cost.one_hot_bytes == 5 * 12 * 4
    assert cost.lookup_seconds > 0 and cost.product_seconds > 0
    # the product holds its one-hot (240 bytes) and its result: more than the lookup's rows
    assert cost.product_peak_bytes >= cost.one_hot_bytes > 0
    assert cost.product_peak_bytes > cost.lookup_peak_bytes


def test_measure_large_is_cached_per_process():
    a = lk.measure_large(4, n_rows=5000, n_tokens=6, repeats=2)
    assert a is lk.measure_large(4, n_rows=5000, n_tokens=6, repeats=2)
    assert a.one_hot_bytes == 6 * 5000 * 4 and a.n_rows == 5000


def test_nearest_rows_skips_itself_and_the_special_rows():
    m = np.array([[1, 0], [1, 0.01], [0.9, 0.1], [0, 1], [0.7, 0.7], [1, 0.02]],
                 dtype=np.float32)
    assert lk.nearest_rows(m, 0, k=3, skip=(1,)).tolist() == [5, 2, 4]
    assert lk.nearest_rows(m, 0, k=3).tolist() == [1, 5, 2]
    assert len(lk.nearest_rows(m, 0, k=99, skip=(1,))) == 4


def test_token_ids_match_the_vocabularys_encoding_and_mark_rows_missing():
    from core.data.text import Vocab

    tokens = [["a", "good", "film"], ["a", "bad", "film"]]
    vocab = Vocab.build(tokens, [True, True], [0, 1], 2)
    text = ["good", "film", "unheard", "a"]
    assert lk.token_ids(text, vocab.itos).tolist() == vocab.encode(text).tolist()
    assert lk.token_ids(text, ["good", "film", "a"]).tolist() == [0, 1, -1, 2]  # no <unk> row
    assert lk.token_ids([], vocab.itos).tolist() == []


def test_measure_large_builds_the_table_once_for_concurrent_callers(monkeypatch):
    """Two sessions opening the page together: one measurement, the other waits for it."""
    import threading

    built = []
    real = lk.measure
    monkeypatch.setattr(lk, "measure", lambda *a, **k: built.append(1) or real(*a, **k))
    args = dict(n_rows=3000, n_tokens=5, seed=7, repeats=2)
    out = []
    threads = [threading.Thread(target=lambda: out.append(lk.measure_large(3, **args)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and all(o is out[0] for o in out)
