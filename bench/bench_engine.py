"""How long after a clickbait run ends is its evolution view ready? (issue: <= 10 s on a
server that was started earlier).

Trains one real run (all 32k clickbait headlines from ../shared, bag, GloVe init, 10 epochs ->
11 snapshots), then measures on it:
- warm process (UMAP compiled by ``warm_up`` beforehand): the evolution projection of all
  snapshots at 2,000 (the product default) and 5,000 words, the aligned pretrained view, the
  document views and all comparison measures — i.e. ``runviews.finalize`` step by step;
- PCA of the same frames;
- a fresh process computing the 5,000-word evolution, with an empty and with a populated
  NUMBA_CACHE_DIR.
Medians of ``--reps`` repetitions for warm numbers; fresh-process rows run once each (they
cost minutes). Prints a markdown table.

    python bench/bench_engine.py [--reps 3] [--store DIR --run RUN_ID]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from shared_data import load_dataset  # noqa: E402


def make_run(store) -> str:
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    config = TrainConfig(init="glove", epochs=10, seed=0)
    return train_run(load_dataset(), config, store).run_id


def clear_views(store, run_id: str) -> None:
    shutil.rmtree(store.cache_dir(run_id))
    store.update_info(run_id, views="pending")


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def warm_rows(store, run_id: str, reps: int) -> list[tuple[str, float]]:
    from core.analysis import umap_runtime
    from core.analysis.projection_config import ProjectionConfig
    from core.runs import views as runviews
    from core.runs.projections import project_run

    umap_runtime.configure_numba_cache()
    warm = timed(umap_runtime.warm_up)
    rows = [("warm_up() in this process (once, at server start)", warm)]
    finals: dict[str, list[float]] = {}
    five, pca = [], []
    for _ in range(reps):
        clear_views(store, run_id)
        for step, secs in runviews.finalize(store, run_id).items():
            finals.setdefault(step, []).append(secs)
        five.append(timed(lambda: project_run(store, run_id, ProjectionConfig(
            n_words=5000), max_unseen=0)))
        pca.append(timed(lambda: runviews.evolution(store, run_id, "pca", cached_only=False)))
    for step, values in finals.items():
        rows.append((f"warm: finalize step '{step}' (2,000 + 500 unseen words)",
                     statistics.median(values)))
    rows.append(("warm: evolution UMAP, 5,000 words x 11 snapshots", statistics.median(five)))
    rows.append(("PCA evolution, 2,500 words x 11 snapshots", statistics.median(pca)))
    return rows


FRESH = """
import sys, time
t0 = time.perf_counter()
from core.analysis import projection as project, umap_runtime
umap_runtime.configure_numba_cache(sys.argv[3])
from core.store.runstore import RunStore
from core.runs.projections import project_run
project_run(RunStore(sys.argv[1]), sys.argv[2], project.ProjectionConfig(n_words=5000), max_unseen=0)
print(time.perf_counter() - t0)
"""


def fresh_row(store, run_id: str, cache: Path, label: str) -> tuple[str, float]:
    shutil.rmtree(store.cache_dir(run_id) / "projection", ignore_errors=True)
    out = subprocess.run([sys.executable, "-c", FRESH, str(store.root), run_id, str(cache)],
                         cwd=REPO, capture_output=True, text=True, check=True)
    return label, float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from core.store.runstore import RunStore

    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--store")
    parser.add_argument("--run")
    args = parser.parse_args()
    store = RunStore(args.store or tempfile.mkdtemp(prefix="bench-engine-"))
    run_id = args.run or make_run(store)
    rows = warm_rows(store, run_id, args.reps)
    empty = Path(tempfile.mkdtemp(prefix="numba-empty-"))
    rows.append(fresh_row(store, run_id, empty, "fresh process, empty NUMBA_CACHE_DIR, 5,000 words"))
    rows.append(fresh_row(store, run_id, empty, "fresh process, populated NUMBA_CACHE_DIR, 5,000 words"))
    print(f"run {run_id}: {json.dumps(store.get_run(run_id).info.get('views_seconds'))}")
    print("| step | seconds |\n|---|---|")
    for label, secs in rows:
        print(f"| {label} | {secs:.1f} |")


if __name__ == "__main__":
    main()
