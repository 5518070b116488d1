"""What the engine computes, on demand: ``compare`` a run with pretrained vectors, ``project``
its snapshots to 2-D, ``export`` a snapshot's vectors."""
from __future__ import annotations

import argparse
import sys

from core.analysis.projection_config import METHODS, ProjectionConfig
from core.cli.common import Command, add_config_options, emit_json, snapshot_progress
from core.common.checks import range_of
from core.runs.comparison import CompareConfig
from core.runs.export import FORMATS


def _configure_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id")
    add_config_options(p, CompareConfig, {
        "against": "glove | init | PATH to a vectors file", "k": "neighbours per word"})
    low, high = range_of(CompareConfig, "n_words")
    p.add_argument("--words", type=int, dest="n_words", default=CompareConfig.n_words,
                   help=f"most frequent training words compared ({low}..{high})")


def compare(args: argparse.Namespace) -> int:
    from core.runs.comparison import compare_run
    from core.store.runstore import RunStore

    config = CompareConfig(against=args.against, k=args.k, n_words=args.n_words)
    store = RunStore(args.store)
    result = compare_run(store, args.run_id, config,
                         progress=snapshot_progress(f"compare {args.run_id}"))
    summary = result.summary()
    _add_updates(store, args.run_id, result, summary)
    emit_json(summary)
    return 0


def _add_updates(store, run_id: str, result, summary: dict) -> None:
    """Per snapshot, over the words compared: how many an optimiser step had touched so far
    and the median number of such steps (issue 14); None for a run without counts. The
    compared words are the same in every snapshot: each interval's counts are read once."""
    import numpy as np

    from core.runs.updates import updates_per_frame

    row_of = {w: i for i, w in enumerate(store.load_vocab(run_id)["token"].astype(str))}
    words = result.words[0]["word"] if result.words else ()
    per_frame = updates_per_frame(store, run_id, [row_of[w] for w in words])
    if per_frame is None:
        summary["updates"] = None  # this run did not record which rows each step touched
        return
    summary["updates"] = [{"snapshot": row["snapshot"], "words_updated": int((c > 0).sum()),
                           "median_updates": float(np.median(c)) if len(c) else None}
                          for row, c in zip(summary["snapshots"], per_frame)]


def _configure_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id")
    p.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
    p.add_argument("--out", required=True, help="folder to write into (created if missing)")
    p.add_argument("--snapshot", type=int, help="snapshot index (default: the last)")
    p.add_argument("--force", action="store_true",
                   help="overwrite the files of an earlier export in the folder")


def export(args: argparse.Namespace) -> int:
    from core.runs.export import evolution_method, export_run
    from core.store.runstore import RunStore

    store = RunStore(args.store)
    paths = export_run(store, args.run_id, args.fmt, args.out, args.snapshot, force=args.force)
    out = {"run_id": args.run_id, "format": args.fmt, "files": [str(p) for p in paths]}
    if args.fmt == "coords":  # which layout the coordinates are
        out["method"] = evolution_method(store, args.run_id)
    emit_json(out)
    return 0


def _configure_project(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id")
    p.add_argument("--method", default=ProjectionConfig.method, choices=METHODS)
    low, high = range_of(ProjectionConfig, "n_words")
    p.add_argument("--words", type=int, dest="n_words", default=ProjectionConfig.n_words,
                   help=f"words projected ({low}..{high})")
    p.add_argument("--word", action="append", default=[], dest="extra_words",
                   help="also project this word (repeatable)")


def project(args: argparse.Namespace) -> int:
    from core.analysis import umap_runtime
    from core.analysis.faithfulness import trust_sample_size
    from core.runs.projections import project_run
    from core.store.runstore import RunStore

    config = ProjectionConfig(method=args.method, n_words=args.n_words)
    store = RunStore(args.store)
    store.get_run(args.run_id)  # an unknown run fails before umap is imported
    if args.method == "umap":
        umap_runtime.configure_numba_cache()  # before umap's import, so compiled code is reused
        sys.stderr.write("projecting with UMAP (the first use compiles, which takes a while)\n")
    result = project_run(store, args.run_id, config, extra_words=args.extra_words)
    previous = result.trust_previous or (None,) * len(result.trust)
    emit_json({"run_id": args.run_id, "method": result.method, "n_words": len(result.rows),
               # each trustworthiness is computed on this many of the words (a sample)
               "trust_sample": trust_sample_size(len(result.rows), config),
               "snapshots": [{"snapshot": i, "trustworthiness": t,
                              "trustworthiness_previous": None if p is None or p != p else p}
                             for i, (t, p) in enumerate(zip(result.trust, previous))],
               "seconds": round(result.seconds, 3)})
    return 0


COMMANDS = (
    Command("compare", "compare every snapshot of a run with GloVe, its init vectors or a "
            "vectors file", _configure_compare, compare),
    Command("export", "export a snapshot's vectors (word2vec text, TensorBoard projector TSVs, "
            "a word table CSV) or the evolution's 2-D coordinates (coords)", _configure_export,
            export),
    Command("project", "project every snapshot of a run to 2-D (stable across snapshots), "
            "cached", _configure_project, project),
)
