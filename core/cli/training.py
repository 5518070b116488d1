"""``train`` a run, list ``runs``, run a queued job as its ``worker``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli.common import Command, ProgressBar, add_config_options, emit_json
from core.training.config import (ARCHS, DEVICES, OBJECTIVES, W2V_ALGORITHMS,
                                  DistributedConfig, TrainConfig)

TRAIN_OPTIONS = {
    "init": "random|glove|word2vec|run:RUN_ID (a finished run's table: its best epoch, else "
            "its last snapshot)|PATH to a vector file", "freeze": "keep the embedding fixed",
    "dim": "vector size (pretrained vectors fix it)", "epochs": "passes over the training set",
    "batch_size": "rows per update (automatic: ~20 updates per epoch, <= 1024)",
    "lr": "learning rate", "train_size": "use at most this many training texts (default: all)",
    "val_fraction": "share of the texts held out for validation",
    "snapshot_every": "also snapshot every N steps", "seed": "seed of the split and the init",
    "min_count": "drop words seen fewer times", "max_vocab": "keep at most this many words",
    "early_stopping": "stop when the validation loss has not improved for --patience epochs",
    "patience": "epochs without improvement before early stopping",
    "min_delta": "smallest drop of the validation loss that counts as an improvement",
}

DISTRIBUTED_OPTIONS = {
    "processes": "processes training the run together (torch.distributed; under torchrun "
                 "its world size counts instead)",
    "timeout": "seconds a process waits for the others at a step",
}


def add_data_options(p: argparse.ArgumentParser) -> None:
    """The labelled-text file and its column choice (shared by train and experiment)."""
    from core.data.dataset import LoadConfig

    p.add_argument("data", help="labelled text: CSV, TSV, JSONL, Parquet, XLSX or fastText format")
    p.add_argument("--text-column")
    p.add_argument("--label-column")
    add_config_options(p, LoadConfig, {"max_text_tokens": "words kept per text; longer "
                                                          "texts are cut and counted"})


def load_data(args: argparse.Namespace):
    """The data set; a line on stderr says how many texts were cut, and at what length."""
    from core.data.loading import LoadConfig, load_dataset

    config = LoadConfig(text_column=args.text_column, label_column=args.label_column,
                        max_text_tokens=args.max_text_tokens,  # word2vec needs no labels
                        require_labels=getattr(args, "objective", "classify") == "classify")
    dataset = load_dataset(Path(args.data), config=config)
    if dataset.report.n_truncated:
        sys.stderr.write(f"note: {dataset.report.n_truncated:,} texts were longer than "
                         f"{config.max_text_tokens:,} words and were cut there "
                         "(--max-text-tokens)\n")
    return dataset


def _configure_train(p: argparse.ArgumentParser) -> None:
    add_data_options(p)
    p.add_argument("--arch", default=TrainConfig.arch, choices=ARCHS)
    p.add_argument("--objective", default=TrainConfig.objective, choices=OBJECTIVES,
                   help="what trains the table: the classifier (classify) or word2vec "
                        "(skipgram|cbow, labels optional)")
    p.add_argument("--w2v-algorithm", default=TrainConfig.w2v_algorithm, choices=W2V_ALGORITHMS)
    add_config_options(p, TrainConfig, TRAIN_OPTIONS)
    add_config_options(p, DistributedConfig, DISTRIBUTED_OPTIONS)
    p.add_argument("--device", default=DistributedConfig.device, choices=DEVICES,
                   help="auto: CUDA when torch sees one, else the CPU")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(arch=args.arch, w2v_algorithm=args.w2v_algorithm,
                       objective=getattr(args, "objective", TrainConfig.objective),
                       **{name: getattr(args, name) for name in TRAIN_OPTIONS})


def _with_size_warning(callback):
    """The progress callback, plus one stderr line when the run is above the store's
    per-run disk budget (the trainer puts the warning in its start event)."""
    def on_event(event) -> None:
        if event.kind == "start" and event.data.get("size_warning"):
            sys.stderr.write(f"warning: {event.data['size_warning']}\n")
        if callback is not None:
            callback(event)
    return on_event


def train(args: argparse.Namespace) -> int:
    from core.training import distributed

    config = train_config_from_args(args)
    dconfig = DistributedConfig(processes=args.processes, device=args.device,
                                timeout=args.timeout)
    distributed.resolve_device(dconfig.device)  # refuses cuda where torch sees none
    several = dconfig.processes > 1 or distributed.torchrun_ranks() is not None
    if several and config.objective != "classify":
        from core.errors import ExplorerError
        raise ExplorerError(f"processes: several processes train the classifier only, not "
                            f"objective {config.objective!r}")
    if (distributed.torchrun_ranks() or (0, 1))[0] > 0:  # torchrun's rank 1..N-1: no writes
        distributed.follow_environment(dconfig)
        return 0
    try:
        with distributed.ranks(dconfig) as group:
            return _train_leader(args, config, group)
    except distributed.RankFailed as exc:  # the run is recorded failed with this line
        sys.stderr.write(f"error: {exc}\n")
        return 1


def _train_leader(args: argparse.Namespace, config: TrainConfig, group) -> int:
    """The process that writes the run: the only one, or rank 0 of ``group``."""
    from core.jobs.process import sigterm_stops
    from core.store.runstore import RunStore
    from core.training.trainer import train_run

    from core.cli.datasets import register_file
    from core.store.datasets import job_info

    store = RunStore(args.store)
    if (streamed := _streamed(store, args.data)) is not None:
        return _train_streamed(args, store, streamed, config, group)
    dataset = load_data(args)
    record = register_file(store, dataset, args)  # the file becomes a data set of the store
    # the run's row exists (and names its data set) before training starts; this process
    # holds its writer lock from here on
    run_id = store.create_run(config.to_dict(), dataset.fingerprint(), status="running",
                              info=job_info(dataset, record.name))
    # SIGTERM (a shutdown, `kill`) ends the run "cancelled" after the current batch.
    with sigterm_stops() as stopped:
        summary = train_run(dataset, config, store, run_id=run_id, should_stop=stopped,
                            callback=_with_size_warning(None if args.quiet else ProgressBar()),
                            group=group)
    from core.store.headline import headline  # the epoch the Runs list names too

    emit_json({**summary.to_dict(), "headline": headline(store.get_run(run_id))})
    return 0 if summary.status == "done" else 1


def _streamed(store, ref: str):
    """The streamed data set ``ref`` names (its id or registered path), else None."""
    from core.store.streamed import resolve
    return resolve(store, ref)


def _train_streamed(args: argparse.Namespace, store, record, config: TrainConfig,
                    group=None) -> int:
    """Train on a streamed data set: batches are read from its memory-mapped corpus."""
    from core.jobs.process import sigterm_stops
    from core.training.mapped_prep import train_streamed

    with sigterm_stops() as stopped:
        summary = train_streamed(store, record.dataset_id, config, should_stop=stopped,
                                 group=group,
                                 callback=_with_size_warning(None if args.quiet
                                                             else ProgressBar()))
    emit_json(summary.to_dict())
    return 0 if summary.status == "done" else 1


def runs(args: argparse.Namespace) -> int:
    from core.store.runstore import RunStore

    from core.store.headline import headline

    # list_runs marks runs whose writing process died as failed (interrupted) first
    for run in RunStore(args.store).list_runs():
        # every metric may be missing (a tracked run fitted without validation data)
        acc = [e["val_accuracy"] for e in run.epochs if e.get("val_accuracy") is not None]
        emit_json({"run_id": run.run_id, "status": run.status, "created": run.created,
                   "name": run.info.get("name"), "dataset_id": run.info.get("dataset_id"),
                   "dataset_name": run.info.get("dataset_name"),
                   "init": run.config.get("init"), "arch": run.config.get("arch"),
                   "objective": run.config.get("objective", "classify"),
                   "epochs": len(run.epochs), "snapshots": run.n_snapshots,
                   "val_accuracy": acc[-1] if acc else None, "error": run.error,
                   "pid": run.pid, "host": run.host, "started": run.started,
                   "headline": headline(run)})
    return 0


def _configure_worker(p: argparse.ArgumentParser) -> None:
    p.add_argument("job_id", nargs="?",
                   help="run this one job (default: run the queued jobs, oldest first)")
    p.add_argument("--max-jobs", type=int, default=1)
    p.add_argument("--slot-fd", type=int, help="(internal) the slot lock this worker inherits")


def worker(args: argparse.Namespace) -> int:
    import os

    from core.jobs.process import sigterm_stops
    from core.jobs.workers import run_job, serve
    from core.store.runstore import RunStore

    store = RunStore(args.store)
    with sigterm_stops() as stopped:  # SIGTERM: the current job ends cancelled, no next one
        if args.job_id:
            kind, status = run_job(store, args.job_id, max_jobs=args.max_jobs,
                                   should_stop=stopped)
            done = [(args.job_id, kind, status)]
        else:
            slot_fh = os.fdopen(args.slot_fd, "a") if args.slot_fd is not None else None
            done = serve(store, args.max_jobs, slot_fh, should_stop=stopped,
                         own_log=slot_fh is not None)
    for job_id, kind, status in done:
        emit_json({"job_id": job_id, "kind": kind, "status": status})
    return 0 if all(status in ("done", "cancelled") for _, _, status in done) else 1


COMMANDS = (
    Command("train", "train a classifier and snapshot its embedding layer", _configure_train,
            train),
    Command("runs", "list the runs in the store as JSON lines", lambda p: None, runs),
    Command("worker", "(internal) run the queued training runs and experiments, oldest "
            "first; started by the dashboard", _configure_worker, worker),
)
