"""Exports of a run's learned vectors: word2vec text, TensorBoard projector TSVs, a CSV table.

Every format is first rendered to bytes (``export_bytes``; the dashboard's download buttons use
that) and ``export_run`` writes those bytes into a folder. File names are fixed here, never
taken from the user, so an export cannot write outside its folder.

Which words: every vocabulary row, ``<pad>``/``<unk>`` included, in row order, so row i of a
re-import is id i. word2vec text cannot hold a word with a space, a line feed or a NUL (its
readers split on them): such words are left out and listed, with their rows, in
``vectors.w2v.omitted.json``. Values are written so that float32 reads back bit-equal (gensim
writes each value's shortest repr; ``vectors.tsv`` uses ``%.9g``). The CSV has the words of
the run comparison (``core.runs.comparison``), because its neighbours and metrics are only
computed for those; its ``updates`` column (runs that recorded them) is the number of
optimiser steps whose batch held the word, up to the exported snapshot.

Words and class names come from the user's data, so text cells are made safe for spreadsheets
and readers (``core.common.cells``: no cell starts a formula, every CSV text cell is quoted,
TSV cells escape tab, CR, LF and backslash); the import of ``metadata.tsv`` undoes both.
"""
from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from core.runs import comparison as runcompare, projections
from core.runs.comparison import CompareConfig
from core.runs.updates import updates_received
# FORMULA_STARTS, METADATA_COLUMNS and neutralise are also read from here (defined in cells)
from core.common.cells import (FORMULA_STARTS, METADATA_COLUMNS, csv_bytes,  # noqa: F401
                               neutralise, tsv_escape)
from core.common.files import atomic_write
from core.errors import ExplorerError
from core.store.runstore import RunStore

FORMATS = ("word2vec", "projector", "csv", "coords")
FILE_NAMES = {
    "word2vec": ("vectors.w2v.txt", "vectors.w2v.omitted.json"),
    "projector": ("vectors.tsv", "metadata.tsv"),
    "csv": ("words.csv",),
    "coords": ("coords.csv",),
}
COORDS_COLUMNS = ("word", "snapshot", "epoch", "x", "y")
# word2vec text readers split a line on these: a word holding one cannot be written
_W2V_BREAKS = (" ", "\n", "\x00")


def _safe_text_columns(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every text cell (and column name) neutralised; numeric columns, whose
    negative values start with '-', are left as numbers."""
    out = table.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = out[col].map(lambda v: neutralise(v) if isinstance(v, str) else v)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def _tsv_cell(value: object) -> str:
    """One metadata.tsv cell: text neutralised, then tab, line breaks and backslash escaped
    (one row per vector, as the projector needs)."""
    if isinstance(value, str):
        return tsv_escape(neutralise(value))
    return str(value)


def snapshot_index(store: RunStore, run_id: str, snapshot: int | None = None) -> int:
    """The stored snapshot index for ``snapshot`` (None = last; negative counts from the end)."""
    n = store.get_run(run_id).n_snapshots
    if n == 0:
        raise runcompare.StoreError(f"Run {run_id} has no snapshots yet.")
    if snapshot is None:
        return n - 1
    if isinstance(snapshot, bool) or not isinstance(snapshot, (int, np.integer)) \
            or not -n <= snapshot < n:
        raise ValueError(f"snapshot must be an integer between {-n} and {n - 1}, got {snapshot!r}")
    return int(snapshot) % n


def learned_vectors(store: RunStore, run_id: str, snapshot: int | None = None
                    ) -> tuple[pd.DataFrame, np.ndarray]:
    """Every vocabulary row (``<pad>``/``<unk>`` too) and its vector in one snapshot."""
    vocab = store.load_vocab(run_id)
    matrix = np.asarray(store.load_snapshot(run_id, snapshot_index(store, run_id, snapshot)))
    return vocab.reset_index(drop=True), np.asarray(matrix, dtype=np.float32)


def word2vec_text(words: list[str], matrix: np.ndarray) -> tuple[bytes, list[dict]]:
    """word2vec text as gensim writes it (header 'count dim', one word per line), and the
    words it cannot hold (``_W2V_BREAKS``), each ``{"row", "word", "why"}``."""
    from gensim.models import KeyedVectors

    omitted = [{"row": i, "word": w, "why": "holds a space, line feed or NUL, which word2vec "
                                            "text uses as separators"}
               for i, w in enumerate(words) if any(c in w for c in _W2V_BREAKS)]
    keep = np.ones(len(words), dtype=bool)
    keep[[o["row"] for o in omitted]] = False
    kv = KeyedVectors(vector_size=matrix.shape[1], count=0, dtype=np.float32)
    kv.add_vectors([w for w, k in zip(words, keep) if k], matrix[keep])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vectors.txt"
        kv.save_word2vec_format(str(path), binary=False)
        return path.read_bytes(), omitted


def projector_files(store: RunStore, run_id: str, snapshot: int | None = None
                    ) -> dict[str, bytes]:
    """TensorBoard projector ``vectors.tsv`` (no header) and ``metadata.tsv`` (with header)."""
    vocab, matrix = learned_vectors(store, run_id, snapshot)
    buf = io.StringIO()
    np.savetxt(buf, matrix, fmt="%.9g", delimiter="\t")  # 9 digits: float32 reads back equal
    meta = metadata_frame(store, run_id, vocab)
    lines = ["\t".join(METADATA_COLUMNS)]
    lines += ["\t".join(_tsv_cell(v) for v in row) for row in meta.itertuples(index=False)]
    return {"vectors.tsv": buf.getvalue().encode("utf-8"),
            "metadata.tsv": ("\n".join(lines) + "\n").encode("utf-8")}


def metadata_frame(store: RunStore, run_id: str, vocab: pd.DataFrame) -> pd.DataFrame:
    """Per word: training count, whether training saw it, and the class it leans to most
    (largest log-odds z, from ``runcompare.class_association``) with that z."""
    info = store.get_run(run_id).info
    classes = list(info.get("classes", []))
    z = runcompare.class_association(vocab, classes)
    known = info.get("counts_known", True)  # a tracked run may not have given its counts
    out = pd.DataFrame({"word": vocab["token"].astype(str),
                        "train_count": vocab["train_count"].astype(np.int64),
                        "seen": vocab["train_count"].to_numpy() > 0})
    if not known:  # zeros stand for "not given": say so rather than "never seen"
        out["train_count"] = out["seen"] = "not recorded"
    if z.shape[1]:
        values = z.to_numpy()
        best = values.argmax(axis=1)
        out["associated_class"] = [classes[b] for b in best]
        out["association_z"] = np.round(values[np.arange(len(values)), best], 4)
    else:
        out["associated_class"], out["association_z"] = "", np.nan
    return out


def csv_table(store: RunStore, run_id: str, snapshot: int | None = None,
              config: CompareConfig = CompareConfig()) -> pd.DataFrame:
    """The comparison's per-word table for one snapshot with 2-D coordinates: ``pca_x/pca_y``
    (core.analysis.projection's PCA, fitted on the final snapshot so frames share axes) and, when the run
    was projected with UMAP (``projections.project_run``), ``umap_x/umap_y`` (NaN for words
    that projection did not include). Neighbour lists are space-separated. A run sharing too
    few words with the pretrained space for neighbours gets its words without the comparison's
    columns (``_plain_words``) instead of no export."""
    from core.analysis import projection as project
    i = snapshot_index(store, run_id, snapshot)
    vocab = store.load_vocab(run_id)
    try:
        table = runcompare.compare_run(store, run_id, config).word_table(i).copy()
    except runcompare.TooFewShared:
        table = _plain_words(vocab)
    pos = {w: r for r, w in enumerate(vocab["token"].astype(str))}
    rows = np.array([pos[w] for w in table["word"]], dtype=np.int64)
    n = store.get_run(run_id).n_snapshots
    frames = [np.asarray(store.load_snapshot(run_id, s))[rows] for s in range(n)]
    coords = project.pca_frames(frames, project.ProjectionConfig(method="pca")).coords[i]
    table.insert(3, "pca_x", coords[:, 0])
    table.insert(4, "pca_y", coords[:, 1])
    umap = projections.latest_projection(store, run_id, "umap")
    if umap is not None:
        where = {int(r): j for j, r in enumerate(umap[0])}
        xy = np.array([umap[1][i, where[r]] if r in where else (np.nan, np.nan) for r in rows])
        table.insert(5, "umap_x", xy[:, 0])
        table.insert(6, "umap_y", xy[:, 1])
    counts = updates_received(store, run_id, store.get_run(run_id).snapshots[i]["idx"])
    if counts is not None:  # steps whose batch held the word, up to this snapshot (issue 14)
        table.insert(3, "updates", counts[rows])
    for col in runcompare.LIST_COLUMNS:
        if col in table:
            table[col] = table[col].map(" ".join)
    return table


def _plain_words(vocab: pd.DataFrame) -> pd.DataFrame:
    """Every word but ``<pad>``/``<unk>`` with its training count and whether training saw it
    (a run without counts: every word counts as seen, as the comparison has it)."""
    from core.data.text import SPECIALS

    seen = projections.ranking_counts(vocab)[1] > 0
    keep = ~vocab["token"].isin(SPECIALS).to_numpy()
    return pd.DataFrame({"word": vocab["token"].astype(str)[keep].to_numpy(),
                         "train_count": vocab["train_count"].to_numpy()[keep].astype(np.int64),
                         "seen": seen[keep]})


def export_bytes(store: RunStore, run_id: str, fmt: str, snapshot: int | None = None,
                 config: CompareConfig = CompareConfig()) -> dict[str, bytes]:
    """The export's files as {file name: bytes}; ``fmt`` is one of ``FORMATS``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "word2vec":
        vocab, matrix = learned_vectors(store, run_id, snapshot)
        text, omitted = word2vec_text(vocab["token"].astype(str).tolist(), matrix)
        files = {"vectors.w2v.txt": text}
        if omitted:
            files["vectors.w2v.omitted.json"] = json.dumps(
                {"omitted": omitted}, ensure_ascii=True, indent=1).encode("utf-8")
        return files
    if fmt == "projector":
        return projector_files(store, run_id, snapshot)
    if fmt == "coords":
        table = _safe_text_columns(evolution_coords(store, run_id)[0])
        return {"coords.csv": csv_bytes(table)}
    table = _safe_text_columns(csv_table(store, run_id, snapshot, config))
    return {"words.csv": csv_bytes(table)}


def evolution_coords(store: RunStore, run_id: str) -> tuple[pd.DataFrame, str]:
    """The run's evolution layout, one row per word and snapshot (``COORDS_COLUMNS``), and
    the method it was computed with: the engine's UMAP layout when it exists, else PCA
    (computed now, in about a second)."""
    from core.runs import views

    evo = (views.evolution(store, run_id, "umap", cached_only=True)
           or views.evolution(store, run_id, "pca", cached_only=False))
    n_frames, n_words = evo.coords.shape[:2]
    epochs = [s["epoch"] for s in store.get_run(run_id).snapshots[:n_frames]]
    table = pd.DataFrame({
        "word": np.tile(np.asarray(evo.words, dtype=object), n_frames),
        "snapshot": np.repeat(np.arange(n_frames), n_words),
        "epoch": np.repeat(epochs, n_words),
        "x": evo.coords[:, :, 0].ravel(), "y": evo.coords[:, :, 1].ravel()})
    return table, evo.method


def evolution_method(store: RunStore, run_id: str) -> str:
    """The method ``evolution_coords`` uses for this run right now."""
    from core.runs import views

    evo = views.evolution(store, run_id, "umap", cached_only=True)
    return evo.method if evo is not None else "pca:chained"


def export_run(store: RunStore, run_id: str, fmt: str, out_dir: str | Path,
               snapshot: int | None = None, config: CompareConfig = CompareConfig(),
               force: bool = False) -> list[Path]:
    """Write the export into ``out_dir`` (created if needed); returns the written paths.
    Files of an earlier export there are only replaced with ``force``. Each file is written
    to a temporary name and renamed, so no half-written file remains."""
    folder = Path(out_dir)
    _check_out_folder(folder, FILE_NAMES.get(fmt, ()), force)  # before the work, not after
    files = export_bytes(store, run_id, fmt, snapshot, config)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return [atomic_write(folder / name, data).resolve() for name, data in files.items()]
    except OSError as exc:  # a parent is a file, no permission, disk full, ...
        raise ExplorerError(f"cannot write the export into '{folder}': "
                            f"{exc.strerror or exc}") from None


def _check_out_folder(folder: Path, names: tuple[str, ...], force: bool) -> None:
    """Refuse a file given as the folder, and a folder holding any of ``names`` (an earlier
    export) unless ``force``."""
    if folder.exists() and not folder.is_dir():
        raise ExplorerError(f"'{folder}' is a file, not a folder: give a folder to export into")
    taken = [name for name in names if (folder / name).exists()]
    if taken and not force:
        raise ExplorerError(f"'{folder}' already holds {', '.join(taken)} from an earlier "
                            f"export; overwrite with --force (force=True)")
