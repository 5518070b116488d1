"""Hostile files for ``python -m core import`` (issue 18), built on demand into a folder:
HDF5 datasets whose bytes live outside the file (external storage on a secret file, a FIFO,
the zero device; virtual datasets; external links), the same inside a ``.keras``, memory
bombs (fill values, compression, a zip bomb, a huge safetensors header, a 100 MB line) and
dtypes that are not tables. Each ``ImportCase`` names the message the user must see."""
from __future__ import annotations

import json
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

SECRET_LINE = "root:x:0:0:secret-marker-line:/root:/bin/bash\n"


@dataclass(frozen=True)
class ImportCase:
    id: str
    build: Callable[[Path], list[str]]  # folder -> the CLI's file arguments (and options)
    expect: str                         # regex matched against the one stderr line
    seconds: int = 120                  # wall-clock guard only (a FIFO hangs for ever)


def _secret(folder: Path) -> Path:
    path = folder / "secret.txt"
    path.write_text(SECRET_LINE * 20)
    return path


def _h5(path: Path, fill: Callable) -> Path:


    with h5py.File(path, "w") as f:
        fill(f)
    return path


def _external(target: Callable[[Path], str], shape=(20, 4)) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        where = target(folder)
        size = int(np.prod(shape)) * 4
        _h5(folder / "ext.weights.h5", lambda f: f.create_dataset(
            "layers/embedding/vars/0", shape=shape, dtype="f4", external=[(where, 0, size)]))
        return [str(folder / "ext.weights.h5")]
    return build


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "pipe")
    return str(folder / "pipe")


def _vds(folder: Path) -> list[str]:


    _h5(folder / "other.h5", lambda f: f.create_dataset("t", data=np.ones((20, 4), "f4")))
    layout = h5py.VirtualLayout(shape=(20, 4), dtype="f4")
    layout[:] = h5py.VirtualSource(str(folder / "other.h5"), "t", shape=(20, 4))
    _h5(folder / "vds.weights.h5", lambda f: f.create_virtual_dataset("embedding", layout))
    return [str(folder / "vds.weights.h5")]


def _external_link(folder: Path) -> list[str]:


    _h5(folder / "other.h5", lambda f: f.create_dataset("t", data=np.ones((20, 4), "f4")))

    def fill(f):
        f.create_dataset("small", data=np.ones((20, 4), "f4"))
        f["embedding"] = h5py.ExternalLink(str(folder / "other.h5"), "/t")
    _h5(folder / "link.weights.h5", fill)
    return [str(folder / "link.weights.h5"), "--tensor", "embedding"]


def _fill_bomb(f, compression=None):
    f.create_dataset("embedding", shape=(500_000, 1000), dtype="f8", compression=compression,
                     chunks=(1000, 1000) if compression else None)


def _written_zeros(f):
    """100,000 x 500 float64 zeros, written (400 MB decoded) and gzip-compressed (~0.4 MB)."""
    d = f.create_dataset("embedding", shape=(100_000, 500), dtype="f8", compression="gzip",
                         compression_opts=1, chunks=(10_000, 500))
    block = np.zeros((10_000, 500))
    for start in range(0, 100_000, 10_000):
        d[start:start + 10_000] = block


def _keras(inner: Callable[[Path], Path], compress=zipfile.ZIP_DEFLATED):
    def build(folder: Path) -> list[str]:
        weights = inner(folder)
        with zipfile.ZipFile(folder / "model.keras", "w", compress) as z:
            z.writestr("config.json", json.dumps({"class_name": "Sequential"}))
            z.write(weights, "model.weights.h5")
        weights.unlink()
        return [str(folder / "model.keras")]
    return build


def _contiguous_zeros(folder: Path) -> Path:
    """An honest contiguous 400 MB table of zeros: only its zip makes it a bomb."""
    def fill(f):
        d = f.create_dataset("embedding", shape=(100_000, 500), dtype="f8")
        for start in range(0, 100_000, 10_000):
            d[start:start + 10_000] = np.zeros((10_000, 500))
    return _h5(folder / "inner.h5", fill)


def _safetensors_header(folder: Path) -> list[str]:
    table = np.ones((20, 4), "f4").tobytes()
    header = json.dumps({"__metadata__": {"pad": "x" * 90_000_000},
                         "embedding": {"dtype": "F32", "shape": [20, 4],
                                       "data_offsets": [0, len(table)]}}).encode()
    (folder / "big.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + table)
    return [str(folder / "big.safetensors")]


def _long_line(name: str, prefix: bytes, sep: bytes) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        with (folder / name).open("wb") as fh:
            fh.write(prefix)
            chunk = (b"0" + sep) * 1_000_000
            for _ in range(50):  # 100 MB on one line
                fh.write(chunk)
            fh.write(b"0\n")
        return [str(folder / name)]
    return build


def _dtype(dtype, data=None) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        _h5(folder / "odd.weights.h5", lambda f: f.create_dataset(
            "embedding", shape=(20, 4), dtype=dtype, data=data))
        return [str(folder / "odd.weights.h5"), "--vocab", str(_vocab(folder, 20))]
    return build


def _vocab(folder: Path, n: int) -> Path:
    path = folder / "vocab.txt"
    path.write_text("".join(f"w{i}\n" for i in range(n)))
    return path


def _with_vocab(build: Callable[[Path], list[str]], n: int = 20):
    return lambda folder: build(folder) + ["--vocab", str(_vocab(folder, n))]


CASES = [
    ImportCase("h5-external-secret", _with_vocab(_external(lambda d: str(_secret(d)))),
               r"ext\.weights\.h5: dataset 'layers/embedding/vars/0' keeps its data in an "
               r"external file"),
    ImportCase("h5-external-passwd", _with_vocab(_external(lambda d: "/etc/passwd")),
               r"external file \('/etc/passwd'\)"),
    ImportCase("h5-external-fifo", _with_vocab(_external(_fifo)), r"external file", seconds=60),
    ImportCase("h5-external-devzero",
               _with_vocab(_external(lambda d: "/dev/zero", (500_000, 1000)), 500_000),
               r"external file \('/dev/zero'\)"),
    ImportCase("h5-virtual-dataset", _with_vocab(_vds), r"'embedding' is a virtual dataset"),
    ImportCase("h5-external-link", _with_vocab(_external_link),
               r"'embedding' is an external link"),
    ImportCase("keras-external-secret",
               _with_vocab(_keras(lambda d: Path(_external(lambda d: str(_secret(d)))(d)[0]))),
               r"model\.keras: dataset .* keeps its data in an external file"),
    ImportCase("h5-fill-value-bomb", _with_vocab(lambda d: [str(_h5(d / "fill.weights.h5",
                                                                    _fill_bomb))], 500_000),
               r"declares 4,000,000,000 bytes; the limit is"),
    ImportCase("h5-gzip-fill-bomb",
               _with_vocab(lambda d: [str(_h5(d / "gz.weights.h5",
                                              lambda f: _fill_bomb(f, "gzip")))], 500_000),
               r"declares 4,000,000,000 bytes"),
    ImportCase("h5-gzip-zeros-bomb", _with_vocab(lambda d: [str(_h5(d / "z.weights.h5",
                                                                    _written_zeros))], 100_000),
               r"declares 400,000,000 bytes but stores .* possible decompression bomb"),
    ImportCase("keras-fill-value-bomb",
               _with_vocab(_keras(lambda d: _h5(d / "i.h5", _fill_bomb)), 500_000),
               r"model\.keras: dataset 'embedding' declares 4,000,000,000 bytes"),
    ImportCase("keras-gzip-zeros-bomb",
               _with_vocab(_keras(lambda d: _h5(d / "i.h5", _written_zeros)), 100_000),
               r"model\.keras: .*possible decompression bomb"),
    ImportCase("keras-zip-bomb", _with_vocab(_keras(_contiguous_zeros), 100_000),
               r"model\.keras: its model\.weights\.h5 unpacks to 400,\d{3},\d{3} bytes from "
               r".*zip bomb"),
    ImportCase("safetensors-90mb-header", _with_vocab(_safetensors_header),
               r"big\.safetensors: its safetensors header has 90,\d{3},\d{3} bytes; the "
               r"limit is"),
    ImportCase("projector-100mb-line", _long_line("vectors.tsv", b"", b"\t"),
               r"vectors\.tsv: line 1 is longer than [\d,]+ bytes"),
    ImportCase("glove-100mb-line", _long_line("glove.txt", b"w ", b" "),
               r"glove\.txt: line 1 is longer than [\d,]+ bytes"),
    ImportCase("word2vec-100mb-line", _long_line("w2v.txt", b"1 1000\nw ", b" "),
               r"w2v\.txt: line 2 is longer than [\d,]+ bytes"),
    ImportCase("h5-subarray-dtype", _dtype(np.dtype(("f4", (2,)))),
               r"odd\.weights\.h5: dataset 'embedding' holds .*plain 2-D array of floats"),
    ImportCase("h5-string-dtype", _dtype("S8"),
               r"odd\.weights\.h5: dataset 'embedding' holds .*plain 2-D array of floats"),
    ImportCase("h5-object-dtype", _dtype(h5py.vlen_dtype(np.float32)),
               r"odd\.weights\.h5: dataset 'embedding' holds .*plain 2-D array of floats"),
]
