"""Each word's class and the colour slots of many-class pictures (core.analysis.classes)."""
from __future__ import annotations

import numpy as np
import pytest

from core.analysis.classes import (MAX_CLASS_COLOURS, NO_CLASS, colour_slots, slot_names,
                                   word_classes)
from core.analysis.measures import log_odds_z


def test_word_class_is_the_most_over_used_class_when_significant():
    z = np.array([[3.0, -1.0, 0.5],    # class 0, clearly
                  [0.2, 2.5, 2.9],     # class 2 (the larger z), both significant
                  [1.0, 1.5, -2.0],    # nothing reaches 1.96: no class
                  [np.nan] * 3])       # a special row
    got = word_classes(z)
    assert got.cls.tolist() == [0, 2, NO_CLASS, NO_CLASS]
    np.testing.assert_allclose(got.strength[:2], [3.0, 2.9])
    assert np.isnan(got.strength[2:]).all()
    assert int((got.cls != NO_CLASS).sum()) == 2


def test_word_classes_from_counts_follow_where_a_word_is_used():
    # word 0 only in class 1's texts, word 1 only in class 2's, word 3 only in class 0's;
    # words 2 and 4 alike in all three (equal-sized) classes
    counts = np.array([[0, 60, 0], [0, 0, 60], [40, 40, 40], [60, 0, 0], [30, 30, 30]], float)
    got = word_classes(log_odds_z(counts))
    assert got.cls.tolist() == [1, 2, NO_CLASS, 0, NO_CLASS]


def test_threshold_and_shape_are_checked():
    with pytest.raises(ValueError, match="threshold"):
        word_classes(np.zeros((3, 2)), threshold=0)
    with pytest.raises(ValueError, match="z"):
        word_classes(np.zeros((3, 1)))
    assert word_classes(np.full((2, 2), 1.0), threshold=0.5).cls.tolist() == [0, 0]


@pytest.mark.parametrize("n", [3, 10, MAX_CLASS_COLOURS])
def test_up_to_the_palette_every_class_has_its_own_slot(n):
    slots = colour_slots(np.arange(n) + 1)
    assert slots.tolist() == list(range(n))


def test_more_classes_than_colours_group_the_smallest_as_other():
    sizes = np.array([5, 100, 1, 50, 2, 70, 3])  # the four largest: classes 1, 5, 3, 0
    slots = colour_slots(sizes, max_colours=5)
    assert slots.tolist() == [0, 1, 4, 2, 4, 3, 4]  # kept classes in class order, rest slot 4
    names = slot_names([f"c{i}" for i in range(7)], slots)
    assert names == ["c0", "c1", "c3", "c5", "other (3 classes)"]


def test_thirty_classes_keep_the_palette_and_group_the_smallest():
    m = MAX_CLASS_COLOURS
    slots = colour_slots(np.arange(30, 0, -1))  # class 0 largest
    assert slots.max() == m - 1 and len(set(slots.tolist())) == m
    assert (slots[: m - 1] == np.arange(m - 1)).all() and (slots[m - 1:] == m - 1).all()
