"""Saved weight files as one run, no training loop: each file one snapshot, in the order
given (``python -m core import``; the dashboard's import form calls the same function).

The words come from ``vocab`` (one token per line, line i = row i; a projector
``metadata.tsv`` too), else from the file itself (word2vec/GloVe text), else from the
``metadata.tsv`` beside a projector ``vectors.tsv``. Every file must hold a table of the same
shape, and the vocabulary must have one token per row. A refused import leaves nothing in
the store.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from core.errors import VectorsError
from core.store.disk import RunSize
from core.store.runstore import RunStore
from core.track.readers import Limits, Table, read_table, read_words
from core.track.run import TrackedRun, open_run
from core.track.vocabulary import vocabulary_tokens


def import_files(store: RunStore | str | Path, files: Sequence[str | Path],
                 vocab: str | Path | None = None, tensor: str | None = None, name: str = "",
                 display_names: Sequence[str] | None = None,
                 limits: Limits = Limits()) -> dict[str, Any]:
    """Import ``files`` as one run's snapshots; returns ``{run_id, snapshots, tensor, shape,
    files}``. ``display_names``: the names messages use (an upload's own names)."""
    store = store if isinstance(store, RunStore) else RunStore(store)
    paths = [Path(f) for f in files]
    if not paths:
        raise VectorsError("no files to import")
    names = list(display_names or [p.name for p in paths])
    first = read_table(paths[0], tensor, limits, names[0])
    tokens = _tokens(first, paths[0], names[0], vocab, limits)
    rows, dim = first.matrix.shape
    store.check_space(RunSize(rows=rows, dim=dim, snapshots=len(paths), docs=0, doc_dim=0))
    run = open_run(store, tokens, name=name or Path(names[0]).stem, source="import",
                   epochs=len(paths) - 1,
                   config={"files": names, "tensor": first.name, "dim": int(dim)})
    try:
        _add_all(run, first, paths, names, tensor, limits)
    except BaseException as exc:
        run.fail(exc)
        store.delete_run(run.run_id)  # refused as a whole: no half-imported run is left
        raise
    run.finish()
    return {"run_id": run.run_id, "snapshots": len(paths), "tensor": first.name,
            "shape": [int(rows), int(dim)], "files": names}


def _add_all(run: TrackedRun, first: Table, paths: list[Path], names: list[str],
             tensor: str | None, limits: Limits) -> None:
    """One snapshot per file, each file read only when its turn comes (memory: one table)."""
    table = first
    for i, (path, name) in enumerate(zip(paths, names)):
        if i:
            table = read_table(path, tensor, limits, name)
        if table.matrix.shape != first.matrix.shape:
            raise VectorsError(f"{name}: its table is {list(table.matrix.shape)}, but "
                               f"{names[0]}'s is {list(first.matrix.shape)}; every file must "
                               "hold a table of the same shape")
        if table.tokens is not None and first.tokens is not None and table.tokens != first.tokens:
            raise VectorsError(f"{name}: its words are not {names[0]}'s, row for row; every "
                               "file must hold the same words in the same order")
        run.add_snapshot(table.matrix, epoch=i, step=i)


def _tokens(first: Table, path: Path, name: str, vocab: str | Path | None,
            limits: Limits) -> list[str]:
    rows = len(first.matrix)
    if vocab is not None:
        vocab = Path(vocab)
        tokens = read_words(vocab, limits, metadata=vocab.suffix.lower() == ".tsv")
        where = vocab.name
    elif first.tokens is not None:
        tokens, where = first.tokens, name
    elif (path.parent / "metadata.tsv").is_file() and path.suffix.lower() == ".tsv":
        tokens = read_words(path.parent / "metadata.tsv", limits, metadata=True)
        where = "metadata.tsv"
    else:
        raise VectorsError(f"{name} holds no words: give the vocabulary (one token per line, "
                           "line i = row i) with --vocab")
    if len(tokens) != rows:
        raise VectorsError(f"the vocabulary {where} has {len(tokens):,} tokens but the table "
                           f"of {name} has {rows:,} rows; line i of the vocabulary must name "
                           "row i")
    return vocabulary_tokens(tokens, limits.max_words)
