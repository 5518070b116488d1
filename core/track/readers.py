"""Embedding tables from saved files, read without running any code from them (no pickle, no
model deserialisation) and with the caps of today's vector files (``core.vectors.pretrained``:
file bytes, word count, dimension), checked on the file's own claims before a table is read.

Formats, told by name and checked by their first bytes (a file that is not what its name says
is refused): ``.safetensors`` (the ``safetensors`` package, which validates the header against
the file's length), Keras ``.weights.h5`` / ``.h5`` (h5py: a Keras 3 ``Embedding`` table is at
``layers/<name>/vars/0``), ``.keras`` (a zip holding ``model.weights.h5``, read with zipfile
+ h5py), TensorBoard projector ``.tsv`` (vectors; the words come from ``metadata.tsv``) and
word2vec / GloVe text or binary (``.txt``, ``.vec``, ``.bin``: the product's safe loader).
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.common.cells import METADATA_COLUMNS, tsv_unescape, unneutralise
from core.common.lines import bounded_lines, too_many_fields
from core.errors import VectorsError
from core.track import hdf5
from core.track.hdf5 import HDF5_MAGIC, ZIP_MAGIC
from core.vectors.pretrained import DEFAULT_MAX_BYTES, DEFAULT_MAX_WORDS, MAX_DIM

WORD_VECTOR_SUFFIXES = (".txt", ".vec", ".bin")
ACCEPTED = (".safetensors, Keras .weights.h5 / .h5 / .keras, TensorBoard projector "
            "vectors .tsv (words from metadata.tsv), word2vec/GloVe .txt / .vec / .bin")
METADATA_HEADER = "\t".join(METADATA_COLUMNS)  # the product's own metadata.tsv
MAX_HEADER_BYTES = 8 * 2**20  # ~80,000 tensors' names, shapes and offsets
_FLOAT_DTYPES = {"F16", "F32", "F64"}  # safetensors dtypes numpy can read


@dataclass(frozen=True)
class Table:
    """One file's embedding table: which tensor, its rows, and the words if the file has them."""

    name: str
    matrix: np.ndarray
    tokens: list[str] | None = None


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_words: int = DEFAULT_MAX_WORDS
    max_dim: int = MAX_DIM


def refuse(name: str, why: str) -> VectorsError:
    return VectorsError(f"{name}: {why}")


def read_table(path: Path, tensor: str | None = None, limits: Limits = Limits(),
               display: str | None = None) -> Table:
    """The embedding table of one file (``tensor``: its name; else the only 2-D tensor, else
    the one whose name contains "embedding"); ``VectorsError`` naming the file otherwise."""
    name = display or path.name
    if _checked_size(path, name, limits) == 0:
        raise refuse(name, "the file is empty")
    with path.open("rb") as fh:
        head = fh.read(16)
    reader = _reader_for(name, head)
    return reader(path, name, head, tensor, limits)


def _checked_size(path: Path, name: str, limits: Limits) -> int:
    """The file's size, refused before it is read when missing or over the byte cap."""
    if not path.is_file():
        raise refuse(name, "no such file")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise refuse(name, f"the file has {size:,} bytes; the limit is {limits.max_bytes:,}")
    return size


def _reader_for(name: str, head: bytes) -> Callable[..., Table]:
    lower = name.lower()
    if lower.endswith(".safetensors"):
        return _safetensors
    if lower.endswith((".h5", ".hdf5")):
        return _hdf5_file
    if lower.endswith(".keras"):
        return _keras_zip
    if lower.endswith(".tsv"):
        return _projector_tsv
    if lower.endswith(WORD_VECTOR_SUFFIXES):
        return _word_vectors
    raise refuse(name, f"unknown format; accepted: {ACCEPTED}")


# ----------------------------------------------------------------------- tensor choice

def choose(name: str, shapes: dict[str, tuple[int, ...]], tensor: str | None) -> str:
    """Which tensor is the embedding table (see ``read_table``); refuses with the candidates."""
    flat = {k: v for k, v in shapes.items() if len(v) == 2}
    listing = ", ".join(f"{k} {list(v)}" for k, v in sorted(flat.items())) or "none"
    if tensor is not None:
        if tensor not in flat:
            raise refuse(name, f"has no 2-D tensor named {tensor!r}; its 2-D tensors: {listing}")
        return tensor
    if len(flat) == 1:
        return next(iter(flat))
    named = [k for k in flat if "embedding" in k.lower()]
    if len(named) == 1:
        return named[0]
    why = "no 2-D tensor" if not flat else "several 2-D tensors and not exactly one named "\
                                            "'embedding'"
    raise refuse(name, f"{why}; choose one with --tensor. Candidates: {listing}")


def check_shape(name: str, shape: tuple[int, ...], limits: Limits) -> None:
    """The caps, on the shape a file claims, before any of it is read."""
    rows, dim = shape
    if not 1 <= dim <= limits.max_dim:
        raise refuse(name, f"vector dimension {dim:,} is outside 1..{limits.max_dim}")
    if not 1 <= rows <= limits.max_words:
        raise refuse(name, f"the table claims {rows:,} rows; the limit is {limits.max_words:,}")


def _finite(name: str, matrix: np.ndarray, tensor: str) -> np.ndarray:
    if not np.issubdtype(matrix.dtype, np.floating):
        raise refuse(name, f"tensor {tensor!r} holds {matrix.dtype} values, not floats")
    matrix = np.asarray(matrix, dtype=np.float32)
    if not np.isfinite(matrix).all():
        row = int(np.flatnonzero(~np.isfinite(matrix).all(axis=1))[0])
        raise refuse(name, f"row {row} of {tensor!r} has NaN or infinite values")
    return matrix


# ----------------------------------------------------------------------- safetensors

def _safetensors(path: Path, name: str, head: bytes, tensor: str | None,
                 limits: Limits) -> Table:
    from safetensors import safe_open

    claimed = _safetensors_header(path, name, head)
    chosen = choose(name, {k: tuple(v.get("shape", ())) for k, v in claimed.items()}, tensor)
    check_shape(name, tuple(claimed[chosen]["shape"]), limits)
    try:
        with safe_open(str(path), framework="numpy") as f:
            dtype = f.get_slice(chosen).get_dtype()
            if dtype not in _FLOAT_DTYPES:
                raise refuse(name, f"tensor {chosen!r} is {dtype}; accepted: F16, F32, F64")
            matrix = f.get_tensor(chosen)
    except VectorsError:
        raise
    except Exception as exc:  # the package's own refusal of a damaged or lying header
        raise refuse(name, f"not a valid safetensors file ({exc})") from None
    return Table(chosen, _finite(name, matrix, chosen))


def _safetensors_header(path: Path, name: str, head: bytes) -> dict[str, dict]:
    """The tensors a safetensors header claims (read as JSON, never trusted for sizes: the
    shapes are checked against the caps, the package checks them against the file)."""
    n = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else 0
    if len(head) < 9 or head[8:9] != b"{" or n > path.stat().st_size - 8:
        raise refuse(name, "not a safetensors file (it must start with an 8-byte header "
                           "length and a JSON header)")
    if n > MAX_HEADER_BYTES:  # parsing JSON costs many times its size in memory
        raise refuse(name, f"its safetensors header has {n:,} bytes; the limit is "
                           f"{MAX_HEADER_BYTES:,}")
    with path.open("rb") as fh:
        fh.seek(8)
        raw = fh.read(n)
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise refuse(name, f"its safetensors header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise refuse(name, "its safetensors header is not a JSON object")
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    bad = [k for k, v in tensors.items() if not (isinstance(v, dict) and isinstance(
        v.get("shape"), list) and all(isinstance(d, int) and d >= 0 for d in v["shape"]))]
    if bad:
        raise refuse(name, f"tensor {bad[0]!r} has no valid shape in the header")
    return tensors


# ----------------------------------------------------------------------- Keras / HDF5

def _hdf5_file(path: Path, name: str, head: bytes, tensor: str | None,
               limits: Limits) -> Table:
    if not head.startswith(HDF5_MAGIC):
        raise refuse(name, "not an HDF5 file (a Keras .weights.h5 starts with the HDF5 "
                           "signature)")
    return _hdf5(path, name, tensor, limits)


def _hdf5(source: Path, name: str, tensor: str | None, limits: Limits) -> Table:
    """The table of an HDF5 file, read only after ``hdf5.inventory`` and ``check_table``."""
    import h5py

    try:
        with h5py.File(source, "r", locking=False) as f:
            datasets = hdf5.inventory(name, f)
            chosen = choose(name, {k: tuple(d.shape) for k, d in datasets.items()}, tensor)
            check_shape(name, tuple(datasets[chosen].shape), limits)
            hdf5.check_table(name, chosen, datasets[chosen], limits.max_bytes)
            matrix = datasets[chosen][()]
    except VectorsError:
        raise
    except Exception as exc:  # h5py's refusal of a damaged file
        raise refuse(name, f"could not be read as HDF5 ({type(exc).__name__}: {exc})") from None
    return Table(chosen, _finite(name, matrix, chosen))


def _keras_zip(path: Path, name: str, head: bytes, tensor: str | None,
               limits: Limits) -> Table:
    if not head.startswith(ZIP_MAGIC):
        raise refuse(name, "not a .keras file (a .keras model is a zip archive)")
    with hdf5.temp_folder() as tmp:
        weights = hdf5.keras_weights(path, name, limits.max_bytes, Path(tmp))
        with weights.open("rb") as fh:
            if not fh.read(8).startswith(HDF5_MAGIC):
                raise refuse(name, "its model.weights.h5 is not an HDF5 file")
        return _hdf5(weights, name, tensor, limits)


# ----------------------------------------------------------------------- projector TSV

def _projector_tsv(path: Path, name: str, head: bytes, tensor: str | None,
                   limits: Limits) -> Table:
    rows: list[np.ndarray] = []
    with path.open("rb") as fh:
        for line_no, raw in bounded_lines(fh, lambda why: refuse(name, why)):
            if len(rows) == limits.max_words:
                raise refuse(name, f"more than {limits.max_words:,} rows; the limit is "
                                   f"{limits.max_words:,}")
            rows.append(_tsv_row(name, raw, line_no, len(rows[0]) if rows else None, limits))
            if len(rows) * rows[0].nbytes > limits.max_bytes:  # the decoded-size budget
                raise refuse(name, f"its first {len(rows):,} rows already decode to more than "
                                   f"{limits.max_bytes:,} bytes of float32, the limit")
    if not rows:
        raise refuse(name, "the file holds no vectors")
    return Table("vectors", _finite(name, np.stack(rows), "vectors"))


def _tsv_row(name: str, raw: bytes, line_no: int, width: int | None,
             limits: Limits) -> np.ndarray:
    if b"\x00" in raw:
        raise refuse(name, "not a text file (it holds NUL bytes); a projector vectors.tsv "
                           "is tab-separated numbers")
    if too_many_fields(raw, b"\t", limits.max_dim):  # counted before splitting
        raise refuse(name, f"line {line_no} has more than {limits.max_dim:,} values; "
                           f"dimensions must be in 1..{limits.max_dim}")
    fields = raw.rstrip(b"\r\n").split(b"\t")
    if width is None and not 1 <= len(fields) <= limits.max_dim:
        raise refuse(name, f"line {line_no} has {len(fields):,} values; dimensions must be in "
                           f"1..{limits.max_dim}")
    if width is not None and len(fields) != width:
        raise refuse(name, f"line {line_no} has {len(fields)} values, expected {width}")
    try:
        values = [float(x) for x in fields]
    except ValueError:
        raise refuse(name, f"line {line_no} is not tab-separated numbers (a projector "
                           "vectors.tsv; the words go in metadata.tsv)") from None
    if not all(math.isfinite(v) for v in values):
        raise refuse(name, f"line {line_no} has NaN or infinite values")
    return np.array(values, dtype=np.float32)  # 4 bytes a value: at most twice the text


def read_words(path: Path, limits: Limits = Limits(), display: str | None = None,
               metadata: bool = False) -> list[str]:
    """A vocabulary file: one token per line (split on LF only, a CRLF end removed: a token
    may hold U+2028, NEL or a lone CR), line i = row i. ``metadata``: a projector
    metadata.tsv, whose first column holds the words (after a header line when it has
    several columns); the product's own (``METADATA_HEADER``) has its cells escaped and
    neutralised, which is undone."""
    name = display or path.name
    _checked_size(path, name, limits)
    lines: list[str] = []
    with path.open("rb") as fh:
        for line_no, raw in bounded_lines(fh, lambda why: refuse(name, why)):
            if b"\x00" in raw:
                raise refuse(name, "not a text file (it holds NUL bytes); a vocabulary is one "
                                   "token per line")
            if len(lines) > limits.max_words:
                raise refuse(name, f"more than {limits.max_words:,} tokens; the limit is "
                                   f"{limits.max_words:,}")
            lines.append(_line_text(raw))
    if metadata and lines and "\t" in lines[0]:
        ours = lines[0] == METADATA_HEADER
        lines = [_metadata_word(line, ours) for line in lines[1:]]
    if len(lines) > limits.max_words:
        raise refuse(name, f"{len(lines):,} tokens; the limit is {limits.max_words:,}")
    return lines


def _line_text(raw: bytes) -> str:
    if raw.endswith(b"\r\n"):
        raw = raw[:-2]
    elif raw.endswith(b"\n"):
        raw = raw[:-1]
    return raw.decode("utf-8", errors="replace")


def _metadata_word(line: str, ours: bool) -> str:
    cell = line.split("\t")[0]
    return unneutralise(tsv_unescape(cell)) if ours else cell


# ----------------------------------------------------------------------- word vectors

def _word_vectors(path: Path, name: str, head: bytes, tensor: str | None,
                  limits: Limits) -> Table:
    from core.vectors.pretrained import load_vectors_file

    kv = load_vectors_file(path, max_bytes=limits.max_bytes, max_words=limits.max_words,
                           display_name=name)
    return Table("vectors", np.asarray(kv.vectors, dtype=np.float32), list(kv.index_to_key))
