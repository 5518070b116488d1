"""Exports of a tiny stored run: word2vec round trip, projector TSVs, CSV, bytes for downloads."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from core.runs import export
from core.errors import StoreError
from core.runs.comparison import CompareConfig

SMALL = CompareConfig(against="init", k=3)


@pytest.mark.parametrize("snapshot", [None, 0, 1, -1], ids=["default-last", "first", "one", "neg"])
def test_word2vec_round_trip_with_gensim(vector_run, tmp_path, snapshot):
    from gensim.models import KeyedVectors

    store, run_id, _ = vector_run
    [path] = export.export_run(store, run_id, "word2vec", tmp_path / "out", snapshot)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=False)
    index = 2 if snapshot is None else snapshot % 3
    expected = np.asarray(store.load_snapshot(run_id, index))
    vocab = store.load_vocab(run_id)
    # every row, <pad>/<unk> included, in row order, bit-equal (issue 18)
    assert kv.index_to_key == vocab["token"].tolist()
    np.testing.assert_array_equal(kv.vectors, expected)


def test_projector_rows_match_and_metadata_has_header(vector_run, tmp_path):
    store, run_id, _ = vector_run
    paths = export.export_run(store, run_id, "projector", tmp_path / "proj")
    assert [p.name for p in paths] == ["vectors.tsv", "metadata.tsv"]
    vectors = np.loadtxt(paths[0], delimiter="\t")
    meta = pd.read_csv(paths[1], sep="\t")
    n = len(store.load_vocab(run_id))  # every row: row i is id i (issue 18)
    assert vectors.shape == (n, store.get_run(run_id).info["dim"]) and len(meta) == n
    assert list(meta.columns) == list(export.METADATA_COLUMNS)
    lean = meta.set_index("word")["associated_class"]
    assert lean["great"] == "pos" and lean["awful"] == "neg"


def test_csv_columns(vector_run, tmp_path):
    store, run_id, _ = vector_run
    [path] = export.export_run(store, run_id, "csv", tmp_path / "csv", config=SMALL)
    table = pd.read_csv(path)
    assert path.name == "words.csv"
    assert {"word", "train_count", "seen", "pca_x", "pca_y", "neighbors", "gained", "lost",
            "jaccard", "drift_from_start", "drift_from_prev", "z_pos", "z_neg",
            "direction"} <= set(table.columns)
    assert table[["pca_x", "pca_y"]].notna().all().all()
    assert table["neighbors"].str.split().map(len).eq(3).all()


def test_csv_uses_a_cached_umap_projection_when_there_is_one(vector_run):
    store, run_id, _ = vector_run
    n = store.get_run(run_id).n_snapshots
    rows = np.array([2, 3, 4], dtype=np.int64)
    store.save_array(run_id, "cache/projection_umap_rows", rows)
    store.save_array(run_id, "cache/projection_umap_coords",
                     np.arange(n * 3 * 2, dtype=np.float32).reshape(n, 3, 2))
    try:
        table = export.csv_table(store, run_id, 0, SMALL)
    finally:
        for name in ("rows", "coords"):
            (store.run_dir(run_id) / "cache" / f"projection_umap_{name}.npy").unlink()
    tokens = store.load_vocab(run_id)["token"].tolist()
    by_word = table.set_index("word")
    assert by_word.loc[tokens[2], ["umap_x", "umap_y"]].tolist() == [0.0, 1.0]
    assert by_word["umap_x"].isna().sum() == len(table) - 3


def test_bytes_equal_written_files(vector_run, tmp_path):
    store, run_id, _ = vector_run
    files = export.export_bytes(store, run_id, "projector")
    paths = export.export_run(store, run_id, "projector", tmp_path)
    assert {p.name: p.read_bytes() for p in paths} == files


def test_out_dir_is_created(vector_run, tmp_path):
    store, run_id, _ = vector_run
    out = tmp_path / "a" / "b"
    paths = export.export_run(store, run_id, "word2vec", out)
    assert out.is_dir() and all(p.parent == out.resolve() for p in paths)


@pytest.mark.parametrize("kwargs, error", [
    ({"fmt": "pickle"}, ValueError),
    ({"fmt": "word2vec", "snapshot": 3}, ValueError),
    ({"fmt": "word2vec", "snapshot": -4}, ValueError),
    ({"fmt": "word2vec", "run_id": "20200101-000000-abcdef"}, StoreError),
    ({"fmt": "word2vec", "run_id": "../etc"}, StoreError),
], ids=["bad-format", "snapshot-past-end", "snapshot-before-start", "unknown-run", "traversal"])
def test_bad_input_is_refused(vector_run, kwargs, error):
    store, run_id, _ = vector_run
    args = {"run_id": run_id, **kwargs}
    with pytest.raises(error):
        export.export_bytes(store, **args)


def test_metadata_tsv_parses_as_text(vector_run):
    store, run_id, _ = vector_run
    text = export.export_bytes(store, run_id, "projector")["metadata.tsv"].decode()
    assert text.splitlines()[0] == "\t".join(export.METADATA_COLUMNS)
    assert pd.read_csv(io.StringIO(text), sep="\t")["seen"].dtype == bool


# ---------------------------------------------------------------- hostile words and labels
# Words and class names come from the user's data. A spreadsheet runs a cell starting with
# = + - @ tab or CR as a formula; the projector splits metadata.tsv on tabs and newlines.

HOSTILE_LABELS = ('=HYPERLINK("http://203.0.113.9/x")', "bad\tclass\nname")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A finished run whose vocabulary has the words = + - @ and whose class names hold a
    formula and a tab + newline."""
    from core.data.loading import Dataset
    from core.store.runstore import RunStore
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    texts = ["=1+2 @home -5 good", "+x =cmd -neg great", "@sum good fine -",
             "bad awful = +", "poor bad @ -", "awful poor + ="] * 4
    labels = list(HOSTILE_LABELS) * 12
    store = RunStore(tmp_path_factory.mktemp("hostile-store"))
    run_id = train_run(Dataset.from_lists(texts, labels),
                       TrainConfig(epochs=2, val_fraction=0.5, batch_size=4, dim=8), store).run_id
    return store, run_id


def _dangerous(cell: str) -> bool:
    return cell.startswith(("=", "+", "-", "@", "\t", "\r"))  # OWASP's list, not the code's


def test_words_csv_text_cells_are_neutralised_numbers_kept(hostile_run):
    import csv

    store, run_id = hostile_run
    text = export.export_bytes(store, run_id, "csv", config=SMALL)["words.csv"].decode()
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert rows and not any(_dangerous(c) for c in header)
    cols = {name: [r[i] for r in rows] for i, name in enumerate(header)}
    assert {"'=", "'+", "'-", "'@"} <= set(cols["word"])
    for name in ("word", "neighbors", "gained", "lost"):
        assert not any(_dangerous(c) for c in cols[name]), name
    assert any(c.startswith("'=") for c in cols["neighbors"])  # lists start with '=' too
    # numeric columns stay plain numbers: negative values keep their minus sign
    for name in ("pca_x", "pca_y", "drift_from_start", "direction"):
        values = [float(c) for c in cols[name]]
        assert len(values) == len(rows)
    assert any(c.startswith("-") for c in cols["pca_x"] + cols["direction"])
    table = pd.read_csv(io.StringIO(text))
    assert pd.api.types.is_float_dtype(table["pca_x"]) and (table["pca_x"] < 0).any()


def test_projector_metadata_has_one_row_per_vector_and_no_formula(hostile_run):
    store, run_id = hostile_run
    files = export.export_bytes(store, run_id, "projector")
    vectors = files["vectors.tsv"].decode().split("\n")[:-1]
    meta = files["metadata.tsv"].decode().split("\n")[:-1]
    assert len(meta) - 1 == len(vectors) == len(store.load_vocab(run_id))
    rows = [line.split("\t") for line in meta[1:]]
    assert all(len(r) == len(export.METADATA_COLUMNS) for r in rows) and "\r" not in "".join(meta)
    assert not any(_dangerous(cell) for r in rows for cell in r)
    assert {r[0] for r in rows} >= {"'=", "'+", "'-", "'@"}
    assert {r[3] for r in rows} == {"'" + HOSTILE_LABELS[0], "bad\\tclass\\nname"}
    # vectors.tsv holds numbers only: negative values are written as they are
    assert "'" not in files["vectors.tsv"].decode()
    assert any(v.startswith("-") for line in vectors for v in line.split("\t"))


def test_neutralise_only_touches_formula_starts():
    assert [export.neutralise(c) for c in ("=1+1", "+1", "-x", "@a", "\tx", "\rx")] == \
        ["'=1+1", "'+1", "'-x", "'@a", "'\tx", "'\rx"]
    assert [export.neutralise(c) for c in ("", "word", "1-2", "a=b", "'x")] == \
        ["", "word", "1-2", "a=b", "'x"]
    # quotes before a formula start are marked too, so the import can undo the mark exactly
    assert export.neutralise("'=x") == "''=x"


def test_export_into_an_earlier_export_needs_force(vector_run, tmp_path):
    from core.errors import ExplorerError

    store, run_id, _ = vector_run
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    export.export_run(store, run_id, "projector", out)  # other files in the folder are fine
    (out / "vectors.tsv").write_text("keep me")
    with pytest.raises(ExplorerError, match=r"already holds vectors\.tsv, metadata\.tsv .*--force"):
        export.export_run(store, run_id, "projector", out)
    assert (out / "vectors.tsv").read_text() == "keep me"
    export.export_run(store, run_id, "word2vec", out)  # another format's files: no clash
    paths = export.export_run(store, run_id, "projector", out, force=True)
    assert paths[0].read_bytes() == export.export_bytes(store, run_id, "projector")["vectors.tsv"]
    assert (out / "notes.txt").read_text() == "mine"


def test_export_into_a_file_is_refused(vector_run, tmp_path):
    from core.errors import ExplorerError

    store, run_id, _ = vector_run
    path = tmp_path / "taken.txt"
    path.write_text("a file")
    with pytest.raises(ExplorerError, match=r"is a file, not a folder"):
        export.export_run(store, run_id, "csv", path, config=SMALL)
    with pytest.raises(ExplorerError, match=r"cannot write the export into"):
        export.export_run(store, run_id, "word2vec", path / "sub")
    assert path.read_text() == "a file"


@pytest.mark.parametrize("snapshot", [1, 2])
def test_csv_updates_column_is_the_steps_that_touched_each_word(vector_run, snapshot):
    from core.runs.updates import updates_received

    store, run_id, _ = vector_run
    table = export.csv_table(store, run_id, snapshot, SMALL)
    tokens = store.load_vocab(run_id)["token"].tolist()
    counts = updates_received(store, run_id, snapshot)
    expected = [counts[tokens.index(w)] for w in table["word"]]
    assert table["updates"].tolist() == expected
    assert table["updates"].max() > 0


def test_csv_of_a_run_without_counts_has_no_updates_column(tiny_dataset, tmp_path):
    from core.store.runstore import RunStore
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    store = RunStore(tmp_path / "runs")
    run_id = train_run(tiny_dataset, TrainConfig(epochs=1, batch_size=4), store).run_id
    for path in (store.run_dir(run_id) / "snapshots").glob("updates_*.npy"):
        path.unlink()  # as a run trained before the counts existed
    assert "updates" not in export.csv_table(store, run_id, None, SMALL).columns
