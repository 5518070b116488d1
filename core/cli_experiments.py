"""CLI: ``python -m core experiment DATA --sizes 100,500,all --inits random,glove --seeds 3``.

Progress on stderr, one line per run; the last stdout line is a JSON object with mean and std
validation accuracy per (init, size), and the same for the unseen-key-word documents.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from core.cli import command, default_store, emit_json


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="labelled text: CSV, TSV, JSONL, Parquet, XLSX or fastText format")
    p.add_argument("--text-column")
    p.add_argument("--label-column")
    p.add_argument("--sizes", default="100,500,all",
                   help="comma-separated training-set sizes; 'all' = every training row")
    p.add_argument("--inits", default="random,glove",
                   help="comma-separated: random, glove, glove-frozen, word2vec, word2vec-cbow "
                        "or PATH to a vector file")
    p.add_argument("--seeds", type=int, default=3, help="train seeds per (init, size)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the validation split")
    p.add_argument("--arch", default="bag", choices=["bag", "cnn", "gru"])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--snapshots", default="all", choices=["all", "ends"],
                   help="keep a snapshot per epoch (all) or only the first and last (ends)")
    p.add_argument("--resume", metavar="ID", help="continue a stored experiment")
    p.add_argument("--store", default=default_store())
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def parse_sizes(text: str) -> list[int | str]:
    """'100,500,all' -> [100, 500, 'all']; anything else is a ValueError naming the field."""
    out: list[int | str] = []
    for part in (p.strip() for p in text.split(",")):
        if part == "all":
            out.append(part)
        elif part.isdigit():
            out.append(int(part))
        else:
            raise ValueError(f"sizes: {part!r} is neither a whole number nor 'all'")
    return out


def _progress(event) -> None:
    if event.kind == "run_start":
        sys.stderr.write(f"[{event.index}/{event.total}] {event.init} size={event.size} "
                         f"seed={event.seed} ... ")
    elif event.kind == "run_end":
        row = event.data["row"]
        sys.stderr.write(f"val_acc {row['val_accuracy']:.4f} unseen {row['unseen_accuracy']:.4f} "
                         f"(n={row['n_unseen']}) {row['train_seconds']:.1f}s\n")
    elif event.kind == "end":
        sys.stderr.write(f"experiment {event.experiment_id}: {event.data['status']}\n")
    sys.stderr.flush()


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


SUMMARY_FIELDS = ("init", "size", "n_train", "runs", "acc_mean", "acc_std", "unseen_mean",
                  "unseen_std", "n_unseen_mean", "unseen_any_mean")


@command("experiment", _configure,
         "few-shot learning curves: every (init, size, seed) on one validation set")
def experiment(args: argparse.Namespace) -> int:
    from core.data import LoadConfig, load_dataset
    from core.experiments import (ExperimentConfig, load_experiment, run_learning_curve,
                                  summarize)
    from core.store import RunStore

    config = ExperimentConfig(
        sizes=parse_sizes(args.sizes), inits=[i.strip() for i in args.inits.split(",")],
        seeds=args.seeds, split_seed=args.split_seed, arch=args.arch, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, val_fraction=args.val_fraction,
        snapshots=args.snapshots)
    dataset = load_dataset(Path(args.data), config=LoadConfig(
        text_column=args.text_column, label_column=args.label_column))
    store = RunStore(args.store)
    frame = run_learning_curve(dataset, config, store, experiment_id=args.resume,
                               callback=None if args.quiet else _progress)
    exp = load_experiment(store, frame.attrs["experiment_id"])
    summary = [{k: _plain(row[k]) for k in SUMMARY_FIELDS}
               for row in summarize(frame).to_dict("records")]
    emit_json({"experiment_id": exp.experiment_id, "status": exp.status, "runs": exp.done,
               "total": exp.total, "summary": summary})
    return 0 if exp.status == "done" else 1


def _configure_worker(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment_id")
    p.add_argument("--store", default=default_store())
    p.add_argument("--max-jobs", type=int, default=1)


@command("experiment-worker", _configure_worker,
         "(internal) run a queued experiment; started by the dashboard")
def experiment_worker(args: argparse.Namespace) -> int:
    from core.experiment_jobs import run_experiment_worker
    from core.store import RunStore

    status = run_experiment_worker(RunStore(args.store), args.experiment_id,
                                   max_jobs=args.max_jobs)
    emit_json({"experiment_id": args.experiment_id, "status": status})
    return 0 if status in ("done", "cancelled") else 1
