"""Exports read back by the product give the same words in the same order and bit-equal
float32 values, or say exactly what they left out (issue 18): a vocabulary of spaces, tabs,
CR, LF, U+2028, NEL, formula starts, RTL marks and a 4,000-character token."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from core.common.cells import unneutralise
from core.runs import export
from core.store.runstore import RunStore
from core.track import open_run
from core.track.importing import import_files

WORDS = ["<pad>", "<unk>", "plain", "two words", "tab\there", "cr\rhere", "lf\nhere",
         "ls\u2028here", "nel\x85here", "=cmd", "+1", "-x", "@a", "'=x", "''+y",
         "\u200fRTL\u202emark", "x\r=cmd|'/Ccalc'!A0", "back\\slash\\t", "\tlead", "trail\t",
         "é" * 4000, "long" + "w" * 3996, "=HYPERLINK(\"http://203.0.113.9\")", "\"quoted\""]
W2V_OMITTED = {3: "two words", 6: "lf\nhere"}


@pytest.fixture(scope="module")
def hostile_vocab_run(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("roundtrip"))
    rng = np.random.default_rng(7)
    tables = []
    for epoch in range(2):
        table = rng.normal(size=(len(WORDS), 6)).astype(np.float32)
        table[2, :3] = [np.float32(1e-42), np.float32(3.4e38), np.float32(-1.1754944e-38)]
        tables.append(table)
    with open_run(store, WORDS, name="hostile vocabulary") as run:
        for epoch, table in enumerate(tables):
            run.add_snapshot(table, epoch=epoch, step=epoch)
    return store, run.run_id, tables[-1]


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def _reimport(store_root, folder, files: list[str]) -> tuple[list[str], np.ndarray]:
    store = RunStore(store_root)
    result = import_files(store, [folder / f for f in files])
    vocab = store.load_vocab(result["run_id"])["token"].tolist()
    return vocab, np.asarray(store.load_snapshot(result["run_id"], 0))


def test_projector_export_reimports_bit_equal_row_for_row(hostile_vocab_run, tmp_path):
    store, run_id, table = hostile_vocab_run
    for name, data in export.export_bytes(store, run_id, "projector").items():
        (tmp_path / name).write_bytes(data)
    words, matrix = _reimport(tmp_path / "again", tmp_path, ["vectors.tsv"])
    assert words == WORDS
    np.testing.assert_array_equal(_bits(matrix), _bits(table))


def test_word2vec_export_reimports_bit_equal_and_lists_what_it_left_out(hostile_vocab_run,
                                                                        tmp_path):
    store, run_id, table = hostile_vocab_run
    files = export.export_bytes(store, run_id, "word2vec")
    (tmp_path / "vectors.w2v.txt").write_bytes(files["vectors.w2v.txt"])
    omitted = json.loads(files["vectors.w2v.omitted.json"])["omitted"]
    assert {o["row"]: o["word"] for o in omitted} == W2V_OMITTED
    words, matrix = _reimport(tmp_path / "again", tmp_path, ["vectors.w2v.txt"])
    kept = [i for i in range(len(WORDS)) if i not in W2V_OMITTED]
    assert words == [WORDS[i] for i in kept]
    np.testing.assert_array_equal(_bits(matrix), _bits(table[kept]))


def test_coords_csv_keeps_each_word_in_its_own_cell(hostile_vocab_run):
    store, run_id, _ = hostile_vocab_run
    text = export.export_bytes(store, run_id, "coords")["coords.csv"].decode("utf-8")
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    assert header == list(export.COORDS_COLUMNS)
    assert all(len(r) == len(header) for r in rows)
    cells = [r[0] for r in rows]
    assert not any(c.startswith(export.FORMULA_STARTS) for c in cells)
    shown = {unneutralise(c) for c in cells}
    assert shown == set(WORDS) - {"<pad>", "<unk>"}
    assert "x\r=cmd|'/Ccalc'!A0" in shown and "=cmd" in shown


def test_a_bare_cr_never_ends_a_csv_cell():
    from core.common.cells import csv_bytes
    import pandas as pd

    data = csv_bytes(pd.DataFrame({"word": ["x\r=cmd|'/Ccalc'!A0", "a,b", 'q"q'], "n": [1, 2, 3]}))
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert rows == [["word", "n"], ["x\r=cmd|'/Ccalc'!A0", "1"], ["a,b", "2"], ['q"q', "3"]]


def test_words_csv_of_a_run_with_few_glove_words_exports_without_neighbours(hostile_vocab_run):
    """The hostile vocabulary shares fewer than k+1 words with GloVe: the CSV still has every
    word (in its own cell, neutralised and reversible), without the comparison's columns."""
    store, run_id, _ = hostile_vocab_run
    text = export.export_bytes(store, run_id, "csv")["words.csv"].decode("utf-8")
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    assert header[:3] == ["word", "train_count", "seen"] and "neighbors" not in header
    assert all(len(r) == len(header) for r in rows)
    assert [unneutralise(r[0]) for r in rows] == WORDS[2:]
    assert not any(r[0].startswith(export.FORMULA_STARTS) for r in rows)
