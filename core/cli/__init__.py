"""The command line, ``python -m core SUBCOMMAND``: one module per concern, each with its
``COMMANDS``; ``SUBCOMMANDS`` below is the explicit list, so importing any module of this
package yields every subcommand.

Progress goes to stderr; the last line of stdout is one JSON object (or one JSON line per run
for ``runs``). A user error exits with code 2 and a single line on stderr.

May import: everything in ``core`` (the top layer); heavy modules only inside the commands.
"""
from __future__ import annotations

import argparse
import sys

from core.cli import engine, experiments, training, views
from core.cli.common import Command, store_parent
from core.errors import ExplorerError

SUBCOMMANDS: tuple[Command, ...] = (*training.COMMANDS, *engine.COMMANDS, *views.COMMANDS,
                                    *experiments.COMMANDS)


class _Parser(argparse.ArgumentParser):
    """argparse prints usage plus the error; we promise one line on stderr and exit 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="Embedding Explorer command line")
    subs = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    parent = store_parent()
    for cmd in SUBCOMMANDS:
        sub = subs.add_parser(cmd.name, help=cmd.help, description=cmd.help,
                              parents=[parent] if cmd.store else [])
        cmd.configure(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse exits with 2 on bad usage
    run = {cmd.name: cmd.run for cmd in SUBCOMMANDS}[args.command]
    try:
        return run(args)
    except ExplorerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # config validation: names the field and its range
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
