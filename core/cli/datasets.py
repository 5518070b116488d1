"""``datasets``: the data sets kept in the run store (``core.store.datasets``), one JSON line
each, with how many runs and experiments trained on it; ``datasets add PATH``: register a
file on the server of any size, streamed into a memory-mapped corpus
(``core.store.streamed``); and the helper with which ``train`` registers the file it is
given."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.common import Command, emit_json


def register_file(store, dataset, args: argparse.Namespace):
    """Keep the file ``train``/``experiment`` read in the store as a data set (its record);
    the load options other than the columns are recorded so it reads the same again."""
    from core.data.dataset import LoadConfig
    from core.store import datasets

    options = {"max_text_tokens": args.max_text_tokens,
               "require_labels": getattr(args, "objective", "classify") == "classify"}
    options = {k: v for k, v in options.items() if v != getattr(LoadConfig(), k)}
    path = Path(args.data)
    return datasets.register(store, dataset, path.read_bytes(), path.name,
                             load_options=options)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=("list", "add"), default="list")
    parser.add_argument("path", nargs="?", help="add: the file (Parquet, CSV, TSV, JSONL)")
    parser.add_argument("--name", help="add: display name (default: the file's name)")
    parser.add_argument("--text-column", help="add: text column (default: detected)")
    parser.add_argument("--label-column", help="add: label column (default: detected)")


def add_command(args: argparse.Namespace) -> int:
    from core.data.streaming import StreamConfig
    from core.errors import DataError
    from core.store import streamed
    from core.store.runstore import RunStore

    if not args.path:
        raise DataError("datasets add needs the path of a file on this machine")
    config = StreamConfig(text_column=args.text_column, label_column=args.label_column)
    record = streamed.add(RunStore(args.store), args.path, name=args.name, config=config)
    emit_json({**record.to_dict(), "streamed": True})
    return 0


def list_command(args: argparse.Namespace) -> int:
    from core.store import datasets
    from core.store.runstore import RunStore

    if args.action == "add":
        return add_command(args)
    store = RunStore(args.store)
    counts = datasets.usage(store)
    for record in datasets.list_datasets(store):
        emit_json({**record.to_dict(),
                   **counts.get(record.dataset_id, {"runs": 0, "experiments": 0})})
    from core.store import streamed

    for record in streamed.list_streamed(store):
        emit_json({**record.to_dict(), "streamed": True})
    return 0


COMMANDS = (
    Command("datasets", "list the data sets kept in the store as JSON lines (newest first); "
            "'datasets add PATH' registers a large file on this machine, streamed",
            _configure, list_command),
)
