"""The tokenised-corpus cache and the vocabulary built from a corpus."""
from __future__ import annotations

import numpy as np
import pytest

from core.data.text import Corpus, Vocab, VocabConfig, corpus_coverage, coverage, tokenize
from core.training import corpus as corpus_mod
from core.training.config import TrainConfig
from core.training.trainer import train_run
from tests.conftest import TWENTY_LINES

TOKENS = [tokenize(t) for t, _ in TWENTY_LINES] + [[], ["<unk>", "good"]]
LABELS = np.array([0] * 10 + [1] * 10 + [0, 1])


@pytest.mark.parametrize("config", [VocabConfig(), VocabConfig(min_count=2),
                                    VocabConfig(max_size=6)], ids=str)
def test_vocab_from_corpus_equals_build(config):
    mask = np.arange(len(TOKENS)) % 3 != 0
    built = Vocab.build(TOKENS, mask, LABELS, 2, config)
    fast, rows = Vocab.from_corpus(Corpus.from_token_lists(TOKENS), mask, LABELS, 2, config)
    assert fast.itos == built.itos
    np.testing.assert_array_equal(fast.counts, built.counts)
    np.testing.assert_array_equal(fast.class_counts, built.class_counts)
    np.testing.assert_array_equal(rows, np.concatenate(built.encode_all(TOKENS)))


def test_corpus_round_trip_and_coverage(tiny_kv):
    corpus = Corpus.from_token_lists(TOKENS)
    assert corpus.token_lists() == TOKENS and len(corpus) == len(TOKENS)
    known = np.array([t in tiny_kv.key_to_index for t in corpus.types])
    assert corpus_coverage(corpus, known) == coverage(TOKENS, tiny_kv)


def test_second_run_reads_the_cache_instead_of_tokenising(tiny_dataset, store, monkeypatch):
    config = TrainConfig(epochs=1, batch_size=4, doc_sample=2)
    first = train_run(tiny_dataset, config, store)
    key = corpus_mod.cache_key(tiny_dataset)
    entry = store.root / "cache" / "tokens" / key
    assert entry.is_dir() and key.startswith(tiny_dataset.fingerprint())

    def no_tokenising(text):
        raise AssertionError("tokenised again")

    monkeypatch.setattr(corpus_mod, "tokenize", no_tokenising)
    cached = corpus_mod.tokenised(tiny_dataset, store)
    assert cached.cached
    second = train_run(tiny_dataset, config, store)
    assert second.val_loss == first.val_loss and second.vocab_size == first.vocab_size
    np.testing.assert_array_equal(store.load_snapshot(first.run_id, 1),
                                  store.load_snapshot(second.run_id, 1))


def test_cached_glove_init_equals_the_full_glove_init(tiny_dataset, store):
    """The cache keeps GloVe's vectors of the corpus's words: the init matrix, coverage and
    in-GloVe flags are those the full GloVe gives."""
    from core.vectors.pretrained import glove, init_matrix

    config = TrainConfig(epochs=1, batch_size=4, doc_sample=2, init="glove")
    run_id = train_run(tiny_dataset, config, store).run_id
    again = train_run(tiny_dataset, config, store).run_id  # from the cache
    vocab = store.load_vocab(again)
    expected, found = init_matrix(vocab["token"].tolist(), glove(), dim=50, seed=0)
    np.testing.assert_array_equal(store.load_snapshot(again, 0), expected)
    np.testing.assert_array_equal(vocab["in_pretrained"].to_numpy(), found)
    full = coverage([tokenize(t) for t in tiny_dataset.texts], glove())
    info = store.get_run(again).info["pretrained_coverage"]
    assert info == {"token_share": full.token_share, "vocab_share": full.vocab_share}
    assert store.get_run(run_id).info["pretrained_coverage"] == info


def test_tokenizer_version_is_part_of_the_key(tiny_dataset, monkeypatch):
    before = corpus_mod.cache_key(tiny_dataset)
    monkeypatch.setattr(corpus_mod, "TOKENIZER_VERSION", corpus_mod.TOKENIZER_VERSION + 1)
    assert corpus_mod.cache_key(tiny_dataset) != before


def test_a_mismatched_entry_is_replaced(tiny_dataset, store):
    from core.data.loading import Dataset

    corpus_mod.tokenised(tiny_dataset, store)
    other = Dataset.from_lists(["just one", "two texts"], ["a", "b"])
    entry = store.root / "cache" / "tokens" / corpus_mod.cache_key(tiny_dataset)
    corpus_mod._write(corpus_mod.from_tokens([tokenize(t) for t in other.texts]),
                      entry)  # overwrite the files with another corpus
    fresh = corpus_mod.tokenised(tiny_dataset, store)
    assert not fresh.cached and len(fresh.corpus) == len(tiny_dataset)
    assert len(corpus_mod.tokenised(tiny_dataset, store).corpus) == len(tiny_dataset)
