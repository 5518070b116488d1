"""A run written from outside the product's trainer: your own training loop (or saved weight
files) streamed into the run store, where it is an ordinary run (a ``jobs`` row of kind
``run`` whose config says ``"source"``): the engine projects it live, every view reads it.

    run = open_run("runs", vocabulary=tokens, name="my model", source="pytorch")
    with run:                       # an exception inside marks the run failed
        run.add_snapshot(table, epoch=0, step=0)
        ...
        run.check_cancel()          # between batches: the dashboard's "Cancel this run"
        run.add_snapshot(table, epoch=1, step=120, metrics={"val_accuracy": 0.81})

The process holds the run's writer lock (``RunStore.writing``) from ``open_run`` to
``finish``/``fail``/``cancel``: readers see it running, and mark it failed ("interrupted") if the
process dies without finishing it.

What the user did not give stays absent and the views say so: no per-word training counts
(``info["counts_known"]`` False: words are then shown in vocabulary order), no class counts
(``info["classes"]`` is only set with them), no documents or document vectors, no update
counts (contract A: ``snapshots/updates_<idx>`` only when given).
"""
from __future__ import annotations

import hashlib
import logging
import math
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from core.common.checks import check_choice
from core.data.text import SPECIALS, tokenize, vocab_frame
from core.errors import CancelledError, DataError, StoreError
from core.store.location import default_store
from core.store.names import check_name
from core.store.disk import RunSize
from core.store.runstore import RunStore
from core.track.vocabulary import counts_array, vocabulary_tokens
from core.vectors.pretrained import MAX_DIM

# A failed run's error is shown in lists and legends: its first line, bounded.
MAX_ERROR = 300


def one_line(text: str) -> str:
    """The first non-blank line of ``text``, at most ``MAX_ERROR`` characters."""
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line if len(line) <= MAX_ERROR else line[: MAX_ERROR - 1] + "…"


_log = logging.getLogger(__name__)
SOURCES = ("keras", "pytorch", "lightning", "import", "python")
# Keras's history names (and the usual Lightning ones) -> the product's epoch metric names
# (the curves read these).
_METRIC_NAMES = {"loss": "train_loss", "accuracy": "train_accuracy",
                 "val_acc": "val_accuracy", "train_acc": "train_accuracy",
                 "sparse_categorical_accuracy": "train_accuracy",
                 "val_sparse_categorical_accuracy": "val_accuracy"}


def open_run(store: RunStore | str | Path | None = None, vocabulary: Any = None, *,
             name: str = "", source: str = "python", counts: Any = None,
             class_counts: Any = None, classes: Sequence[str] | None = None,
             documents: Sequence[str] | None = None, labels: Sequence[Any] | None = None,
             pretrained: str | None = None, epochs: int | None = None,
             config: dict[str, Any] | None = None, layer: str | None = None,
             initial: Any = None) -> TrackedRun:
    """Create a running run in ``store`` (None: ``core.store.location.default_store()``,
    ``$EXPLORER_STORE`` or ``./runs``) for a model trained elsewhere; returns its writer.

    ``vocabulary``: tokens, a token -> row mapping or an object with ``get_vocabulary()``.
    ``name``: checked as every name is (``core.store.names``). ``counts``: per-row
    occurrences in the training texts; ``class_counts`` (rows x classes, with ``classes``
    naming the columns) the same per class; ``classes`` alone names the classes of
    ``labels``. ``documents``/``labels``: labelled texts whose vectors
    ``add_snapshot(docvecs=...)`` may record. ``pretrained``: "glove" or a word-vector file
    the words are compared with. ``epochs``: how many are planned (the progress bar).
    ``config``: the hyper-parameters worth keeping with the run (JSON values). ``layer``: the
    tracked layer's name, given in the run and in every message. ``initial``: the starting
    table, checked (shape, values) before anything is written and kept as snapshot 0.
    """
    tokens = vocabulary_tokens(vocabulary)
    check_choice("source", source, SOURCES)
    shown = check_name(name, "run") if str(name).strip() else f"{source} model"
    table = None if initial is None else check_table(initial, len(tokens), layer=layer)
    frame, info = _vocab_frame(tokens, counts, class_counts, classes, pretrained)
    names = info.get("classes") or ([str(c) for c in classes] if classes else None)
    docs = _docs_frame(documents, labels, names) if documents is not None else None
    cfg = {**(config or {}), "source": source, "init": pretrained or "unknown"}
    if epochs is not None:
        cfg["epochs"] = int(epochs)
    if layer:
        cfg["layer"] = str(layer)
    info.update(name=shown, vocab_size=len(tokens), n_docs=0 if docs is None else len(docs))
    if names and "classes" not in info:
        info["class_names"] = names  # no counts per class: named for the documents only
    fingerprint = hashlib.sha256("\n".join(tokens).encode()).hexdigest()
    store = store if isinstance(store, RunStore) else RunStore(
        default_store() if store is None else store)
    run = TrackedRun(store, cfg, fingerprint, info, frame, docs)
    _log.info("run %s (%s) is written to the store %s", run.run_id, shown,
              Path(store.root).resolve())
    if table is not None:
        try:
            run.add_snapshot(table, epoch=0, step=0)
        except BaseException as exc:  # a full disk: the run must not stay "running"
            run.fail(exc)
            raise
    return run


def check_table(matrix: Any, vocab_size: int, dim: int | None = None,
                layer: str | None = None) -> np.ndarray:
    """``matrix`` as float32 when it is a (``vocab_size``) x ``dim`` table of finite numbers
    (``dim`` None: any within 1..MAX_DIM); else ``DataError`` naming ``layer``."""
    table = np.asarray(matrix, dtype=np.float32)
    of = f" of layer '{layer}'" if layer else ""
    if table.ndim != 2 or len(table) != vocab_size:
        raise DataError(f"the table{of} must be a (vocabulary size {vocab_size}) x dim "
                        f"matrix, got shape {table.shape}")
    if dim is None and not 1 <= table.shape[1] <= MAX_DIM:
        raise DataError(f"vector dimension {table.shape[1]}{of} is outside 1..{MAX_DIM}")
    if dim is not None and table.shape[1] != dim:
        raise DataError(f"the table{of} has {table.shape[1]} dimensions; earlier ones "
                        f"had {dim}")
    if not np.isfinite(table).all():
        raise DataError(f"the table{of} holds NaN or infinite values")
    return table


def _vocab_frame(tokens: list[str], counts: Any, class_counts: Any,
                 classes: Sequence[str] | None, pretrained: str | None
                 ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The run's vocabulary table (``vocab_frame``, as the trainer's ``Vocab.to_frame``, plus
    ``in_pretrained``) and what it knows."""
    n = len(tokens)
    info: dict[str, Any] = {"counts_known": counts is not None or class_counts is not None}
    per_class = None
    if class_counts is not None:
        width = np.shape(class_counts)[1] if np.ndim(class_counts) == 2 else -1
        per_class = counts_array("class_counts", class_counts, n, max(width, 1))
        names = [str(c) for c in (classes or range(per_class.shape[1]))]
        if len(names) != per_class.shape[1]:
            raise DataError(f"classes names {len(names)} classes; class_counts has "
                            f"{per_class.shape[1]} columns")
        info["classes"] = names
    total = None if counts is None else counts_array("counts", counts, n)
    train = (per_class.sum(axis=1) if per_class is not None else total if total is not None
             else np.zeros(n, dtype=np.int64))
    total = train if total is None else np.maximum(total, train)
    frame = vocab_frame(tokens, total, per_class, train_counts=train)
    frame["in_pretrained"] = _in_pretrained(tokens, pretrained)
    return frame, info


def _in_pretrained(tokens: list[str], pretrained: str | None) -> np.ndarray:
    """Which tokens the pretrained space (GloVe unless a file is given) has."""
    from core.vectors import pretrained as vectors

    kv = vectors.glove() if pretrained in (None, "glove") else vectors.load_vectors_file(pretrained)
    return np.array([t in kv.key_to_index and t not in SPECIALS for t in tokens], dtype=bool)


def _docs_frame(texts: Sequence[str], labels: Sequence[Any] | None,
                classes: list[str] | None) -> pd.DataFrame:
    """The labelled documents as the run's ``docs`` table (label names and codes)."""
    texts = [str(t) for t in texts]
    if labels is None or len(labels) != len(texts):
        raise DataError(f"documents need one label each: {len(texts)} documents, "
                        f"{0 if labels is None else len(labels)} labels")
    if all(isinstance(x, (int, np.integer)) for x in labels):
        ids = np.asarray(labels, dtype=np.int64)
        names = classes or [str(c) for c in range(int(ids.max(initial=0)) + 1)]
        if ids.size and (ids.min() < 0 or ids.max() >= len(names)):
            raise DataError(f"document labels must be in 0..{len(names) - 1}")
    else:
        names = classes or sorted({str(x) for x in labels})
        index = {c: i for i, c in enumerate(names)}
        unknown = sorted({str(x) for x in labels} - set(index))
        if unknown:
            raise DataError(f"document labels {unknown[:5]} are not among the classes {names}")
        ids = np.array([index[str(x)] for x in labels], dtype=np.int64)
    return pd.DataFrame({"row": np.arange(len(texts)), "text": texts, "label_id": ids,
                         "label": [names[i] for i in ids],
                         "n_tokens": [len(tokenize(t)) for t in texts]})


class TrackedRun:
    """The writer of one tracked run: ``add_snapshot`` as training goes, then ``finish`` (or
    ``fail``); as a context manager, an exception inside marks it failed and is re-raised.

    Cancelling (the dashboard's "Cancel this run", ``RunStore.request_cancel``) is a flag the
    loop polls: ``check_cancel()`` between batches raises ``CancelledError`` once it is set,
    and the run ends ``cancelled`` with what was written kept, as the product's trainer ends
    it (``training.trainer.train_run``). The context manager records that exception as
    ``cancelled`` and lets the code after the block run (as ``train_run`` returns); it
    swallows no other exception."""

    # Seconds between two reads of the cancel flag (a SQLite query) between batches: a
    # cancel is seen within this, and a loop of thousands of steps a second is not slowed.
    POLL_SECONDS = 0.5

    def __init__(self, store: RunStore, config: dict[str, Any], fingerprint: str,
                 info: dict[str, Any], vocab: pd.DataFrame, docs: pd.DataFrame | None) -> None:
        self.store, self.vocab_size = store, len(vocab)
        self.layer: str | None = config.get("layer")
        self.n_docs = 0 if docs is None else len(docs)
        self._hold = ExitStack()
        self.run_id = store.create_run(config, fingerprint, info, label=info["name"])
        self._hold.enter_context(store.writing(self.run_id))
        self.n_snapshots, self.dim, self.status = 0, None, "running"
        self._with_updates: bool | None = None  # decided by the snapshot after the first
        self._first_updates = None
        self._polled = time.monotonic()  # the last read of the cancel flag
        self._steps: list[dict[str, float]] = []  # log(): per-step numbers, flushed
        self._steps_saved = 0
        try:
            store.save_frame(self.run_id, "vocab", vocab)
            if docs is not None:
                store.save_frame(self.run_id, "docs", docs)
        except BaseException as exc:
            self.fail(exc)
            raise

    # -- writing ---------------------------------------------------------------------------
    def add_snapshot(self, matrix: Any, epoch: int, step: int,
                     metrics: dict[str, Any] | None = None, updates: Any = None,
                     docvecs: Any = None) -> int:
        """Record the embedding table now (rows x dim, one row per vocabulary token); with
        ``metrics`` also the epoch's numbers (the snapshot is then the end of ``epoch``);
        ``updates``: per row, the optimiser steps since the previous snapshot whose batch held
        it (contract A); ``docvecs``: the documents' vectors. Returns the snapshot index."""
        self._check_open()
        table = self._table(matrix)
        docs = self._docvecs(docvecs)
        idx = self.n_snapshots
        if idx == 0:  # the first table tells the size: the disk budget, as the trainer's runs
            self._check_space(table, docs)
        self._save_updates(idx, updates)
        self.store.add_snapshot(self.run_id, idx, int(epoch), int(step), table, docs)
        self._flush_steps()
        self.n_snapshots += 1
        if metrics:
            self.add_metrics(epoch, step, metrics)
        return idx

    def _check_space(self, table: np.ndarray, docs: np.ndarray | None) -> None:
        """Refuse (StoreError with the estimate) a run that would not fit: one snapshot per
        planned epoch and the start, or just this one when no ``epochs`` were given."""
        planned = self.store.get_run(self.run_id).config.get("epochs")
        self.store.check_space(RunSize(
            rows=self.vocab_size, dim=table.shape[1],
            snapshots=int(planned) + 1 if planned else 1, docs=self.n_docs,
            doc_dim=0 if docs is None else docs.shape[1]))

    def add_metrics(self, epoch: int, step: int, metrics: dict[str, Any]) -> None:
        """The numbers of one finished epoch (Keras names such as ``loss`` are renamed to the
        product's ``train_loss``); non-numbers are dropped."""
        self._check_open()
        clean = {_METRIC_NAMES.get(k, k): float(v) for k, v in metrics.items()
                 if isinstance(v, (int, float, np.number)) and math.isfinite(float(v))}
        self.store.add_epoch(self.run_id, int(epoch), {**clean, "step": int(step)})

    def _table(self, matrix: Any) -> np.ndarray:
        table = check_table(matrix, self.vocab_size, self.dim, self.layer)
        if self.dim is None:
            self.dim = table.shape[1]
            self.store.update_info(self.run_id, dim=self.dim)
        return table

    def _docvecs(self, docvecs: Any) -> np.ndarray | None:
        if docvecs is None:
            return None
        arr = np.asarray(docvecs, dtype=np.float32)
        if arr.ndim != 2 or len(arr) != self.n_docs:
            raise DataError(f"docvecs must be one vector per document ({self.n_docs} given "
                            f"to open_run), got shape {arr.shape}")
        return arr

    def _save_updates(self, idx: int, updates: Any) -> None:
        """Contract A: counts for every snapshot from the first on, or for none."""
        given = updates is not None
        if idx == 0:
            self._first_updates = updates
            return
        if self._with_updates is None:
            self._with_updates = given
            first = self._first_updates
            zeros = np.zeros(self.vocab_size, dtype=np.int64)
            if given:  # snapshot 0 comes before any step: zeros unless the user said otherwise
                self.store.save_array(self.run_id, "snapshots/updates_0000",
                                      zeros if first is None else counts_array(
                                          "updates", first, self.vocab_size))
        if given != self._with_updates:
            raise DataError("updates must be given with every snapshot after the first, or "
                            "with none")
        if given:
            self.store.save_array(self.run_id, f"snapshots/updates_{idx:04d}",
                                  counts_array("updates", updates, self.vocab_size))

    # -- ending ----------------------------------------------------------------------------
    def finish(self) -> None:
        """The run is done: the engine computes its finished-run views."""
        if self.status != "running":
            return
        try:
            if self.n_snapshots == 0:
                raise DataError("the run ended without a snapshot")
            self.store.set_status(self.run_id, "done")
            self.status = "done"
        except BaseException as exc:
            self.fail(exc)
            raise
        finally:
            self._hold.close()

    def fail(self, error: BaseException | str) -> None:
        """The run ended with an error (kept with the run; what was saved stays readable)."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self._end("failed", one_line(text))

    def cancel(self) -> None:
        """The run was cancelled: status ``cancelled`` and no error, as the product's trainer
        records a cancel; what was saved stays readable."""
        self._end("cancelled")

    def cancel_requested(self, now: bool = False) -> bool:
        """Whether someone asked the store to cancel this run (always True once cancelled).
        Reads the flag at most every ``POLL_SECONDS``, unless ``now`` (an epoch's end)."""
        if self.status != "running":
            return self.status == "cancelled"
        clock = time.monotonic()
        if not now and clock - self._polled < self.POLL_SECONDS:
            return False
        self._polled = clock
        return self.store.cancel_requested(self.run_id)

    def check_cancel(self, now: bool = False) -> None:
        """Call between batches: once a cancel is requested (see ``cancel_requested``), end
        the run ``cancelled`` and raise ``CancelledError`` (at this call and every later one)."""
        if self.cancel_requested(now):
            self.cancel()
            raise CancelledError("Training was cancelled.")

    def log(self, metrics: dict[str, Any], step: int) -> None:
        """Per-step numbers (a batch's loss, a learning rate): kept in the run's
        ``step_metrics`` table (``store.load_frame(run_id, "step_metrics")``: one row per
        call, ``step`` then the metrics), written at each snapshot and when the run ends.
        Non-numbers are dropped, as in ``add_metrics``."""
        self._check_open()
        clean = {str(k): float(v) for k, v in metrics.items()
                 if isinstance(v, (int, float, np.number)) and math.isfinite(float(v))}
        self._steps.append({"step": int(step), **clean})

    def _flush_steps(self) -> None:
        if len(self._steps) > self._steps_saved:
            self.store.save_frame(self.run_id, "step_metrics", pd.DataFrame(self._steps))
            self._steps_saved = len(self._steps)

    def _end(self, status: str, error: str | None = None) -> None:
        if self.status != "running":
            return
        self.status = status
        try:
            self._flush_steps()
            self.store.set_status(self.run_id, status, error=error)
        except StoreError:
            pass  # a full disk: readers mark the run interrupted once the lock is let go
        finally:
            self._hold.close()

    def _check_open(self) -> None:
        if self.status != "running":
            raise StoreError(f"run {self.run_id} is {self.status}; open a new one to write")

    def __enter__(self) -> TrackedRun:
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, CancelledError):
            self.cancel()
            return True  # the user asked for it: not an error, as train_run returns
        if exc is not None:
            self.fail(exc)
        else:
            self.finish()
        return False
