"""``experiment DATA --sizes 100,500,all --inits random,glove --seeds 3``: few-shot learning
curves. Progress on stderr, one line per run; the last stdout line is a JSON object with mean
and std validation accuracy per (init, size), and the same for the unseen-key-word documents,
and the paired gain of each init over random per size (``gains``, ``unseen_gains``: mean of
the per-seed differences as a fraction, its 95 % interval, the seeds counted) and how the
fixed validation set was split into the part choosing each run's epoch and the part scoring it
(``validation``: ``n_stop``, ``n_report``)."""
from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from core.cli.common import Command, add_config_options, emit_json
from core.cli.training import add_data_options, load_data
from core.common.checks import default_of
from core.training.config import (ARCHS, BUILTIN_INITS, SNAPSHOT_MODES, ExperimentConfig,
                                  TrainConfig)

DEFAULT = ExperimentConfig()
TRAIN_OPTIONS = {"epochs": "epochs per run", "batch_size": "rows per update",
                 "lr": "learning rate", "val_fraction": "share held out for validation"}
SUMMARY_FIELDS = ("init", "size", "n_train", "runs", "acc_mean", "acc_std", "acc_low",
                  "acc_high", "unseen_mean", "unseen_std", "unseen_low", "unseen_high",
                  "n_unseen_mean", "unseen_any_mean")


def _configure(p: argparse.ArgumentParser) -> None:
    add_data_options(p)
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT.sizes)),
                   help="comma-separated training-set sizes; 'all' = every training row")
    p.add_argument("--inits", default=",".join(DEFAULT.inits),
                   help=f"comma-separated: {', '.join(BUILTIN_INITS)} or PATH to a vector file")
    p.add_argument("--seeds", type=int, default=DEFAULT.seeds,
                   help="train seeds per (init, size)")
    p.add_argument("--split-seed", type=int, default=default_of(ExperimentConfig, "split_seed"),
                   help="seed of the validation split")
    p.add_argument("--report-fraction", type=float,
                   default=default_of(ExperimentConfig, "report_fraction"),
                   help="share of the validation set held apart to score each run's chosen "
                        "epoch (the rest chooses it; 0: the same texts do both)")
    p.add_argument("--arch", default=DEFAULT.train.arch, choices=ARCHS)
    add_config_options(p, TrainConfig, TRAIN_OPTIONS, defaults=DEFAULT.train)
    p.add_argument("--snapshots", default=DEFAULT.train.snapshots, choices=SNAPSHOT_MODES,
                   help="keep a snapshot per epoch (all) or only the first and last (ends)")
    p.add_argument("--resume", metavar="ID", help="continue a stored experiment")
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
        sys.stderr.write(f"val_acc at best epoch {row['best_epoch']} "
                         f"{row['best_epoch_accuracy']:.4f} unseen {row['unseen_accuracy']:.4f} "
                         f"(n={row['n_unseen']}) {row['train_seconds']:.1f}s\n")
    elif event.kind == "end":
        sys.stderr.write(f"experiment {event.experiment_id}: {event.data['status']}\n")
    sys.stderr.flush()


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    train = TrainConfig(**{**DEFAULT.train.to_dict(), "arch": args.arch,
                           "snapshots": args.snapshots,
                           **{name: getattr(args, name) for name in TRAIN_OPTIONS}})
    return ExperimentConfig(sizes=parse_sizes(args.sizes),
                            inits=[i.strip() for i in args.inits.split(",")], seeds=args.seeds,
                            split_seed=args.split_seed, train=train,
                            report_fraction=args.report_fraction)


def experiment(args: argparse.Namespace) -> int:
    from core.store.runstore import RunStore
    from core.training.experiments import load_experiment, run_learning_curve, summarize
    from core.training.gains import gains_records, paired_gains

    from core.cli.datasets import register_file
    from core.store.datasets import job_info

    config = config_from_args(args)
    dataset = load_data(args)
    store = RunStore(args.store)
    record = register_file(store, dataset, args)  # the file becomes a data set of the store
    frame = run_learning_curve(dataset, config, store, experiment_id=args.resume,
                               callback=None if args.quiet else _progress,
                               info=job_info(dataset, record.name))
    exp = load_experiment(store, frame.attrs["experiment_id"])
    summary = [{k: _plain(row[k]) for k in SUMMARY_FIELDS}
               for row in summarize(frame).to_dict("records")]
    gains = {key: gains_records(paired_gains(frame, metric).drop(columns="metric"))
             for key, metric in (("gains", "accuracy"), ("unseen_gains", "unseen"))}
    info = store.get_job(exp.experiment_id, "experiment").info
    validation = {k: info.get(k) for k in ("n_val", "n_stop", "n_report")}
    emit_json({"experiment_id": exp.experiment_id, "status": exp.status, "runs": exp.done,
               "total": exp.total, "validation": validation, "summary": summary, **gains})
    return 0 if exp.status == "done" else 1


COMMANDS = (
    Command("experiment", "few-shot learning curves: every (init, size, seed) on one "
            "validation set", _configure, experiment),
)
