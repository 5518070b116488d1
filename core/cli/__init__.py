"""The command line, ``python -m core SUBCOMMAND``: one module per concern, each with its
``COMMANDS``; ``SUBCOMMANDS`` below is the explicit list, so importing any module of this
package yields every subcommand.

Progress goes to stderr; the last line of stdout is one JSON object (or one JSON line per run
for ``runs``). A user error exits with code 2 and a single line on stderr.

May import: everything in ``core`` (the top layer); heavy modules only inside the commands.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from core.cli import datasets, engine, experiments, imports, training, views
from core.cli.common import Command, store_parent

SUBCOMMANDS: tuple[Command, ...] = (*training.COMMANDS, *engine.COMMANDS, *views.COMMANDS,
                                    *experiments.COMMANDS, *datasets.COMMANDS,
                                    *imports.COMMANDS)


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
    except ValueError as exc:  # ExplorerError, and config validation naming field and range
        return _fail(str(exc))
    except sqlite3.DatabaseError as exc:  # a runs.sqlite that is damaged or not SQLite at all
        return _fail(f"the run store '{getattr(args, 'store', '')}' holds a database SQLite "
                     f"cannot use ({exc}); choose another --store or move runs.sqlite away")
    except OSError as exc:  # a path that is a file, unwritable, ...: the user's to fix
        return _fail(_os_problem(exc, getattr(args, "store", None)))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _fail(message: str, code: int = 2) -> int:
    """The one stderr line of a failed command (line breaks in quoted names are escaped)."""
    one_line = message.replace("\r", "\\r").replace("\n", "\\n")
    print(f"error: {one_line}", file=sys.stderr)
    return code


def _os_problem(exc: OSError, store: str | None) -> str:
    """What an OSError means for the user; a --store that is a file is the usual cause."""
    if store and Path(store).exists() and not Path(store).is_dir():
        return f"the run store '{store}' is a file, not a folder: give --store a folder"
    where = f": '{exc.filename}'" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"
