"""``train`` a run, list ``runs``, run a queued job as its ``worker``."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.common import Command, ProgressBar, add_config_options, emit_json
from core.training.config import ARCHS, W2V_ALGORITHMS, TrainConfig

TRAIN_OPTIONS = {
    "init": "random|glove|word2vec|PATH to a vector file", "freeze": "keep the embedding fixed",
    "dim": "vector size (pretrained vectors fix it)", "epochs": "passes over the training set",
    "batch_size": "rows per update (automatic: ~20 updates per epoch, <= 1024)",
    "lr": "learning rate", "train_size": "use at most this many training texts (default: all)",
    "val_fraction": "share of the texts held out for validation",
    "snapshot_every": "also snapshot every N steps", "seed": "seed of the split and the init",
    "min_count": "drop words seen fewer times", "max_vocab": "keep at most this many words",
}


def add_data_options(p: argparse.ArgumentParser) -> None:
    """The labelled-text file and its column choice (shared by train and experiment)."""
    p.add_argument("data", help="labelled text: CSV, TSV, JSONL, Parquet, XLSX or fastText format")
    p.add_argument("--text-column")
    p.add_argument("--label-column")


def load_data(args: argparse.Namespace):
    from core.data.loading import LoadConfig, load_dataset

    return load_dataset(Path(args.data), config=LoadConfig(
        text_column=args.text_column, label_column=args.label_column))


def _configure_train(p: argparse.ArgumentParser) -> None:
    add_data_options(p)
    p.add_argument("--arch", default=TrainConfig.arch, choices=ARCHS)
    p.add_argument("--w2v-algorithm", default=TrainConfig.w2v_algorithm, choices=W2V_ALGORITHMS)
    add_config_options(p, TrainConfig, TRAIN_OPTIONS)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(arch=args.arch, w2v_algorithm=args.w2v_algorithm,
                       **{name: getattr(args, name) for name in TRAIN_OPTIONS})


def train(args: argparse.Namespace) -> int:
    from core.store.runstore import RunStore
    from core.training.trainer import train_run

    config = train_config_from_args(args)
    dataset = load_data(args)
    summary = train_run(dataset, config, RunStore(args.store),
                        callback=None if args.quiet else ProgressBar())
    emit_json(summary.to_dict())
    return 0 if summary.status == "done" else 1


def runs(args: argparse.Namespace) -> int:
    from core.store.runstore import RunStore

    for run in RunStore(args.store).list_runs():
        acc = [e["val_accuracy"] for e in run.epochs]
        emit_json({"run_id": run.run_id, "status": run.status, "created": run.created,
                   "init": run.config.get("init"), "arch": run.config.get("arch"),
                   "epochs": len(run.epochs), "snapshots": run.n_snapshots,
                   "val_accuracy": acc[-1] if acc else None, "error": run.error})
    return 0


def _configure_worker(p: argparse.ArgumentParser) -> None:
    p.add_argument("job_id")
    p.add_argument("--max-jobs", type=int, default=1)


def worker(args: argparse.Namespace) -> int:
    from core.jobs.workers import run_job
    from core.store.runstore import RunStore

    kind, status = run_job(RunStore(args.store), args.job_id, max_jobs=args.max_jobs)
    emit_json({"job_id": args.job_id, "kind": kind, "status": status})
    return 0 if status in ("done", "cancelled") else 1


COMMANDS = (
    Command("train", "train a classifier and snapshot its embedding layer", _configure_train,
            train),
    Command("runs", "list the runs in the store as JSON lines", lambda p: None, runs),
    Command("worker", "(internal) run a queued training run or experiment; started by the "
            "dashboard", _configure_worker, worker),
)
