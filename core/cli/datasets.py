"""``datasets``: the data sets kept in the run store (``core.store.datasets``), one JSON line
each, with how many runs and experiments trained on it; and the helper with which ``train``
registers the file it is given."""
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


def list_command(args: argparse.Namespace) -> int:
    from core.store import datasets
    from core.store.runstore import RunStore

    store = RunStore(args.store)
    counts = datasets.usage(store)
    for record in datasets.list_datasets(store):
        emit_json({**record.to_dict(),
                   **counts.get(record.dataset_id, {"runs": 0, "experiments": 0})})
    return 0


COMMANDS = (
    Command("datasets", "list the data sets kept in the store as JSON lines (newest first)",
            lambda p: None, list_command),
)
