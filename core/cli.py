"""Command line: ``python -m core train|runs|...``.

Progress goes to stderr; the last line of stdout is one JSON object (or one JSON line per run
for ``runs``). A user error exits with code 2 and a single line on stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable

from core.errors import ExplorerError

Command = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, Command] = {}


def command(name: str, configure: Callable[[argparse.ArgumentParser], None], help: str):
    """Register a subcommand; feature modules add theirs here without editing main()."""
    def wrap(fn: Command) -> Command:
        _COMMANDS[name] = fn
        _CONFIGURE[name] = (configure, help)
        return fn
    return wrap


_CONFIGURE: dict[str, tuple[Callable[[argparse.ArgumentParser], None], str]] = {}


def default_store() -> str:
    return os.environ.get("EXPLORER_STORE", "runs")


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=_json_default) + "\n")
    sys.stdout.flush()


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class ProgressBar:
    """A one-line progress bar on stderr, driven by TrainEvents."""

    def __init__(self, stream=sys.stderr, width: int = 30) -> None:
        self.stream, self.width, self.last = stream, width, 0.0

    def __call__(self, event) -> None:
        if event.kind == "batch":
            now = time.monotonic()
            if now - self.last < 0.1 and event.data["batch"] != event.data["n_batches"]:
                return
            self.last = now
            done = event.data["batch"] / event.data["n_batches"]
            bar = "#" * int(done * self.width)
            self.stream.write(f"\repoch {event.epoch} [{bar:<{self.width}}] "
                              f"{done:4.0%} loss {event.data['loss']:.4f}")
        elif event.kind == "epoch":
            self.stream.write(f"\repoch {event.epoch} val_acc {event.data['val_accuracy']:.4f} "
                              f"val_loss {event.data['val_loss']:.4f}{' ' * 20}\n")
        elif event.kind == "start":
            self.stream.write(f"run {event.run_id}: {event.data['n_train']} train / "
                              f"{event.data['n_val']} val, vocab {event.data['vocab_size']}\n")
        self.stream.flush()


class _Parser(argparse.ArgumentParser):
    """argparse prints usage plus the error; we promise one line on stderr and exit 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    import core.commands  # noqa: F401  (registers the subcommands)

    parser = _Parser(prog="python -m core", description="Embedding Explorer command line")
    subs = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (configure, help_text) in _CONFIGURE.items():
        sub = subs.add_parser(name, help=help_text, description=help_text)
        configure(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse exits with 2 on bad usage
    try:
        return _COMMANDS[args.command](args)
    except ExplorerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # config validation: names the field and its range
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
