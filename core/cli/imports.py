"""``import``: saved embedding tables (safetensors, Keras .weights.h5 / .keras, TensorBoard
projector TSV, word2vec/GloVe text) as one run, each file one snapshot in the order given."""
from __future__ import annotations

import argparse

from core.cli.common import Command, emit_json


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="weight files, one snapshot each, in training order")
    p.add_argument("--vocab", metavar="VOCAB.txt",
                   help="one token per line, line i = row i (a projector metadata.tsv too); "
                        "not needed when the files hold their words")
    p.add_argument("--tensor", metavar="NAME",
                   help="the embedding tensor's name (default: the only 2-D tensor, else the "
                        "one whose name contains 'embedding')")
    p.add_argument("--name", default="", help="the run's display name (default: the first "
                                              "file's name)")


def import_run(args: argparse.Namespace) -> int:
    from core.track.importing import import_files

    emit_json(import_files(args.store, args.files, vocab=args.vocab, tensor=args.tensor,
                           name=args.name))
    return 0


COMMANDS = (
    Command("import", "import saved embedding weights (safetensors, Keras .weights.h5/.keras, "
            "projector vectors.tsv, word2vec/GloVe text) as a run, one snapshot per file",
            _configure, import_run),
)
