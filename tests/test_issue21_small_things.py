"""Issue 21 item 5, the parts a unit can check: axis ranges that hide no point, the runs a
comparison opens on, benchmark pairs this run's vocabulary holds, the data set a tab opened
on a run adopts, and class legends in their full colour."""
from __future__ import annotations

import numpy as np
import pytest

from core.runs import naming
from core.store.records import RunInfo
from dashboard.charts.points import stable_ranges


def test_ranges_hold_every_point_of_every_frame():
    rng = np.random.default_rng(1)
    frames = np.stack([rng.normal(0, 5, (200, 2))] + [rng.normal(0, 1, (200, 2))] * 8)
    frames[3, :3] = [[80, 80], [-90, 70], [60, -85]]  # far points: shown, not cut off
    xr, yr = stable_ranges(frames)
    assert xr[0] <= frames[..., 0].min() and xr[1] >= frames[..., 0].max()
    assert yr[0] <= frames[..., 1].min() and yr[1] >= frames[..., 1].max()
    # one frame alone (the Documents page's learned panel): fitted to that frame only
    xr, _ = stable_ranges(frames[-1][None])
    assert xr[1] - xr[0] < 10 and xr[0] <= frames[-1, :, 0].min()


def _run(run_id: str, dataset: str | None, name: str | None = None) -> RunInfo:
    info = {"dataset_id": dataset} if dataset else {}
    if name:
        info["name"] = name
    return RunInfo(run_id=run_id, status="done", created=0.0, updated=0.0, label="",
                   config={}, fingerprint="", info=info, error=None, pid=None,
                   cancel_requested=False)


def test_comparison_pairs_runs_of_one_data_set_only():
    runs = [_run("r4", "B"), _run("r3", "A"), _run("r2", "B"), _run("r1", "A")]
    assert naming.compare_default(runs, active="r3") == ["r3", "r1"]
    assert naming.compare_default(runs) == ["r4", "r2"]  # no active run: the newest
    assert naming.compare_default([_run("r2", "B"), _run("r1", "A")]) == ["r2"]


def test_compared_runs_are_named_by_name_with_the_id_only_when_names_clash():
    a, b = _run("r1", "A", "mine"), _run("r2", "A", "theirs")
    assert naming.distinct_names([a, b]) == ["mine", "theirs"]
    assert naming.distinct_names([a, _run("r3", "A", "mine")]) == ["mine (r1)", "mine (r3)"]


def test_suggested_pairs_are_benchmark_pairs_the_run_has_seen(store):
    from core.analysis.measures import benchmark_path, read_word_pairs
    from core.data.loading import Dataset
    from core.runs.semantics import DEFAULT_PAIRS, suggested_pairs
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    texts = ["the king and the queen", "a car and an automobile", "the tiger and the cat",
             "money and cash at the bank", "the king rules", "the cat sleeps"] * 4
    labels = ["a", "b"] * 12
    run_id = train_run(Dataset.from_lists(texts, labels),
                       TrainConfig(epochs=1, batch_size=4, doc_sample=4, val_fraction=0.25),
                       store).run_id
    pairs = suggested_pairs(store, run_id)
    assert 1 <= len(pairs) <= 3 and not set(pairs) & set(DEFAULT_PAIRS)
    bench = {(a, b) for name in ("wordsim353", "simlex999")
             for a, b, _ in read_word_pairs(benchmark_path(name))}
    vocab = set(store.load_vocab(run_id)["token"].astype(str))
    for a, b in pairs:
        assert (a, b) in bench and a in vocab and b in vocab


def test_a_run_names_its_stored_data_set_for_a_fresh_tab(store, tiny_dataset):
    from core.store import datasets

    record = datasets.register(store, tiny_dataset, b"text,label\n", "tiny.csv", name="Tiny")
    run_id = store.create_run({}, "fp", info=datasets.job_info(tiny_dataset, record.name))
    assert datasets.of_run(store, run_id) == record.dataset_id
    assert datasets.of_run(store, None) is None
    datasets.delete(store, record.dataset_id)
    assert datasets.of_run(store, run_id) is None  # deleted: the sample, as before


def test_class_legend_swatches_show_each_class_in_full_colour():
    import pandas as pd

    from dashboard.charts import evolution, maps

    classes = [f"c{i}" for i in range(10)]
    z = np.zeros((30, 10))
    for w in range(30):
        z[w, w % 10] = 2.5 + (w // 10)  # weak, medium, strong per class
    colour = evolution.class_colouring(pd.DataFrame(z, columns=[f"z_{c}" for c in classes]),
                                       classes)
    fig = maps.word_map(np.random.default_rng(0).normal(size=(30, 2)), [f"w{i}" for i in range(30)],
                        np.ones(30, bool), "t", [f"w{i}" for i in range(30)], colour=colour)
    shown = {t.name: t.marker.color for t in fig.data if t.showlegend is not False}
    solid = {name: c for name, (_, c) in colour.groups.items()}
    assert {k: v for k, v in shown.items() if k in solid} == solid
    assert "#7f7f7f" not in {c.lower() for c in solid.values()}  # grey means "no class"
