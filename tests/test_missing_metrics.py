"""Every metric may be missing: a tracked run without validation numbers or training counts
is drawn, exported and legended as "not recorded", never as zeros, "never seen" or an empty
chart with a meaningless axis."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from core.runs import export, naming
from core.track import open_run
from dashboard.charts import curves, evolution
from tests.conftest import TEN_WORDS

WORDS = ["<pad>", "<unk>"] + TEN_WORDS


def _run(store, **options):
    run = open_run(store, WORDS, **options)
    rng = np.random.default_rng(0)
    run.add_snapshot(rng.normal(size=(len(WORDS), 4)), 0, 0)
    run.add_snapshot(rng.normal(size=(len(WORDS), 4)), 1, 3, metrics={"loss": 0.5})
    run.finish()
    return run.run_id


def test_projector_metadata_says_counts_not_recorded(store):
    blind = export.export_bytes(store, _run(store), "projector")["metadata.tsv"].decode()
    seen = pd.read_csv(io.StringIO(blind), sep="\t")["seen"]
    assert set(seen) == {"not recorded"}
    counts = np.arange(len(WORDS)) % 2  # every other word never seen
    text = export.export_bytes(store, _run(store, counts=counts), "projector")["metadata.tsv"]
    meta = pd.read_csv(io.StringIO(text.decode()), sep="\t")
    assert meta["seen"].tolist() == (meta["train_count"] > 0).tolist()
    assert set(meta["seen"]) == {True, False}


def test_accuracy_chart_of_a_run_without_validation_says_so(store):
    fig = curves.accuracy_figure([("no validation", [{"epoch": 1, "train_loss": 0.5}])], 1)
    assert list(fig.layout.yaxis.range) == [0.0, 1.0]
    assert [a.text for a in fig.layout.annotations] == [
        "validation accuracy not recorded: no validation"]
    both = curves.accuracy_figure([("a", [{"epoch": 1, "val_accuracy": 0.7}]),
                                    ("b", [{"epoch": 1}])], 1)
    assert [a.text for a in both.layout.annotations] == ["validation accuracy not recorded: b"]
    assert 0.6 < both.layout.yaxis.range[0] < 0.7 < both.layout.yaxis.range[1] <= 1.0


def test_evolution_legend_without_counts_says_not_recorded():
    zeros = np.zeros(5, dtype=int)
    legend = evolution.evolution_colours([], 2, [], zeros >= 0, zeros, known=False)
    groups = list(legend["seen vs never seen in training"].groups)
    assert groups == ["training counts not recorded (5 words)"]
    counted = evolution.evolution_colours([], 2, [], np.array([1, 1, 0, 1, 0]) > 0, zeros)
    assert list(counted["seen vs never seen in training"].groups) == [
        "seen in training (3)", "never seen (2)"]


def test_run_numbers_of_a_run_without_validation_say_not_recorded(store):
    run = store.get_run(_run(store))
    pretty = naming.run_numbers(run, pretty=True)
    assert pretty["final val accuracy"] == pretty["best val accuracy"] == "not recorded"
    assert pretty["epochs"] == "1"  # no "1/None": the run did not say how many it planned
    assert naming.run_numbers(run)["final val accuracy"] is None
