"""``python -m core experiment`` reports paired gains in its last JSON line and judges them by
their interval (core.training.gains), on a stored experiment whose accuracies are set by hand."""
from __future__ import annotations

import json

import pytest

from core.cli import main
from tests.test_dashboard_experiments import craft_results


def _experiment(csv, store, capsys, *extra) -> dict:
    code = main(["experiment", str(csv), "--sizes", "10", "--inits", "random,glove",
                 "--seeds", "2", "--epochs", "1", "--store", str(store), "--quiet", *extra])
    assert code == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.parametrize("gains, real, verdict", [
    ({0: 0.030, 1: 0.032}, True, "+3.1 points, 95 % interval +1.8 to +4.4, 2 seeds: a real gain."),
    ({0: 0.05, 1: -0.04}, False, "+0.5 points, 95 % interval -56.7 to +57.7, 2 seeds: with "
                                 "these seeds it may be chance."),
])
def test_cli_gains_are_paired_and_judged(tiny_csv, tmp_path, capsys, gains, real, verdict):
    store = tmp_path / "runs"
    first = _experiment(tiny_csv, store, capsys)
    assert [(g["init"], g["baseline"], g["size"], g["n_seeds"]) for g in first["gains"]] == [
        ("glove", "random", "10", 2)]
    sizes = first["validation"]  # 20 lines, 4 validate: half choose the epoch, half score it
    assert (sizes["n_val"], sizes["n_stop"], sizes["n_report"]) == (4, 2, 2)
    craft_results(store, first["experiment_id"], {"10": gains})
    out = _experiment(tiny_csv, store, capsys, "--resume", first["experiment_id"])
    for key in ("gains", "unseen_gains"):
        (gain,) = out[key]
        assert gain["mean"] == pytest.approx(sum(gains.values()) / 2)  # a fraction, not points
        assert gain["low"] < gain["mean"] < gain["high"]
        assert (gain["real"], gain["verdict"]) == (real, verdict)
