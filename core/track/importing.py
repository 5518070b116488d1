"""Saved weight files as one run, no training loop: each file one snapshot, ordered and
labelled by the number in its name when every name has one, else in the order given
(``core.track.ordering``; ``python -m core import``; the dashboard's import job,
``core.jobs.imports``, calls the same function in a worker process).

The words come from ``vocab`` (one token per line, line i = row i; a projector
``metadata.tsv`` too), else from the file itself (word2vec/GloVe text), else from the
``metadata.tsv`` beside a projector ``vectors.tsv``. Every file must hold a table of the same
shape, and the vocabulary must have one token per row. A refused import leaves nothing in
the store.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from core.errors import CancelledError, VectorsError
from core.store.disk import RunSize
from core.store.runstore import RunStore
from core.track.ordering import epoch_label, epoch_order
from core.track.readers import Limits, Table, read_table, read_words
from core.track.run import TrackedRun, open_run
from core.track.vocabulary import vocabulary_tokens


def import_files(store: RunStore | str | Path, files: Sequence[str | Path],
                 vocab: str | Path | None = None, tensor: str | None = None, name: str = "",
                 display_names: Sequence[str] | None = None, limits: Limits = Limits(),
                 on_file: Callable[[int, int], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Import ``files`` as one run's snapshots; returns ``{run_id, snapshots, tensor, shape,
    files, labels}`` (files in import order). ``display_names``: the names messages use (an
    upload's own names). ``on_file(done, total)`` after each file; ``should_stop``: polled
    between files (a stop ends in ``CancelledError`` and nothing stored)."""
    store = store if isinstance(store, RunStore) else RunStore(store)
    if not files:
        raise VectorsError("no files to import")
    given = list(display_names or [Path(f).name for f in files])
    order = epoch_order(given)
    paths = [Path(files[i]) for i, _ in order]
    names, epochs = [given[i] for i, _ in order], [e for _, e in order]
    first = read_table(paths[0], tensor, limits, names[0])
    tokens = _tokens(first, paths[0], names[0], vocab, limits)
    rows, dim = first.matrix.shape
    store.check_space(RunSize(rows=rows, dim=dim, snapshots=len(paths), docs=0, doc_dim=0))
    run = open_run(store, tokens, name=name or Path(names[0]).stem, source="import",
                   epochs=epochs[-1],
                   config={"files": names, "tensor": first.name, "dim": int(dim)})
    try:
        _add_all(run, first, paths, names, epochs, tensor, limits, on_file, should_stop)
    except BaseException as exc:
        run.fail(exc)
        store.delete_run(run.run_id)  # refused as a whole: no half-imported run is left
        raise
    run.finish()
    return {"run_id": run.run_id, "snapshots": len(paths), "tensor": first.name,
            "shape": [int(rows), int(dim)], "files": names,
            "labels": [epoch_label(e) for e in epochs]}


def _add_all(run: TrackedRun, first: Table, paths: list[Path], names: list[str],
             epochs: list[int], tensor: str | None, limits: Limits,
             on_file: Callable[[int, int], None] | None,
             should_stop: Callable[[], bool] | None) -> None:
    """One snapshot per file, each file read only when its turn comes (memory: one table)."""
    table = first
    for i, (path, name) in enumerate(zip(paths, names)):
        if should_stop is not None and should_stop():
            raise CancelledError("the import was cancelled")
        if i:
            table = read_table(path, tensor, limits, name)
        if table.matrix.shape != first.matrix.shape:
            raise VectorsError(f"{name}: its table is {list(table.matrix.shape)}, but "
                               f"{names[0]}'s is {list(first.matrix.shape)}; every file must "
                               "hold a table of the same shape")
        if table.tokens is not None and first.tokens is not None and table.tokens != first.tokens:
            raise VectorsError(f"{name}: its words are not {names[0]}'s, row for row; every "
                               "file must hold the same words in the same order")
        run.add_snapshot(table.matrix, epoch=epochs[i], step=i)
        if on_file is not None:
            on_file(i + 1, len(paths))


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
