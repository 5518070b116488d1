"""The bundled demo data set sample_data/sample.csv and its generator."""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from sample_data.make_sample import (
    CLASSES, POOLS, generate, glove_lookup, key_words, split, split_stats, tokenize,
    unseen_keys, write_csv,
)

CSV = Path(__file__).resolve().parents[1] / "sample_data" / "sample.csv"
N_PER_CLASS = 250          # documented in sample_data/README.md
MIN_UNSEEN_SHARE = 0.40    # documented threshold, per split seed
SPLIT_SEEDS = (0, 1, 2)
PLACES_BOTH = ("alps", "himalayas", "andes", "rockies", "sahara")


@pytest.fixture(scope="module")
def rows() -> list[tuple[str, str]]:
    with open(CSV, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["text", "label"]
        return [tuple(r) for r in reader]


@pytest.fixture(scope="module")
def glove(rows):
    return glove_lookup({t for text, _ in rows for t in tokenize(text)})


def test_size_and_class_balance(rows):
    assert Counter(label for _, label in rows) == {c: N_PER_CLASS for c in CLASSES}
    assert len(set(rows)) == len(rows)


def test_texts_are_short_lower_case_words(rows):
    for text, _ in rows:
        tokens = tokenize(text)
        assert text == " ".join(tokens), text
        assert 5 <= len(tokens) <= 15, text


def test_every_token_is_a_frequent_glove_word(rows, glove):
    vectors, rank = glove
    tokens = {t for text, _ in rows for t in tokenize(text)}
    assert tokens - set(vectors) == set()
    assert max(rank.values()) < 100_000


def test_regenerates_identically(rows, tmp_path):
    fresh = generate()
    assert fresh == rows
    write_csv(fresh, tmp_path / "sample.csv")
    assert (tmp_path / "sample.csv").read_bytes() == CSV.read_bytes()
    assert generate(seed=1) != fresh


def test_required_words_present(rows):
    by_label = {c: Counter(t for x, lab in rows if lab == c for t in tokenize(x)) for c in CLASSES}
    for word in ("good", "great"):
        assert by_label["positive"][word] > 0 and by_label["negative"][word] == 0
    for word in ("bad", "awful"):
        assert by_label["negative"][word] > 0 and by_label["positive"][word] == 0
    for place in PLACES_BOTH:  # places appear in both classes: no label signal
        assert all(by_label[c][place] > 0 for c in CLASSES), place


def test_only_key_words_carry_the_label(rows):
    keys = {c: key_words(c) for c in CLASSES}
    assert keys["positive"].isdisjoint(keys["negative"])
    all_pool_words = [w for pool in POOLS.values() for words in pool.values() for w in words]
    assert len(all_pool_words) == len(set(all_pool_words))
    for text, label in rows:
        tokens = set(tokenize(text))
        other = next(c for c in CLASSES if c != label)
        assert tokens & keys[label] and not tokens & keys[other], text


def test_most_key_words_are_rare(rows):
    for label in CLASSES:
        uses = Counter(t for x, lab in rows if lab == label for t in tokenize(x)
                       if t in key_words(label))
        assert sum(n <= 2 for n in uses.values()) / len(uses) >= 0.8, label


@pytest.mark.parametrize("seed", SPLIT_SEEDS)
def test_many_validation_texts_have_unseen_key_words(rows, seed):
    train, val = split(rows, seed)
    unseen = unseen_keys(train, val)
    assert sum(bool(u) for u in unseen) / len(val) > MIN_UNSEEN_SHARE


@pytest.mark.parametrize("seed", SPLIT_SEEDS)
def test_glove_mean_beats_bag_of_words_on_unseen_key_words(rows, glove, seed):
    stats = split_stats(rows, seed, glove[0])
    assert stats["share_all_unseen"] >= 0.2
    assert stats["glove_acc_all_unseen"] >= 0.7
    assert stats["glove_acc_all_unseen"] >= stats["bow_acc_all_unseen"] + 0.15
