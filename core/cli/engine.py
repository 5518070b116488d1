"""``engine``: the long-lived projection process the dashboard starts for its store."""
from __future__ import annotations

import argparse

from core.cli.common import Command, emit_json
from core.runs.views import EVOLUTION_WORDS


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--poll", type=float, default=0.5)
    p.add_argument("--no-warm", action="store_true", help="skip the UMAP warm-up (PCA views)")
    p.add_argument("--parent", type=int, help="stop when this process (the server) ends")
    p.add_argument("--words", type=int, default=EVOLUTION_WORDS, dest="n_words",
                   help="most frequent training words in each run's evolution")


def engine(args: argparse.Namespace) -> int:
    from core.analysis.umap_runtime import configure_numba_cache

    configure_numba_cache()  # before umap is imported, so compiled code is reused
    from core.jobs.engine import run_engine
    from core.jobs.process import parent_watch
    from core.store.runstore import RunStore

    served = run_engine(RunStore(args.store), poll=args.poll, warm=not args.no_warm,
                        should_stop=parent_watch(args.parent), n_words=args.n_words)
    emit_json({"engine": "stopped" if served else "already running"})
    return 0


def warm(args: argparse.Namespace) -> int:
    from core.analysis.umap_runtime import configure_numba_cache, warm_up

    folder = configure_numba_cache()  # before umap is imported
    report = warm_up()
    emit_json({"numba_cache": str(folder), "seconds_import": round(report.seconds_import, 2),
               "seconds_fit": round(report.seconds_fit, 2)})
    return 0


COMMANDS = (
    Command("warm-up", "compile UMAP's numba code into the project's cache (make does this "
            "at install time, so a fresh server does not wait for it)", lambda p: None, warm,
            store=False),
    Command("engine", "(internal) keep every run's projections and comparisons computed; "
            "started by the dashboard", _configure, engine),
)
