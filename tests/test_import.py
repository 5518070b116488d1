"""``python -m core import``: saved weight files as one run, one snapshot per file; hostile
files refused with exit 2, one message line, and nothing left in the store."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from safetensors.numpy import save_file

from core.cli import main
from core.store.runstore import RunStore
from tests.conftest import REPO, TEN_WORDS

WORDS = ["<pad>", "<unk>"] + TEN_WORDS


def _tables(n: int, rows: int = len(WORDS), dim: int = 5) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.normal(size=(rows, dim)).astype(np.float32) for _ in range(n)]


def _vocab(tmp_path, words=WORDS):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(words) + "\n")
    return path


def _safetensors(tmp_path, tables, extra=None):
    paths = []
    for i, table in enumerate(tables):
        paths.append(tmp_path / f"epoch_{i}.safetensors")
        save_file({"model.embedding.weight": table, **(extra or {})}, str(paths[-1]))
    return paths


def _import(capsys, tmp_path, *args) -> tuple[int, dict | None, str]:
    code = main(["import", *map(str, args), "--store", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    return code, json.loads(lines[-1]) if code == 0 else None, err


def test_series_of_safetensors_files_is_one_run(tmp_path):
    tables = _tables(3)
    files = _safetensors(tmp_path, tables, {"head.weight": np.zeros((2, 5), np.float32)})
    res = subprocess.run([sys.executable, "-m", "core", "import", *map(str, files),
                          "--vocab", str(_vocab(tmp_path)), "--name", "my bert",
                          "--store", str(tmp_path / "runs")],
                         cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "EXPLORER_WARM_UP": "0"})
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["snapshots"] == 3 and out["tensor"] == "model.embedding.weight"
    store = RunStore(tmp_path / "runs")
    run = store.get_run(out["run_id"])
    assert run.status == "done" and run.config["source"] == "import"
    assert run.info["name"] == "my bert" and run.n_snapshots == 3
    assert store.load_vocab(run.run_id)["token"].tolist() == WORDS
    for i, table in enumerate(tables):
        np.testing.assert_array_equal(store.load_snapshot(run.run_id, i), table)


def test_projector_tsv_with_its_metadata(tmp_path, capsys):
    table = _tables(1)[0]
    vectors = tmp_path / "vectors.tsv"
    vectors.write_text("\n".join("\t".join(f"{v:.6f}" for v in row) for row in table) + "\n")
    (tmp_path / "metadata.tsv").write_text("word\tcount\n" + "".join(
        f"{w}\t{i}\n" for i, w in enumerate(WORDS)))
    code, out, err = _import(capsys, tmp_path, vectors)  # metadata.tsv found beside it
    assert code == 0, err
    store = RunStore(tmp_path / "runs")
    assert store.load_vocab(out["run_id"])["token"].tolist() == WORDS
    np.testing.assert_allclose(store.load_snapshot(out["run_id"], 0), table, atol=1e-6)


def test_word2vec_text_brings_its_own_words(tmp_path, capsys):
    table = _tables(1, rows=len(TEN_WORDS))[0]
    path = tmp_path / "vectors.txt"
    path.write_text(f"{len(TEN_WORDS)} 5\n" + "".join(
        w + " " + " ".join(f"{v:.6f}" for v in row) + "\n" for w, row in zip(TEN_WORDS, table)))
    code, out, err = _import(capsys, tmp_path, path, path)
    assert code == 0, err
    assert RunStore(tmp_path / "runs").load_vocab(out["run_id"])["token"].tolist() == TEN_WORDS


def _keras_files(tmp_path):
    """A real Keras 3 model's .weights.h5 and .keras (torch backend)."""
    code = ("import os, sys; os.environ['KERAS_BACKEND'] = 'torch'; import keras\n"
            "m = keras.Sequential([keras.layers.Input((4,), dtype='int32'),"
            " keras.layers.Embedding(12, 5, name='embedding'),"
            " keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2)])\n"
            "m.compile('adam', 'sparse_categorical_crossentropy')\n"
            "import numpy as np; m.fit(np.ones((4, 4), 'int32'), np.zeros(4), verbose=0)\n"
            "m.save_weights(sys.argv[1] + '/m.weights.h5'); m.save(sys.argv[1] + '/m.keras')\n"
            "np.save(sys.argv[1] + '/table.npy', m.get_layer('embedding').get_weights()[0])\n")
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return tmp_path / "m.weights.h5", tmp_path / "m.keras", np.load(tmp_path / "table.npy")


@pytest.mark.slow
def test_keras_weights_h5_and_keras_zip(tmp_path, capsys):
    weights, archive, table = _keras_files(tmp_path)
    code, out, err = _import(capsys, tmp_path, weights, archive, "--vocab", _vocab(tmp_path))
    assert code == 0, err
    # the optimizer's moments have the table's shape too: the name decides
    assert out["tensor"] == "layers/embedding/vars/0" and out["shape"] == [12, 5]
    store = RunStore(tmp_path / "runs")
    for i in range(2):
        np.testing.assert_array_equal(store.load_snapshot(out["run_id"], i), table)


# ------------------------------------------------------------------------ hostile inputs

def _huge_safetensors(path):
    header = json.dumps({"emb": {"dtype": "F32", "shape": [1_000_000_000, 300],
                                 "data_offsets": [0, 1_200_000_000_000]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 64)


def _huge_h5(path):
    import h5py
    with h5py.File(path, "w") as f:  # chunked, never written: a tiny file claiming 1.2 TB
        f.create_dataset("layers/embedding/vars/0", shape=(1_000_000_000, 300),
                         dtype="float32", chunks=(1000, 300))


def _no_weights_zip(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", "{}")


HOSTILE = {
    "huge safetensors header": ("emb.safetensors", _huge_safetensors, "1,000,000,000 rows"),
    "huge HDF5 dataset": ("m.weights.h5", _huge_h5, "1,000,000,000 rows"),
    "text named .safetensors": ("x.safetensors", lambda p: p.write_text("hello world\n" * 9),
                                "not a safetensors file"),
    "text named .weights.h5": ("x.weights.h5", lambda p: p.write_text("hello\n"),
                               "not an HDF5 file"),
    "text named .keras": ("x.keras", lambda p: p.write_text("hello\n"), "not a .keras file"),
    "zip without weights": ("x.keras", _no_weights_zip, "no model.weights.h5"),
    "tsv of words": ("vectors.tsv", lambda p: p.write_text("good\tbad\n"),
                     "not tab-separated numbers"),
    "ragged tsv": ("vectors.tsv", lambda p: p.write_text("1\t2\n3\n"), "expected 2"),
    "nan in tsv": ("vectors.tsv", lambda p: p.write_text("1\tnan\n"), "NaN"),
    "pickle named .bin": ("x.bin", lambda p: p.write_bytes(b"\x80\x04\x95" + b"\0" * 40),
                          "pickle"),
    "unknown suffix": ("x.pt", lambda p: p.write_bytes(b"\x80\x04"), "unknown format"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_file_is_refused_with_exit_2(tmp_path, capsys, case):
    name, make, message = HOSTILE[case]
    make(tmp_path / name)
    code, _, err = _import(capsys, tmp_path, tmp_path / name, "--vocab", _vocab(tmp_path))
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1 and name in err
    assert RunStore(tmp_path / "runs").list_runs() == []


def test_vocabulary_that_does_not_match_the_rows(tmp_path, capsys):
    files = _safetensors(tmp_path, _tables(1))
    code, _, err = _import(capsys, tmp_path, *files, "--vocab", _vocab(tmp_path, WORDS[:-1]))
    assert code == 2 and "has 11 tokens but the table of epoch_0.safetensors has 12 rows" in err
    assert RunStore(tmp_path / "runs").list_runs() == []


def test_tensor_choice_lists_the_candidates(tmp_path, capsys):
    path = tmp_path / "two.safetensors"
    save_file({"a.weight": _tables(1)[0], "b.weight": _tables(1)[0]}, str(path))
    code, _, err = _import(capsys, tmp_path, path, "--vocab", _vocab(tmp_path))
    assert code == 2 and "--tensor" in err and "a.weight [12, 5]" in err and "b.weight" in err
    code, _, err = _import(capsys, tmp_path, path, "--vocab", _vocab(tmp_path), "--tensor", "c")
    assert code == 2 and "no 2-D tensor named 'c'" in err
    code, out, err = _import(capsys, tmp_path, path, "--vocab", _vocab(tmp_path),
                             "--tensor", "b.weight")
    assert code == 0 and out["tensor"] == "b.weight", err


def test_files_of_different_shapes_leave_nothing(tmp_path, capsys):
    first = _safetensors(tmp_path, _tables(1))[0]
    other = tmp_path / "wider.safetensors"
    save_file({"embedding": _tables(1, dim=6)[0]}, str(other))
    code, _, err = _import(capsys, tmp_path, first, other, "--vocab", _vocab(tmp_path))
    assert code == 2 and "[12, 6]" in err and "same shape" in err
    assert RunStore(tmp_path / "runs").list_runs() == []


def test_no_words_anywhere_asks_for_a_vocabulary(tmp_path, capsys):
    files = _safetensors(tmp_path, _tables(1))
    code, _, err = _import(capsys, tmp_path, *files)
    assert code == 2 and "--vocab" in err
