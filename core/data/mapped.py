"""A corpus larger than memory, tokenised once into memory-mapped arrays (as nanoGPT's
``prepare.py`` writes ``train.bin``): the layout of ``core.data.text.Corpus`` on disk.

One streaming pass over the file (``core.data.streaming``) tokenises each batch, appends its
token ids, lengths and labels to raw files and counts every type (over all rows) and every
(type, class) pair (over the training rows); the train/validation split is a hash of the row's
position, so it needs no rows held. A last pass renumbers the types and classes into sorted
order (as ``Corpus`` keeps them) while copying the raw files into ``.npy`` files. A folder::

    types.json            distinct tokens, sorted
    ids.npy               int32, every token's index in types, texts back to back
    offsets.npy           int64, n_rows + 1; row i is ids[offsets[i]:offsets[i + 1]]
    labels.npy            int64, each row's code into meta's classes (sorted)
    type_counts.npy       int64, occurrences of each type over all rows
    class_counts.npy      int64, types x classes, occurrences over the training rows
    meta.json             classes, columns, rows read/kept, split settings

Memory during preparation depends on the batch and the vocabulary, not on the rows.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.common.checks import bounded, check_fields
from core.common.files import atomic_write
from core.data.streaming import Batch, StreamConfig, batches, stream_format
from core.data.text import Corpus, Vocab, VocabConfig, tokenize
from core.errors import DataError

_CHUNK = 1 << 18  # elements per copy in the final pass (1-2 MB)
_RAW = {"ids": np.int32, "lengths": np.int64, "labels": np.int64}


@dataclass(frozen=True)
class SplitConfig:
    """The hashed split: a row is in validation when the hash of (seed, its position) falls
    below ``val_fraction``; stable without holding the rows, and the same for every batch
    size."""

    val_fraction: float = bounded(0.2, 0.05, 0.5)
    seed: int = bounded(0, 0, 2**32 - 1)

    def __post_init__(self) -> None:
        check_fields(self)


def hashed_validation(rows: np.ndarray, split: SplitConfig) -> np.ndarray:
    """Bool per row position in ``rows``: True for validation (splitmix64 of seed and row)."""
    with np.errstate(over="ignore"):  # the hash relies on uint64 wrap-around
        z = np.asarray(rows, dtype=np.uint64) + np.uint64(split.seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53) < split.val_fraction


class _Counts:
    """A types x classes count table that grows as new types and classes are met."""

    def __init__(self) -> None:
        self.table = np.zeros((1024, 4), dtype=np.int64)
        self.totals = np.zeros(1024, dtype=np.int64)

    def add(self, ids: np.ndarray, n_types: int, train_ids: np.ndarray, train_labels: np.ndarray,
            n_classes: int) -> None:
        rows, cols = self.table.shape
        if n_types > rows or n_classes > cols:
            rows, cols = max(rows, 2 * n_types), max(cols, 2 * n_classes)
            grown = np.zeros((rows, cols), dtype=np.int64)
            grown[: self.table.shape[0], : self.table.shape[1]] = self.table
            self.table = grown
            self.totals = np.concatenate([self.totals, np.zeros(rows - len(self.totals), np.int64)])
        # unique keys, not a bincount over the whole table: memory follows the batch
        keys, n = np.unique(ids, return_counts=True)
        self.totals[keys] += n
        keys, n = np.unique(train_ids.astype(np.int64) * cols + train_labels, return_counts=True)
        self.table.reshape(-1)[keys] += n


class _Writer:
    """Pass one: tokens to provisional ids (first-seen order), appended to raw files."""

    def __init__(self, folder: Path, split: SplitConfig, max_classes: int) -> None:
        self.folder, self.split, self.max_classes = folder, split, max_classes
        self.index: dict[str, int] = {}
        self.classes: dict[str, int] = {}
        self.counts = _Counts()
        self.n_rows = self.n_read = self.n_tokens = 0
        self.files = {name: open(folder / f"{name}.raw", "wb") for name in _RAW}

    def add(self, batch: Batch) -> None:
        token_lists = [tokenize(t) for t in batch.texts]
        setdefault = self.index.setdefault
        ids = np.fromiter((setdefault(t, len(self.index)) for tokens in token_lists
                           for t in tokens), dtype=np.int32)
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
        labels = np.fromiter((self.classes.setdefault(x, len(self.classes)) for x in batch.labels),
                             dtype=np.int64, count=len(batch.labels))
        if len(self.classes) > self.max_classes:
            raise DataError(f"the label column has more than {self.max_classes} classes "
                            "(max_classes)")
        train = ~hashed_validation(np.arange(self.n_rows, self.n_rows + len(labels)), self.split)
        token_train = np.repeat(train, lengths)
        self.counts.add(ids, len(self.index), ids[token_train],
                        np.repeat(labels, lengths)[token_train], len(self.classes))
        for name, arr in (("ids", ids), ("lengths", lengths), ("labels", labels)):
            self.files[name].write(arr.tobytes())
        self.n_rows += len(labels)
        self.n_read += batch.n_read
        self.n_tokens += len(ids)

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def _sorted_order(first_seen: Iterable[str]) -> tuple[list[str], np.ndarray]:
    """(names sorted, new code of each provisional code)."""
    names = list(first_seen)
    order = sorted(range(len(names)), key=names.__getitem__)
    remap = np.empty(len(names), dtype=np.int64)
    remap[order] = np.arange(len(names))
    return [names[i] for i in order], remap


def _copy(folder: Path, name: str, n: int, dtype, convert) -> None:
    """raw file -> ``name.npy`` in chunks, through ``convert(chunk, carry)``; plain reads
    and writes, not memory maps: pages a map touched count in the process's RSS."""
    raw = folder / f"{name if name != 'offsets' else 'lengths'}.raw"
    raw_dtype = np.dtype(_RAW[raw.stem])
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
              "shape": (n,)}
    carry = 0
    with open(folder / f"{name}.npy", "wb") as out, open(raw, "rb") as src:
        np.lib.format.write_array_header_1_0(out, header)
        if name == "offsets":
            out.write(np.zeros(1, dtype=dtype).tobytes())
        while True:
            chunk = np.fromfile(src, dtype=raw_dtype, count=_CHUNK)
            if not len(chunk):
                break
            chunk = convert(chunk, carry)
            carry = int(chunk[-1]) if name == "offsets" else 0
            out.write(np.ascontiguousarray(chunk, dtype=dtype).tobytes())


def _finish(writer: _Writer, columns: tuple[str, str]) -> None:
    folder = writer.folder
    types, type_remap = _sorted_order(writer.index)
    classes, class_remap = _sorted_order(writer.classes)
    if len(classes) < 2:
        raise DataError(f"label column '{columns[1]}' has fewer than 2 classes; a classifier "
                        "needs at least 2")
    _copy(folder, "ids", writer.n_tokens, np.int32, lambda c, _: type_remap[c].astype(np.int32))
    _copy(folder, "offsets", writer.n_rows + 1, np.int64, lambda c, carry: np.cumsum(c) + carry)
    _copy(folder, "labels", writer.n_rows, np.int64, lambda c, _: class_remap[c])
    for raw in _RAW:
        (folder / f"{raw}.raw").unlink()
    n_types, table = len(types), writer.counts.table
    order = np.argsort(type_remap)  # provisional id of each sorted type
    class_order = np.argsort(class_remap)
    np.save(folder / "type_counts.npy", writer.counts.totals[:n_types][order])
    np.save(folder / "class_counts.npy", table[:n_types][order][:, class_order])
    atomic_write(folder / "types.json", json.dumps(types, ensure_ascii=False))
    meta = {"classes": classes, "text_column": columns[0], "label_column": columns[1],
            "n_rows": writer.n_rows, "n_rows_read": writer.n_read, "n_tokens": writer.n_tokens,
            "val_fraction": writer.split.val_fraction, "seed": writer.split.seed}
    atomic_write(folder / "meta.json", json.dumps(meta, ensure_ascii=False, indent=1))


def prepare(path: Path | str, folder: Path | str, config: StreamConfig = StreamConfig(),
            split: SplitConfig = SplitConfig()) -> None:
    """Stream ``path`` into a mapped corpus in ``folder`` (an empty folder; a caller that
    wants the entry complete or absent writes through ``DiskCache.put``)."""
    folder = Path(folder)
    stream_format(path)  # refuse an unstreamable file before anything is written
    columns, rows = batches(path, config)
    writer = _Writer(folder, split, config.max_classes)
    try:
        for batch in rows:
            writer.add(batch)
    finally:
        writer.close()
    if writer.n_rows < 2:
        raise DataError(f"'{Path(path).name}' has {writer.n_rows} usable rows; need at least 2")
    _finish(writer, columns)


@dataclass(frozen=True, eq=False)
class MappedCorpus:
    """A prepared folder opened read-only: the arrays are memory maps."""

    folder: Path
    corpus: Corpus
    labels: np.ndarray
    type_counts: np.ndarray
    class_counts: np.ndarray
    meta: dict

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.meta["classes"])

    @property
    def split(self) -> SplitConfig:
        return SplitConfig(self.meta["val_fraction"], self.meta["seed"])

    def validation(self, rows: np.ndarray) -> np.ndarray:
        """Bool per row of ``rows``: True when in validation (the split counted at prepare)."""
        return hashed_validation(rows, self.split)

    def vocab(self, config: VocabConfig = VocabConfig()) -> tuple[Vocab, np.ndarray]:
        """The vocabulary and each type's row, from the counts alone (no pass over tokens)."""
        return Vocab.from_type_counts(self.corpus.types, self.type_counts, self.class_counts,
                                      config)


def open_mapped(folder: Path | str) -> MappedCorpus:
    """A prepared folder's arrays, memory-mapped read-only (the small ones read whole)."""
    folder = Path(folder)

    def load(name: str, mmap: bool = True) -> np.ndarray:
        return np.load(folder / f"{name}.npy", mmap_mode="r" if mmap else None,
                       allow_pickle=False)

    types = tuple(json.loads((folder / "types.json").read_text(encoding="utf-8")))
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return MappedCorpus(folder, Corpus(types, load("ids"), load("offsets")), load("labels"),
                        load("type_counts", False), load("class_counts", False), meta)
