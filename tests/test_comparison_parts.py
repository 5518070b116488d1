"""The run comparison computed snapshot by snapshot while a run trains (issue 21, item 3):
the engine computes each snapshot's part as it arrives, and the parts assembled at the end are
the comparison computed at once."""
from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from core.jobs.engine import Engine
from core.runs import comparison as runcompare
from core.runs import comparison_parts as parts
from core.runs.comparison import CompareConfig, compare_run
from core.training.config import TrainConfig
from core.training.trainer import train_run


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from core.store.runstore import RunStore
    from tests.conftest import labelled

    store = RunStore(tmp_path_factory.mktemp("parts") / "runs")
    config = TrainConfig(epochs=3, batch_size=8, doc_sample=12)
    return store, train_run(labelled(3), config, store).run_id


def _part_dirs(store, run_id) -> list[str]:
    folder = store.cache_dir(run_id) / runcompare.PARTS
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_engine_computes_a_snapshots_part_when_the_snapshot_arrives(finished, monkeypatch):
    """A training run seen by the engine after each of its snapshots: one more part per tick
    (for the GloVe comparison), none of the whole-run comparison before the run ends."""
    store, run_id = finished
    full = store.get_run(run_id)
    shown = {"n": 1}
    get_run, list_runs = type(store).get_run, type(store).list_runs

    def arriving(run):  # the run as the store shows it while training: n snapshots so far
        if run.run_id != run_id:
            return run
        return dataclasses.replace(run, status="running", snapshots=full.snapshots[:shown["n"]])

    monkeypatch.setattr(type(store), "get_run", lambda self, rid: arriving(get_run(self, rid)))
    monkeypatch.setattr(type(store), "list_runs",
                        lambda self, *a, **kw: [arriving(r) for r in list_runs(self, *a, **kw)])
    engine = Engine(store, warm=False, method="pca")
    for n in range(1, full.n_snapshots + 1):
        shown["n"] = n
        engine.tick()
        names = _part_dirs(store, run_id)
        assert len(names) == n, names
        assert names[-1].endswith(f"-{full.snapshots[n - 1]['idx']:04d}-"
                                  f"{full.snapshots[n - 2]['idx'] if n > 1 else -1}")
    assert compare_run(store, run_id, cached_only=True) is None  # assembled only at the end


def test_parts_assembled_at_the_end_equal_the_comparison_computed_at_once(finished):
    store, run_id = finished
    config = CompareConfig()
    for snap in store.get_run(run_id).snapshots:  # as the engine does while the run trains
        parts.extend(store, run_id, snap["idx"])
    runcompare.ensure_cached(store, run_id, config)  # finalize: assembled from the parts
    assembled = compare_run(store, run_id, config, cached_only=True)
    at_once = compare_run(store, run_id, config, use_cache=False)  # no part read, no cache
    timing = ["seconds"]
    pd.testing.assert_frame_equal(assembled.snapshots.drop(columns=timing),
                                  at_once.snapshots.drop(columns=timing), check_exact=True)
    assert len(assembled.words) == len(at_once.words) == store.get_run(run_id).n_snapshots
    for a, b in zip(assembled.words, at_once.words):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert assembled.reference.keys() == at_once.reference.keys()


def test_finalize_reads_the_engines_parts_instead_of_recomputing(finished, monkeypatch):
    store, run_id = finished
    config = CompareConfig(k=3)
    for snap in store.get_run(run_id).snapshots:
        parts.extend(store, run_id, snap["idx"])  # default settings only: k=10
    calls = []
    original = runcompare._snapshot_measures
    monkeypatch.setattr(runcompare, "_snapshot_measures",
                        lambda *a, **kw: calls.append(1) or original(*a, **kw))
    runcompare.ensure_cached(store, run_id, CompareConfig())
    assert calls == []  # every snapshot's part was there
    runcompare.ensure_cached(store, run_id, config)  # other settings: computed now
    assert len(calls) == store.get_run(run_id).n_snapshots
