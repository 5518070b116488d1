"""The CLI's subcommands. Each is a small function registered with ``core.cli.command``."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.cli import ProgressBar, command, default_store, emit_json


def _configure_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="labelled text: CSV, TSV, JSONL, Parquet, XLSX or fastText format")
    p.add_argument("--text-column")
    p.add_argument("--label-column")
    p.add_argument("--init", default="random", help="random|glove|word2vec|PATH to a vector file")
    p.add_argument("--w2v-algorithm", default="skipgram", choices=["skipgram", "cbow"])
    p.add_argument("--freeze", action="store_true", help="keep the embedding fixed")
    p.add_argument("--arch", default="bag", choices=["bag", "cnn", "gru"])
    p.add_argument("--dim", type=int, default=50)
    p.add_argument("--epochs", type=int, default=5)
    # Same as TrainConfig's defaults (see there for why 1024 / 0.05); literals, so that the
    # parser does not import torch.
    p.add_argument("--batch-size", type=int, default=None,
                   help="rows per update (default: automatic, ~20 updates per epoch, <= 1024)")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--train-size", type=int)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--snapshot-every", type=int, default=0, help="also snapshot every N steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-count", type=int, default=1)
    p.add_argument("--max-vocab", type=int, default=50_000)
    p.add_argument("--store", default=default_store())
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def train_config_from_args(args: argparse.Namespace):
    from core.train import TrainConfig

    return TrainConfig(arch=args.arch, dim=args.dim, init=args.init,
                       w2v_algorithm=args.w2v_algorithm, freeze=args.freeze,
                       epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       train_size=args.train_size, val_fraction=args.val_fraction,
                       snapshot_every=args.snapshot_every, seed=args.seed,
                       min_count=args.min_count, max_vocab=args.max_vocab)


@command("train", _configure_train, "train a classifier and snapshot its embedding layer")
def train(args: argparse.Namespace) -> int:
    from core.data import LoadConfig, load_dataset
    from core.store import RunStore
    from core.train import train_run

    config = train_config_from_args(args)
    dataset = load_dataset(Path(args.data), config=LoadConfig(
        text_column=args.text_column, label_column=args.label_column))
    store = RunStore(args.store)
    summary = train_run(dataset, config, store, callback=None if args.quiet else ProgressBar())
    emit_json(summary.to_dict())
    return 0 if summary.status == "done" else 1


def _configure_runs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=default_store())


@command("runs", _configure_runs, "list the runs in the store as JSON lines")
def runs(args: argparse.Namespace) -> int:
    from core.store import RunStore

    for run in RunStore(args.store).list_runs():
        acc = [e["val_accuracy"] for e in run.epochs]
        emit_json({"run_id": run.run_id, "status": run.status, "created": run.created,
                   "init": run.config.get("init"), "arch": run.config.get("arch"),
                   "epochs": len(run.epochs), "snapshots": run.n_snapshots,
                   "val_accuracy": acc[-1] if acc else None, "error": run.error})
    return 0


def _configure_worker(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id")
    p.add_argument("--store", default=default_store())
    p.add_argument("--max-jobs", type=int, default=1)


@command("worker", _configure_worker, "(internal) train a queued run; started by the dashboard")
def worker(args: argparse.Namespace) -> int:
    from core.jobs import run_worker
    from core.store import RunStore

    status = run_worker(RunStore(args.store), args.run_id, max_jobs=args.max_jobs)
    emit_json({"run_id": args.run_id, "status": status})
    return 0 if status in ("done", "cancelled") else 1


def _configure_engine(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=default_store())
    p.add_argument("--poll", type=float, default=0.5)
    p.add_argument("--no-warm", action="store_true", help="skip the UMAP warm-up (PCA views)")
    p.add_argument("--parent", type=int, help="stop when this process (the server) ends")


@command("engine", _configure_engine,
         "(internal) keep every run's projections and comparisons computed; started by the dashboard")
def engine(args: argparse.Namespace) -> int:
    from core.project import configure_numba_cache

    configure_numba_cache()  # before umap is imported, so compiled code is reused
    from core.engine import parent_watch, run_engine
    from core.store import RunStore

    served = run_engine(RunStore(args.store), poll=args.poll, warm=not args.no_warm,
                        should_stop=parent_watch(args.parent))
    emit_json({"engine": "stopped" if served else "already running"})
    return 0


# Feature modules register their own subcommands.
import core.cli_engine  # noqa: E402,F401
import core.cli_experiments  # noqa: E402,F401
