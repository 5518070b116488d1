"""``engine``: the long-lived projection process the dashboard starts for its store."""
from __future__ import annotations

import argparse

from core.cli.common import Command, emit_json


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--poll", type=float, default=0.5)
    p.add_argument("--no-warm", action="store_true", help="skip the UMAP warm-up (PCA views)")
    p.add_argument("--parent", type=int, help="stop when this process (the server) ends")


def engine(args: argparse.Namespace) -> int:
    from core.analysis.projection import configure_numba_cache

    configure_numba_cache()  # before umap is imported, so compiled code is reused
    from core.jobs.engine import run_engine
    from core.jobs.process import parent_watch
    from core.store.runstore import RunStore

    served = run_engine(RunStore(args.store), poll=args.poll, warm=not args.no_warm,
                        should_stop=parent_watch(args.parent))
    emit_json({"engine": "stopped" if served else "already running"})
    return 0


COMMANDS = (
    Command("engine", "(internal) keep every run's projections and comparisons computed; "
            "started by the dashboard", _configure, engine),
)
