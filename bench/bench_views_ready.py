"""Seconds from the end of training to every view of the finished run ready (issue 21, item 3):
the engine of a checkout serves a fresh store (warmed up, as a server that is already running),
the 10-class run of ``bench_pages.py`` (5,220 texts, ~6,000 words, 10 epochs, 11 snapshots)
is trained from the command line, and the store is polled until the run is done and then until
its views (evolution, pretrained view, document views, comparison) are ready.

    .venv/bin/python bench/bench_views_ready.py                        # this checkout
    .venv/bin/python bench/bench_views_ready.py --app /tmp/base --app .  # before and after

Checkouts run in turn (one engine and one training at a time). Printed per checkout: training
seconds, seconds from the run's end to its views ready, and ``finalize``'s seconds per view.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_pages import make_dataset  # noqa: E402


def _engine(app: Path, store: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR",
                                                           str(REPO / ".cache" / "numba"))}
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "core", "engine", "--store", str(store)],
                                cwd=app, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait(check, timeout: float, step: float = 0.1) -> float:
    """Seconds until ``check()`` is true (NaN after ``timeout``)."""
    t0 = time.perf_counter()
    while not check():
        if time.perf_counter() - t0 > timeout:
            return float("nan")
        time.sleep(step)
    return time.perf_counter() - t0


def measure(app: Path, data: Path, tmp: Path, warm_seconds: float) -> dict:
    from core.store.runstore import RunStore

    store = tmp / f"runs-{len(list(tmp.iterdir()))}"
    store.mkdir()
    engine = _engine(app, store, tmp / f"{store.name}.log")
    try:
        time.sleep(warm_seconds)  # the engine warms UMAP up, as on a server already running
        t0 = time.perf_counter()
        train = subprocess.Popen([sys.executable, "-m", "core", "train", str(data), "--store",
                                  str(store), "--epochs", "10", "--no-early-stopping",
                                  "--quiet"], cwd=app)
        runs = RunStore(store)
        _wait(lambda: bool(runs.list_runs()), 600)
        run_id = runs.list_runs()[0].run_id
        _wait(lambda: runs.get_run(run_id).status != "running", 900)
        trained = time.perf_counter() - t0
        ready = _wait(lambda: runs.get_run(run_id).info.get("views") in ("ready", "failed"), 900)
        train.wait()
        info = runs.get_run(run_id).info
        return {"app": app, "train": trained, "ready": ready, "views": info.get("views"),
                "steps": info.get("views_seconds", {})}
    finally:
        engine.terminate()
        engine.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, action="append",
                        help="checkout whose engine and trainer run (repeat to compare)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench_views")
    parser.add_argument("--warm", type=float, default=30.0,
                        help="seconds the engine warms up before training starts")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    data = args.work / "ten_classes.csv"
    if not data.is_file():
        make_dataset(data)
    with tempfile.TemporaryDirectory() as tmp:
        for app in args.app or [REPO]:
            got = measure(app.resolve(), data, Path(tmp), args.warm)
            steps = ", ".join(f"{k} {v:.1f}" for k, v in got["steps"].items())
            print(f"app {got['app']}: trained in {got['train']:.1f} s; every view "
                  f"{got['views']} {got['ready']:.1f} s after the run ended ({steps})")


if __name__ == "__main__":
    main()
