"""Paired gains (core.training.gains) on hand-made results tables: the numbers are worked out
by hand here, never by calling the code under test a second way."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.training.gains import (all_gains, gain_is_real, gain_sentences, gain_verdict,
                                 gains_records, paired_gains)

# Per seed, random then glove. Each init's own 95 % interval overlaps the other's, but glove is
# 3 points above random on every seed (+-0.1): the paired gain is far from zero.
PAIRED = {0: (0.60, 0.630), 1: (0.64, 0.671), 2: (0.62, 0.649)}
# Here glove is above on two seeds and below on one: the gain may be chance.
UNPAIRED = {0: (0.60, 0.65), 1: (0.64, 0.60), 2: (0.62, 0.64)}


def results(cells: dict, size="100", n_train=100, unseen=None) -> pd.DataFrame:
    rows = []
    for seed, pair in cells.items():
        for init, acc in zip(("random", "glove"), pair):
            rows.append(dict(run_id=f"{init}{seed}", init=init, size=size, n_train=n_train,
                             seed=seed, status="done", best_epoch_accuracy=acc,
                             unseen_accuracy=acc if unseen is None else unseen[seed][init]))
    return pd.DataFrame(rows)


def t_interval(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    half = 4.302653 * values.std(ddof=1) / math.sqrt(len(values))  # t(0.975, 2 df)
    return values.mean() - half, values.mean() + half


def test_overlapping_intervals_hide_a_real_paired_gain():
    frame = results(PAIRED)
    rnd, glv = ([p[i] for p in PAIRED.values()] for i in (0, 1))
    assert t_interval(glv)[0] < t_interval(rnd)[1]  # the old overlap test: "may be chance"
    gain = paired_gains(frame).iloc[0]
    assert (gain.init, gain.baseline, gain["size"], gain.n_seeds) == ("glove", "random", "100", 3)
    assert gain["mean"] == pytest.approx(0.030, abs=1e-9)
    low, high = t_interval([0.030, 0.031, 0.029])
    assert (gain.low, gain.high) == (pytest.approx(low), pytest.approx(high))
    assert 0.027 < gain.low < gain.high < 0.033
    assert gain_is_real(gain.low, gain.high)
    assert gain_verdict(gain["mean"], gain.low, gain.high, 3) == (
        "+3.0 points, 95 % interval +2.8 to +3.2, 3 seeds: a real gain.")


def test_a_gain_whose_interval_holds_zero_may_be_chance():
    gain = paired_gains(results(UNPAIRED)).iloc[0]
    assert gain.low < 0 < gain.high
    assert not gain_is_real(gain.low, gain.high)
    assert gain_verdict(gain["mean"], gain.low, gain.high, 3).endswith("may be chance.")


def test_a_real_loss_is_called_a_loss():
    swapped = {k: (b, a) for k, (a, b) in PAIRED.items()}
    gain = paired_gains(results(swapped)).iloc[0]
    assert gain.high < 0
    assert gain_verdict(gain["mean"], gain.low, gain.high, 3).endswith("a real loss.")


def test_only_seeds_both_inits_finished_are_paired():
    frame = results(PAIRED)
    frame.loc[(frame["init"] == "glove") & (frame["seed"] == 2), "status"] = "failed"
    gain = paired_gains(frame).iloc[0]
    assert gain.n_seeds == 2 and gain["mean"] == pytest.approx(0.0305)
    one = frame[frame["seed"] == 0]
    single = paired_gains(one).iloc[0]
    assert single.n_seeds == 1 and math.isnan(single.low)
    assert "no interval" in gain_verdict(single["mean"], single.low, single.high, 1)


def test_gains_per_size_and_against_any_baseline():
    frame = pd.concat([results(PAIRED), results(UNPAIRED, size="all", n_train=400)])
    gains = paired_gains(frame)
    assert list(gains["size"]) == ["100", "all"] and list(gains["n_train"]) == [100, 400]
    against_glove = paired_gains(frame, baseline="glove")
    assert list(against_glove["init"]) == ["random", "random"]
    assert against_glove["mean"].iloc[0] == pytest.approx(-0.030)
    assert paired_gains(frame, baseline="word2vec").empty


def test_unseen_accuracy_is_paired_too():
    unseen = {0: {"random": 0.2, "glove": 0.5}, 1: {"random": 0.3, "glove": 0.6},
              2: {"random": 0.1, "glove": 0.4}}
    gain = paired_gains(results(PAIRED, unseen=unseen), "unseen").iloc[0]
    assert gain["mean"] == pytest.approx(0.3) and gain.low == pytest.approx(0.3)
    assert set(all_gains(results(PAIRED, unseen=unseen))["metric"]) == {"accuracy", "unseen"}


def test_sentences_and_json_records_carry_the_verdict():
    gains = paired_gains(results(PAIRED))
    assert gain_sentences(gains, str.upper) == [
        "With 100 training texts, GLOVE vs RANDOM: +3.0 points, 95 % interval +2.8 to +3.2, "
        "3 seeds: a real gain."]
    record = gains_records(gains)[0]
    assert record["real"] is True and isinstance(record["n_seeds"], int)
    assert record["mean"] == pytest.approx(0.03)
    assert gains_records(paired_gains(results(UNPAIRED)))[0]["real"] is False
