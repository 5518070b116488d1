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


def _regular_words(store, run_id):
    vocab = store.load_vocab(run_id)
    return vocab[~vocab["token"].isin(["<pad>", "<unk>"])]


@pytest.mark.parametrize("snapshot", [None, 0, 1, -1], ids=["default-last", "first", "one", "neg"])
def test_word2vec_round_trip_with_gensim(vector_run, tmp_path, snapshot):
    from gensim.models import KeyedVectors

    store, run_id, _ = vector_run
    [path] = export.export_run(store, run_id, "word2vec", tmp_path / "out", snapshot)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=False)
    index = 2 if snapshot is None else snapshot % 3
    expected = np.asarray(store.load_snapshot(run_id, index))
    vocab = store.load_vocab(run_id)
    words = _regular_words(store, run_id)
    assert kv.index_to_key == words["token"].tolist()
    np.testing.assert_allclose(kv.vectors, expected[words.index], rtol=1e-6, atol=1e-7)
    assert "<pad>" not in kv.key_to_index and len(kv) == len(vocab) - 2


def test_projector_rows_match_and_metadata_has_header(vector_run, tmp_path):
    store, run_id, _ = vector_run
    paths = export.export_run(store, run_id, "projector", tmp_path / "proj")
    assert [p.name for p in paths] == ["vectors.tsv", "metadata.tsv"]
    vectors = np.loadtxt(paths[0], delimiter="\t")
    meta = pd.read_csv(paths[1], sep="\t")
    n = len(_regular_words(store, run_id))
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
