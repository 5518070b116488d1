"""Bundled GloVe, safe loading of user vector files, word2vec training, initial matrices."""
from __future__ import annotations

import gzip
import pathlib
import pickle

import numpy as np
import pytest

from core.errors import VectorsError
from core.vectors.pretrained import (
    glove,
    init_matrix,
    load_pretrained,
    load_vectors_file,
    restrict,
    train_word2vec,
)
from core.data.text import PAD, UNK, tokenize


# ---------------------------------------------------------------- bundled GloVe


def test_glove_shape_dtype_read_only():
    kv = glove()
    assert kv.vectors.shape == (400_000, 50)
    assert kv.vectors.dtype == np.float32
    assert not kv.vectors.flags.writeable
    assert kv.index_to_key[0] == "the" and kv.key_to_index["the"] == 0
    assert glove() is kv  # cached per process


def test_glove_known_neighbor():
    neighbors = [word for word, _ in glove().most_similar("alps", topn=10)]
    assert "pyrenees" in neighbors


# ---------------------------------------------------------------- restrict / load_pretrained


def test_restrict_keeps_given_order_and_drops_missing(tiny_kv):
    small = restrict(tiny_kv, ["lake", "zebra", "good", "lake"])
    assert small.index_to_key == ["lake", "good"]
    np.testing.assert_array_equal(small["good"], tiny_kv["good"])
    assert not small.vectors.flags.writeable
    assert not np.shares_memory(small.vectors, tiny_kv.vectors)


def test_restrict_to_nothing(tiny_kv):
    assert restrict(tiny_kv, ["zebra"]).vectors.shape == (0, tiny_kv.vector_size)


def test_load_pretrained_glove_restricted():
    kv = load_pretrained("glove", words=["river", "qqqzzzx", "lake"])
    assert kv.index_to_key == ["river", "lake"]
    np.testing.assert_array_equal(kv["lake"], glove()["lake"])


def test_load_pretrained_path(tmp_path, tiny_kv):
    path = tmp_path / "v.txt"
    tiny_kv.save_word2vec_format(str(path))
    assert load_pretrained(path, words=["bad", "good"]).index_to_key == ["bad", "good"]


# ---------------------------------------------------------------- user files: good formats


def _write_glove(path: pathlib.Path, kv) -> pathlib.Path:
    with path.open("w", encoding="utf-8") as fh:
        for word in kv.index_to_key:
            fh.write(word + " " + " ".join(repr(float(x)) for x in kv[word]) + "\n")
    return path


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("vectors.txt", lambda kv, p: kv.save_word2vec_format(str(p), binary=False)),
        ("vectors.bin", lambda kv, p: kv.save_word2vec_format(str(p), binary=True)),
        ("glove.txt", lambda kv, p: _write_glove(p, kv)),
        ("wiki.vec", lambda kv, p: kv.save_word2vec_format(str(p), binary=False)),
    ],
    ids=["word2vec-text", "word2vec-binary", "glove-text", "fasttext-vec"],
)
def test_load_vectors_file_round_trip(tmp_path, tiny_kv, name, writer):
    path = tmp_path / name
    writer(tiny_kv, path)
    kv = load_vectors_file(path)
    assert kv.index_to_key == tiny_kv.index_to_key
    np.testing.assert_allclose(kv.vectors, tiny_kv.vectors, rtol=1e-6)
    assert not kv.vectors.flags.writeable


def test_load_vectors_file_replaces_bad_utf8(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"caf\xe9 1 2\nok 3 4\n")
    kv = load_vectors_file(path)
    assert kv.index_to_key == ["caf\ufffd", "ok"]


def test_load_vectors_file_header_larger_count_than_needed_uses_rows_after_header(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("1 2\na 1 2\nb 3 4\n")  # gensim reads `count` rows; extra rows are ignored
    assert load_vectors_file(path).index_to_key == ["a"]


# ---------------------------------------------------------------- user files: bad and hostile


class _Touch:
    """Unpickling this creates the marker file: proof that something was unpickled."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def _binary_truncated(tmp_path, tiny_kv):
    full = tmp_path / "full.bin"
    tiny_kv.save_word2vec_format(str(full), binary=True)
    return full.read_bytes()[:-10]


BAD_FILES = {
    # id: (file name, content or callable(tmp_path, tiny_kv) -> bytes, kwargs, message pattern)
    "huge-claim-text": ("v.txt", b"500000000 300\nthe 0.1 0\n", {}, "limit"),
    "huge-claim-binary": ("v.bin", b"500000000 300\nthe \x00\x00\x00\x00", {}, "limit"),
    "huge-claim-high-cap": (
        "v.txt", b"500000000 300\nthe 0.1 0\n", {"max_words": 10**9}, "needs at least"
    ),
    "claim-exceeds-file": ("v.txt", b"1000 300\nthe 0.1 0.2\n", {}, "needs at least"),
    "dim-too-large": ("v.txt", b"1 5000\n" + b"w" + b" 0" * 5000 + b"\n", {}, "dimension"),
    "fewer-rows-than-header": ("v.txt", b"3 2\nalpha 1.5 2.5\nbeta 3.5 4.5\n", {}, "has 2 rows"),
    "ragged-row": ("v.txt", b"3 3\na 1.0 2.0 3.0\nb 1.0 2.0\nc 1.0 2.0 3.0\n", {}, "line 3 has 2 values, expected 3"),
    "wrong-dim": ("v.txt", b"2 3\na 1 2 3 4\nb 1 2 3 4\n", {}, "line 2 has 4 values, expected 3"),
    "glove-ragged": ("g.txt", b"a 1 2 3\nb 1 2 3\nc 1 2\n", {}, "line 3 has 2 values"),
    "empty-line": ("g.txt", b"a 1 2\n\nb 1 2\n", {}, "line 2 is empty"),
    "nan": ("v.txt", b"2 3\na 1 2 3\nb 1 nan 3\n", {}, r"line 3 \(word 'b'\).*NaN"),
    "inf": ("g.txt", b"a 1 2 3\nb inf 2 3\n", {}, r"line 2 \(word 'b'\).*infinite"),
    "not-a-number": ("g.txt", b"a 1 x 3\n", {}, "could not be read"),
    "empty-file": ("v.txt", b"", {}, "empty"),
    "binary-garbage": ("v.bin", bytes(range(7, 256)) * 4, {}, "count dim"),
    "binary-no-words": ("v.bin", b"2 2\n" + b"\x00" * 30, {}, "no word"),
    "binary-truncated": ("v.bin", _binary_truncated, {}, "truncated"),
    "text-garbage": ("v.txt", bytes(range(128, 256)) * 4, {}, "values; dimensions must be"),
    "too-many-words": ("g.txt", b"a 1\nb 2\nc 3\n", {"max_words": 2}, "limit is 2"),
    "too-many-words-header": ("v.txt", b"3 1\na 1\nb 2\nc 3\n", {"max_words": 2}, "limit is 2"),
    "too-big": ("v.txt", b"1 2\na 1 2\n", {"max_bytes": 5}, "limit is 5"),
    "gzip": ("v.txt.gz", lambda tmp, kv: gzip.compress(b"1 2\na 1 2\n"), {}, "decompress"),
    "zip-magic-bin": ("v.bin", b"PK\x03\x04" + b"\x00" * 40, {}, "can run code"),
    "pickle-magic-bin": ("v.bin", pickle.dumps([1, 2, 3], protocol=4), {}, "can run code"),
    "npy-plain": ("v.npy", lambda tmp, kv: _npy_bytes(tmp, np.zeros((2, 2))), {}, "holds no words"),
    "npy-object": (
        "v.npy", lambda tmp, kv: _npy_bytes(tmp, np.array([{}], dtype=object)), {}, "can run code"
    ),
    **{
        f"ext{ext}": (f"v{ext}", b"1 2\na 1 2\n", {}, "can run code")
        for ext in (".model", ".kv", ".pkl", ".pickle", ".pt", ".pth")
    },
}


def _npy_bytes(tmp_path: pathlib.Path, array: np.ndarray) -> bytes:
    path = tmp_path / "array.npy"
    np.save(path, array, allow_pickle=True)  # writing our own array, never loading
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "message"), BAD_FILES.values(), ids=list(BAD_FILES)
)
def test_load_vectors_file_refuses(tmp_path, tiny_kv, name, content, kwargs, message):
    path = tmp_path / name
    path.write_bytes(content(tmp_path, tiny_kv) if callable(content) else content)
    with pytest.raises(VectorsError, match=message):
        load_vectors_file(path, **kwargs)


@pytest.mark.parametrize(
    "name", ["payload.pkl", "payload.model", "payload.bin", "payload.txt", "payload.vec"]
)
def test_pickle_payload_is_never_unpickled(tmp_path, name):
    marker = tmp_path / "pwned"
    path = tmp_path / name
    path.write_bytes(pickle.dumps(_Touch(marker), protocol=4))
    with pytest.raises(VectorsError, match="can run code"):
        load_vectors_file(path)
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # the payload is real: unpickling it does create the marker
    assert marker.exists()


def test_refusal_names_accepted_formats(tmp_path):
    path = tmp_path / "v.pkl"
    path.write_bytes(b"x")
    with pytest.raises(VectorsError, match="Accepted formats: word2vec text"):
        load_vectors_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(VectorsError, match="no such file"):
        load_vectors_file(tmp_path / "nope.txt")


# ---------------------------------------------------------------- word2vec


def _corpus(lines):
    return [tokenize(text) for text, _ in lines]


@pytest.mark.parametrize("algorithm", ["skipgram", "cbow"])
def test_train_word2vec_reproducible(twenty_lines, algorithm):
    first = train_word2vec(_corpus(twenty_lines), dim=16, algorithm=algorithm, seed=3, epochs=5)
    again = train_word2vec(_corpus(twenty_lines), dim=16, algorithm=algorithm, seed=3, epochs=5)
    other = train_word2vec(_corpus(twenty_lines), dim=16, algorithm=algorithm, seed=4, epochs=5)
    assert first.vector_size == 16 and "good" in first.key_to_index
    np.testing.assert_array_equal(first.vectors, again.vectors)
    assert first.index_to_key == again.index_to_key
    assert not np.array_equal(first.vectors, other.vectors)


def test_train_word2vec_algorithms_differ(twenty_lines):
    sg = train_word2vec(_corpus(twenty_lines), dim=8, algorithm="skipgram")
    cbow = train_word2vec(_corpus(twenty_lines), dim=8, algorithm="cbow")
    assert not np.array_equal(sg.vectors, cbow.vectors)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"algorithm": "glove"}, "algorithm"), ({"dim": 0}, "dim"), ({"epochs": 0}, "epochs"),
     ({"window": 0}, "window"), ({"min_count": 0}, "min_count")],
    ids=["algorithm", "dim", "epochs", "window", "min_count"],
)
def test_train_word2vec_rejects(twenty_lines, kwargs, field):
    with pytest.raises(ValueError, match=field):
        train_word2vec(_corpus(twenty_lines), **kwargs)


def test_train_word2vec_nothing_to_learn():
    with pytest.raises(VectorsError, match="at least 5 times"):
        train_word2vec([["a", "b"]], min_count=5)


# ---------------------------------------------------------------- init_matrix


def test_init_matrix_found_mask_and_pad(tiny_kv):
    itos = (PAD, UNK, "good", "zebra", "alps")
    matrix, found = init_matrix(itos, tiny_kv, dim=8, seed=0)
    assert matrix.shape == (5, 8) and matrix.dtype == np.float32
    assert found.tolist() == [False, False, True, False, True]
    np.testing.assert_array_equal(matrix[0], 0.0)
    np.testing.assert_array_equal(matrix[2], tiny_kv["good"])
    np.testing.assert_array_equal(matrix[4], tiny_kv["alps"])
    assert np.abs(matrix[3]).sum() > 0 and np.abs(matrix[1]).sum() > 0


def test_init_matrix_random_rows_seeded_and_scaled(tiny_kv):
    itos = (PAD, UNK) + tuple(f"new{i}" for i in range(200)) + ("good", "bad", "lake")
    a, _ = init_matrix(itos, tiny_kv, dim=8, seed=1)
    b, _ = init_matrix(itos, tiny_kv, dim=8, seed=1)
    c, _ = init_matrix(itos, tiny_kv, dim=8, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    pretrained_std = float(np.stack([tiny_kv[w] for w in ("good", "bad", "lake")]).std())
    assert a[2:202].std() == pytest.approx(pretrained_std, rel=0.2)
    small, _ = init_matrix(itos, tiny_kv, dim=8, seed=1, scale=0.01)
    assert small[2:202].std() == pytest.approx(0.01, rel=0.2)


def test_init_matrix_dim_must_follow_vectors(tiny_kv):
    with pytest.raises(VectorsError, match="must follow the pretrained vectors"):
        init_matrix((PAD, UNK, "good"), tiny_kv, dim=50, seed=0)


def test_init_matrix_with_glove():
    matrix, found = init_matrix((PAD, UNK, "river", "qqqzzzx"), glove(), dim=50, seed=0)
    assert found.tolist() == [False, False, True, False]
    np.testing.assert_array_equal(matrix[2], glove()["river"])


# ---------------------------------------------------------------- files that lie (issue 13)


def _w2v_binary(words, dim, header_dim=None, count=None, sep=b"\n", tail=b"") -> bytes:
    """word2vec binary rows of ``dim`` floats under a header that may claim another shape."""
    out = f"{len(words) if count is None else count} {header_dim or dim}\n".encode()
    for i, word in enumerate(words):
        row = np.arange(dim, dtype="<f4") + i
        out += word.encode() + b" " + row.tobytes() + sep
    return out + tail


LYING_FILES = {
    # id: (file name, content, message pattern)
    "binary-header-dim-too-small": (
        "v.bin", _w2v_binary(["good", "bad", "fine"], 3, header_dim=2),
        r"row 2 does not start with a word .*control bytes.*header's dimension 2"),
    "binary-header-dim-too-small-no-newlines": (
        "v.bin", _w2v_binary(["good", "bad", "fine"], 3, header_dim=2, sep=b""),
        r"does not start with a word|bytes follow the last|no word before"),
    "binary-header-dim-too-large": (
        "v.bin", _w2v_binary(["good", "bad", "fine"], 3, header_dim=4),
        r"truncated|does not start with a word|needs at least"),
    "binary-header-count-too-small": (
        "v.bin", _w2v_binary(["good", "bad", "fine"], 3, count=2),
        r"bytes follow the last of the 2 rows the header announces"),
    "binary-duplicate-word": (
        "v.bin", _w2v_binary(["good", "bad", "good"], 3),
        r"row 3 repeats the word 'good' \(first on row 1\); each word may appear once"),
    "text-duplicate-word": (
        "v.txt", b"3 2\ngood 1 2\nbad 3 4\ngood 5 6\n",
        r"line 4 repeats the word 'good' \(first on line 2\)"),
    "glove-duplicate-word": (
        "g.txt", b"good 1 2\nbad 3 4\ngood 5 6\n",
        r"line 3 repeats the word 'good' \(first on line 1\)"),
    "duplicate-after-utf8-replacement": (
        "g.txt", b"caf\xe9 1 2\ncaf\xe8 3 4\n", r"line 2 repeats the word 'caf\ufffd'"),
    "utf8-bom": ("v.txt", b"\xef\xbb\xbf2 3\ngood 1 2 3\nbad 4 5 6\n",
                 r"UTF-8 byte-order mark \(BOM\); save it as UTF-8 without BOM"),
    "utf8-bom-binary": ("v.bin", b"\xef\xbb\xbf" + _w2v_binary(["good"], 2),
                        r"save it as UTF-8 without BOM"),
    "utf16-bom": ("v.txt", "2 3\ngood 1 2 3\nbad 4 5 6\n".encode("utf-16"),
                  r"UTF-16 \(or UTF-32\) text; save it as UTF-8 without BOM"),
    "utf16-no-bom": ("g.vec", "good 1 2 3\nbad 4 5 6\n".encode("utf-16-le"),
                     r"UTF-16 text without a byte-order mark; save it as UTF-8 without BOM"),
    "binary-as-text": ("v.txt", _w2v_binary(["good", "bad"], 3),
                       r"NUL bytes; a word2vec binary file must be named \.bin"),
}


@pytest.mark.parametrize(("name", "content", "message"), LYING_FILES.values(),
                         ids=list(LYING_FILES))
def test_vector_files_that_lie_are_refused(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(VectorsError, match=message) as info:
        load_vectors_file(path)
    assert str(info.value).startswith(f"{name}: ")


@pytest.mark.parametrize("sep, tail", [(b"\n", b""), (b"", b""), (b"\n", b"\n\n\n")],
                         ids=["newline-rows", "gensim-rows", "trailing-newlines"])
def test_binary_rows_that_parse_exactly_load(tmp_path, sep, tail):
    path = tmp_path / "v.bin"
    path.write_bytes(_w2v_binary(["good", "bad", "fine"], 3, sep=sep, tail=tail))
    kv = load_vectors_file(path)
    assert kv.index_to_key == ["good", "bad", "fine"]
    np.testing.assert_array_equal(kv["fine"], [2, 3, 4])


def test_messages_name_the_display_name_not_the_temp_file(tmp_path):
    path = tmp_path / "3f9a0c1d2e4b5a6978695a4b.txt"  # how the dashboard stores an upload
    path.write_bytes(b"good 1 2\ngood 3 4\n")
    with pytest.raises(VectorsError, match=r"^my vectors\.txt: line 2 repeats") as info:
        load_vectors_file(path, display_name="my vectors.txt")
    assert path.name not in str(info.value)
