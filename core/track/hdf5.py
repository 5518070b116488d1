"""Keras ``.weights.h5`` / ``.h5`` and the ``model.weights.h5`` inside a ``.keras``, read with
h5py only after every object in the file has been checked, without reading a byte of data:

- a dataset must keep its bytes inside the file: external storage (``external=``, which can
  name any file the server reads, a FIFO or the zero device), virtual datasets (whose sources
  are other files) and external links are refused, naming the object;
- the chosen table must be a plain 2-D float array, within the row/dimension caps, declaring
  no more bytes than ``Limits.max_bytes``, and no more than ``core.common.expansion`` allows
  for the bytes it actually stores (a table left to its fill value, or compressed a thousand
  times, is a memory bomb).
"""
from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from core.common.expansion import over_expansion
from core.errors import VectorsError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
KERAS_WEIGHTS = "model.weights.h5"


def _refuse(name: str, why: str) -> VectorsError:
    return VectorsError(f"{name}: {why}")


def inventory(name: str, group: Any) -> dict[str, Any]:
    """Every dataset in the file by path, after refusing any object whose data lives outside
    the file. Links are looked at, never followed (HDF5's own link walk, which visits each
    object once: a file linking a group into itself cannot loop)."""
    import h5py

    links: list[tuple[str, Any]] = []
    # collected first: an exception raised inside h5py's walk does not come out as itself
    group.visititems_links(lambda path, link: links.append((path, link)))
    found: dict[str, Any] = {}
    for path, link in links:
        if isinstance(link, h5py.ExternalLink):
            raise _refuse(name, f"{path!r} is an external link to {link.filename!r}; only "
                                "data stored inside the file is read")
        if isinstance(link, h5py.HardLink):
            obj = group[path]
            if isinstance(obj, h5py.Dataset):
                check_storage(name, path, obj)
                found[path] = obj
    return found


def check_storage(name: str, path: str, dataset: Any) -> None:
    """Refuse a dataset whose storage is not inside the file (before reading it)."""
    import h5py

    plist = dataset.id.get_create_plist()
    if dataset.is_virtual or plist.get_layout() == h5py.h5d.VIRTUAL:
        raise _refuse(name, f"dataset {path!r} is a virtual dataset (its data lives in other "
                            "files); only data stored inside the file is read")
    if plist.get_external_count() > 0:
        where = plist.get_external(0)[0].decode("utf-8", "replace")
        raise _refuse(name, f"dataset {path!r} keeps its data in an external file "
                            f"({where!r}); only data stored inside the file is read")


def check_table(name: str, path: str, dataset: Any, max_bytes: int) -> None:
    """The chosen table: plain floats, its declared bytes within ``max_bytes`` and within
    what the file stores for it."""
    dtype = dataset.dtype
    if dtype.subdtype is not None or dtype.fields is not None or dtype.kind != "f":
        raise _refuse(name, f"dataset {path!r} holds {dtype} values; an embedding table must "
                            "be a plain 2-D array of floats (float16/32/64)")
    declared = int(np.prod(dataset.shape, dtype=np.int64)) * dtype.itemsize
    if declared > max_bytes:
        raise _refuse(name, f"dataset {path!r} declares {declared:,} bytes; the limit is "
                            f"{max_bytes:,}")
    stored = dataset.id.get_storage_size()
    limit = over_expansion(declared, stored)
    if limit is not None:
        raise _refuse(name, f"dataset {path!r} declares {declared:,} bytes but stores "
                            f"{stored:,} (a fill value or compression would expand it past "
                            f"{limit:,} bytes): refused as a possible decompression bomb")


def keras_weights(path: Path, name: str, max_bytes: int, folder: Path) -> Path:
    """The ``model.weights.h5`` of a ``.keras`` zip, copied into ``folder`` after its declared
    size was checked against the byte cap and against its compressed size (zip bombs); the
    copy stops at the declared size (zipfile enforces it)."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(KERAS_WEIGHTS)
            _check_member(name, info, max_bytes)
            out = folder / "model.weights.h5"
            with archive.open(info) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    except KeyError:
        raise _refuse(name, "the archive holds no model.weights.h5 (not a Keras 3 .keras "
                            "file)") from None
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError) as exc:
        raise _refuse(name, f"a damaged zip archive ({exc})") from None
    return out


def _check_member(name: str, info: zipfile.ZipInfo, max_bytes: int) -> None:
    if info.file_size > max_bytes:
        raise _refuse(name, f"its {KERAS_WEIGHTS} unpacks to {info.file_size:,} bytes; the "
                            f"limit is {max_bytes:,}")
    limit = over_expansion(info.file_size, info.compress_size)
    if limit is not None:
        raise _refuse(name, f"its {KERAS_WEIGHTS} unpacks to {info.file_size:,} bytes from "
                            f"{info.compress_size:,} (over {limit:,}): refused as a possible "
                            "zip bomb")


def temp_folder() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="explorer-keras-")
