"""queue.estimate_size with a store counts the words from the tokenised-corpus cache: a
settings change on the Train page re-tokenises nothing."""
from __future__ import annotations

import pytest

from core.data.dataset import Dataset
from core.jobs import queue
from core.training.config import TrainConfig
from core.training.corpus import tokenised

TEXTS = ["good good film", "bad film", "good fun", "bad bad noise", "fine film", "poor noise",
         "good river", "bad lake", "great fun", "awful noise", "good", "bad"]


def test_estimate_reads_the_cached_corpus_instead_of_tokenising(store, monkeypatch):
    ds = Dataset.from_lists(TEXTS, ["pos", "neg"] * 6)
    configs = [TrainConfig(min_count=1), TrainConfig(min_count=2, epochs=3)]
    fresh = [queue.estimate_size(ds, c) for c in configs]  # tokenised now, no store
    assert fresh[0].rows == 11 + 2 and fresh[1].rows == 5 + 2  # words seen >= 1 / >= 2 times
    tokenised(ds, store)  # what the first estimate (or run) on this data set leaves cached

    def no_tokenising(text):
        raise AssertionError("estimate_size tokenised a text again")
    monkeypatch.setattr("core.data.text.tokenize", no_tokenising)
    monkeypatch.setattr("core.training.corpus.tokenize", no_tokenising)
    assert [queue.estimate_size(ds, c, store=store) for c in configs] == fresh
    with pytest.raises(AssertionError, match="tokenised a text"):
        queue.estimate_size(ds, configs[0])  # without a store it has to tokenise
