"""The engine's second process (core.jobs.side): a run's comparison parts and pretrained fits
are computed there, beside the frames, and the finished views are the ones the engine makes
alone."""
from __future__ import annotations

import shutil

import pandas as pd

from core.jobs.engine import Engine
from core.runs import comparison as runcompare
from core.runs.comparison import compare_run
from core.store.runstore import RunStore
from core.training.config import TrainConfig
from core.training.trainer import train_run


def _finish(engine: Engine, store: RunStore, run_id: str) -> None:
    for _ in range(20):
        if store.get_run(run_id).info.get("views") == "ready":
            return
        engine.tick()
    raise AssertionError(store.get_run(run_id).info)


def test_parts_come_from_the_side_process_and_equal_the_engines_own(tmp_path, monkeypatch):
    from tests.conftest import labelled

    alone = RunStore(tmp_path / "alone")
    run_id = train_run(labelled(3), TrainConfig(epochs=3, batch_size=8, doc_sample=12),
                       alone).run_id
    shutil.copytree(alone.root, tmp_path / "beside")
    beside = RunStore(tmp_path / "beside")
    _finish(Engine(alone, warm=False, method="pca"), alone, run_id)

    # this process must not compute a part: the engine hands every one to its side process
    # (a spawned interpreter: the patch does not reach it)
    def refused(*args, **kwargs):
        raise AssertionError("a comparison part computed in the engine's own process")

    monkeypatch.setattr(runcompare, "_part", refused)
    engine = Engine(beside, warm=False, method="pca", side=True)
    try:
        engine.tick()  # the frames here, the parts handed over
        engine.side.wait(run_id)
        parts = beside.cache_dir(run_id) / runcompare.PARTS
        assert len(list(parts.iterdir())) == beside.get_run(run_id).n_snapshots
        _finish(engine, beside, run_id)
    finally:
        engine.close()
    ours = compare_run(beside, run_id, cached_only=True)
    theirs = compare_run(alone, run_id, cached_only=True)
    columns = [c for c in theirs.snapshots.columns if c != "seconds"]
    pd.testing.assert_frame_equal(ours.snapshots[columns], theirs.snapshots[columns])
    for mine, other in zip(ours.words, theirs.words):
        pd.testing.assert_frame_equal(mine, other)


def test_the_side_process_ends_with_a_killed_engine(tmp_path):
    """kill -9 of the engine runs none of its clean-up: its side process must still go."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    from tests.conftest import REPO

    engine = subprocess.Popen([sys.executable, "-m", "core", "engine", "--store",
                               str(tmp_path / "runs")], cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        children: list[psutil.Process] = []
        while not children and time.monotonic() < deadline:
            children = [c for c in psutil.Process(engine.pid).children()
                        if "spawn_main" in " ".join(c.cmdline())]
            time.sleep(0.2)
        assert children, "the engine started no side process"
    finally:
        os.kill(engine.pid, signal.SIGKILL)
        engine.wait()
    gone, alive = psutil.wait_procs(children, timeout=30)
    for child in alive:
        child.kill()
    assert not alive, [c.pid for c in alive]
