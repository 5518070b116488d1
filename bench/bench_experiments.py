"""Few-shot learning curves on the clickbait headlines (../shared/data/clickbait).

Reads the two .gz files in place (nothing is copied into the repo), runs one learning-curve
experiment (sizes x inits x seeds, bag model) into a temporary store and prints the summary
table as Markdown plus the total wall time.

    .venv/bin/python bench/bench_experiments.py [--sizes 100,500,2000,all] [--inits random,glove]
        [--seeds 3] [--epochs 10] [--store DIR]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from shared_data import load_dataset  # noqa: E402


def markdown(summary, seconds: float) -> str:
    head = ("| init | size | n_train | val acc (mean ± std) | unseen-key-word acc | "
            "unseen docs (of val) | seen-doc acc | s/run |")
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in summary.to_dict("records"):
        lines.append(f"| {r['init']} | {r['size']} | {r['n_train']} | "
                     f"{r['acc_mean']:.3f} ± {r['acc_std']:.3f} | "
                     f"{r['unseen_mean']:.3f} ± {r['unseen_std']:.3f} | "
                     f"{r['n_unseen_mean']:.0f} | {r['seen_mean']:.3f} | "
                     f"{r['seconds_mean']:.1f} |")
    lines.append(f"\nTotal wall time: {seconds:.0f} s")
    return "\n".join(lines)


def main() -> None:
    from core.cli.experiments import parse_sizes
    from core.training.config import EXPERIMENT_TRAIN, ExperimentConfig
    from core.training.experiments import run_learning_curve, summarize
    from core.store.runstore import RunStore

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100,500,2000,all")
    p.add_argument("--inits", default="random,glove")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--store", help="keep the runs here (default: a temporary folder)")
    args = p.parse_args()
    train = replace(EXPERIMENT_TRAIN, epochs=args.epochs, snapshots="ends")
    config = ExperimentConfig(sizes=parse_sizes(args.sizes), inits=args.inits.split(","),
                              seeds=args.seeds, train=train)
    dataset = load_dataset()
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(args.store or tmp)

        def progress(event):
            if event.kind == "run_end":
                row = event.data["row"]
                print(f"[{event.index}/{event.total}] {event.init} {event.size} seed "
                      f"{event.seed}: {row['val_accuracy']:.4f} ({row['train_seconds']:.1f}s)",
                      file=sys.stderr, flush=True)

        t0 = time.perf_counter()
        results = run_learning_curve(dataset, config, store, callback=progress)
        seconds = time.perf_counter() - t0
    print(f"clickbait: {len(dataset)} headlines, validation {results['n_val'].iloc[0]}, "
          f"{len(results)} runs, epochs {config.train.epochs}, batch {config.train.batch_size}, "
          f"lr {config.train.lr}\n")
    print(markdown(summarize(results), seconds))


if __name__ == "__main__":
    main()
