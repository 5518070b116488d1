"""CLI subcommands of the projection and comparison engine: ``compare``, ``export``, ``project``.

Registered with ``core.cli.command`` when ``core.commands`` imports this module. Progress goes
to stderr; the last stdout line is one JSON object; user errors exit 2 via ``core.cli.main``.
"""
from __future__ import annotations

import argparse
import sys

from core.cli import command, default_store, emit_json


def _progress(label: str):
    def report(done: int, total: int) -> None:
        sys.stderr.write(f"\r{label}: snapshot {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return report


def _configure_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id")
    p.add_argument("--against", default="glove", help="glove | init | PATH to a vectors file")
    p.add_argument("--k", type=int, default=10, help="neighbours per word (1..100)")
    p.add_argument("--words", type=int, default=5000,
                   help="most frequent training words compared (10..200000)")
    p.add_argument("--store", default=default_store())


@command("compare", _configure_compare,
         "compare every snapshot of a run with GloVe, its init vectors or a vectors file")
def compare_cmd(args: argparse.Namespace) -> int:
    from core.runcompare import CompareConfig, compare_run
    from core.store import RunStore

    config = CompareConfig(against=args.against, k=args.k, n_words=args.words)
    result = compare_run(RunStore(args.store), args.run_id, config,
                         progress=_progress(f"compare {args.run_id}"))
    emit_json(result.summary())
    return 0


# Spelled out (equal to core.export.FORMATS, tested) so building the parser imports nothing heavy.
EXPORT_FORMATS = ("word2vec", "projector", "csv")


def _configure_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="fmt")
    p.add_argument("--out", required=True, help="folder to write into (created if missing)")
    p.add_argument("--snapshot", type=int, help="snapshot index (default: the last)")
    p.add_argument("--store", default=default_store())


@command("export", _configure_export,
         "export a snapshot's vectors: word2vec text, TensorBoard projector TSVs or a CSV")
def export_cmd(args: argparse.Namespace) -> int:
    from core.export import export_run
    from core.store import RunStore

    paths = export_run(RunStore(args.store), args.run_id, args.fmt, args.out, args.snapshot)
    emit_json({"run_id": args.run_id, "format": args.fmt, "files": [str(p) for p in paths]})
    return 0


def _configure_project(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id")
    p.add_argument("--method", default="umap", choices=["umap", "pca"])
    p.add_argument("--words", type=int, default=2000, help="words projected (10..50000)")
    p.add_argument("--word", action="append", default=[], dest="extra_words",
                   help="also project this word (repeatable)")
    p.add_argument("--store", default=default_store())


@command("project", _configure_project,
         "project every snapshot of a run to 2-D (stable across snapshots), cached")
def project_cmd(args: argparse.Namespace) -> int:
    from core import project
    from core.runcompare import project_run
    from core.store import RunStore

    config = project.ProjectionConfig(method=args.method, n_words=args.words)
    store = RunStore(args.store)
    store.get_run(args.run_id)  # an unknown run fails before umap is imported
    if args.method == "umap":
        project.configure_numba_cache()  # before umap's import, so compiled code is reused
        sys.stderr.write("projecting with UMAP (the first use compiles, which takes a while)\n")
    result = project_run(store, args.run_id, config, extra_words=args.extra_words)
    emit_json({"run_id": args.run_id, "method": result.method, "n_words": len(result.rows),
               "snapshots": [{"snapshot": i, "trustworthiness": t}
                             for i, t in enumerate(result.trust)],
               "seconds": round(result.seconds, 3)})
    return 0
