"""Training from a streamed data set (``core.store.streamed``): the preparation of a
memory-mapped corpus, whose tokens are never all in memory.

``prepare`` (``core.training.preparation``) holds every token's row id (int64) and every
text; here the row ids are written once, chunked, to an int32 file (each text cut at
``max_len``, an empty text given one ``<unk>``), and the loop reads the rows it needs from
that file with plain reads (``MappedTexts.gather``): pages of a memory map that a process
touched count in its RSS, reads do not. The split is the corpus's hashed split; an epoch
visits contiguous blocks of rows in a random order, each block shuffled (``blocks``), so a
block is one read. What stays per row in memory: the split's indices, labels and lengths
(about 30 bytes a row, against ~40 bytes a token before).
"""
from __future__ import annotations

import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.data.mapped import MappedCorpus
from core.data.text import Vocab, VocabConfig
from core.errors import DataError
from core.training.config import TrainConfig
from core.training.preparation import RANDOM_INIT_STD, Prepared

_ROWS = 1 << 16  # rows per chunk of the one writing pass
_GAP = 1024  # rows between two wanted rows beyond which gather reads them apart
_BLOCK_BATCHES = 32  # batches per block: one read, one shuffle


class MappedTexts:
    """The bag's input read from the clipped row-id file: what ``bag.FlatTexts`` gives,
    without the ids in memory. ``block_rows`` bounds how many texts one gather holds."""

    def __init__(self, folder: Path, batch_size: int) -> None:
        self.ids_path, self.offsets_path = folder / "flat.bin", folder / "offsets.bin"
        self.block_rows = _BLOCK_BATCHES * batch_size

    def _span(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows lo..hi-1 read at once: their ids and their offsets (n + 1) into them."""
        offsets = _read_items(self.offsets_path, np.int64, lo, hi - lo + 1)
        ids = _read_items(self.ids_path, np.int32, int(offsets[0]), int(offsets[-1] - offsets[0]))
        return ids, offsets - offsets[0]

    def gather(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The texts ``rows``, in that order: their ids back to back and where each starts;
        rows near each other are read in one piece."""
        wanted = rows.numpy()
        order = np.argsort(wanted, kind="stable")
        sorted_rows = wanted[order]
        cuts = np.flatnonzero(np.diff(sorted_rows) > _GAP) + 1
        starts, lens = np.empty(len(wanted), np.int64), np.empty(len(wanted), np.int64)
        pieces, base = [], 0
        for group, where in zip(np.split(sorted_rows, cuts), np.split(order, cuts)):
            if not len(group):
                continue
            ids, offsets = self._span(int(group[0]), int(group[-1]) + 1)
            local = group - group[0]
            starts[where] = base + offsets[local]
            lens[where] = offsets[local + 1] - offsets[local]
            pieces.append(ids)
            base += len(ids)
        read = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
        out_starts = np.cumsum(lens) - lens
        where = np.repeat(starts - out_starts, lens) + np.arange(int(lens.sum()))
        return (torch.from_numpy(read[where].astype(np.int64)),
                torch.from_numpy(out_starts))


def blocks(train_idx: np.ndarray, block_rows: int, generator: torch.Generator) -> torch.Tensor:
    """One epoch's order: contiguous blocks of ``block_rows`` training rows in a random
    order, the rows of each block shuffled (so each block is one read of the file)."""
    starts = torch.arange(0, len(train_idx), block_rows)
    parts = []
    for s in starts[torch.randperm(len(starts), generator=generator)].tolist():
        part = torch.from_numpy(train_idx[s: s + block_rows])
        parts.append(part[torch.randperm(len(part), generator=generator)])
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.int64)


@dataclass
class MappedPrepared(Prepared):
    """``Prepared`` of a mapped corpus: ``flat`` is empty (the ids are in ``folder``),
    ``lengths`` are the clipped lengths (int32)."""

    folder: Path | None = None

    def bag_input(self, batch_size: int) -> MappedTexts:
        return MappedTexts(self.folder, batch_size)

    def epoch_order(self, generator: torch.Generator, batch_size: int) -> torch.Tensor:
        return blocks(self.train_idx, _BLOCK_BATCHES * batch_size, generator)

    @functools.cached_property
    def n_unseen(self) -> np.ndarray:
        """Per text, its tokens never seen in training (one chunked pass over the file)."""
        texts, seen = MappedTexts(self.folder, 1), self.vocab.seen_in_training
        out = np.empty(len(self.lengths), dtype=np.int32)
        for lo in range(0, len(out), _ROWS):
            ids, offsets = texts._span(lo, min(lo + _ROWS, len(out)))
            unseen = np.concatenate([[0], np.cumsum(~seen[ids])])
            out[lo: lo + len(offsets) - 1] = unseen[offsets[1:]] - unseen[offsets[:-1]]
        return out

    def close(self) -> None:
        """Remove the run's row-id files."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_rows(mapped: MappedCorpus, row_of_type: np.ndarray, max_len: int, folder: Path
                ) -> np.ndarray:
    """The clipped row ids and offsets to ``folder``, chunk by chunk; returns the lengths."""
    from core.training.preparation import _clipped

    n = len(mapped.labels)
    lengths = np.empty(n, dtype=np.int32)
    done = 0
    with open(folder / "flat.bin", "wb") as flat, open(folder / "offsets.bin", "wb") as offs:
        offs.write(np.zeros(1, dtype=np.int64).tobytes())
        for lo in range(0, n, _ROWS):
            hi = min(lo + _ROWS, n)
            offsets = _npy_read(mapped.folder / "offsets.npy", np.int64, lo, hi - lo + 1)
            start = int(offsets[0])
            ids = _npy_read(mapped.folder / "ids.npy", np.int32, start, int(offsets[-1]) - start)
            kept, lens = _clipped(row_of_type[ids], offsets - start, max_len)
            flat.write(kept.astype(np.int32).tobytes())
            offs.write((np.cumsum(lens) + done).astype(np.int64).tobytes())
            done += int(lens.sum())
            lengths[lo:hi] = lens
    return lengths


@functools.lru_cache(maxsize=8)
def _header_size(path: Path) -> int:
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        return f.tell()


def _read_items(path: Path, dtype, start: int, count: int, header: int = 0) -> np.ndarray:
    """``count`` items of a raw file (after ``header`` bytes) from item ``start``, by a
    plain read."""
    offset = header + start * np.dtype(dtype).itemsize
    return np.fromfile(path, dtype=dtype, count=count, offset=offset)


def _npy_read(path: Path, dtype, start: int, count: int) -> np.ndarray:
    """``count`` items of a .npy file from item ``start``."""
    return _read_items(path, dtype, start, count, _header_size(path))


def prepare_mapped(mapped: MappedCorpus, config: TrainConfig, work: Path) -> MappedPrepared:
    """The run's preparation from a mapped corpus; its row-id files go to a new folder
    under ``work`` (``MappedPrepared.close`` removes it). Random init only: the pretrained
    inits need the corpus's words matched against vectors, not done for streamed sets yet."""
    if config.arch != "bag" or config.objective != "classify":
        raise DataError("arch/objective: a streamed data set trains the bag classifier only, "
                          f"got {config.arch}/{config.objective}")
    if config.init != "random":
        raise DataError(f"init: a streamed data set trains from random init only, got "
                          f"'{config.init}'")
    vocab, row_of_type = mapped.vocab(VocabConfig(min_count=config.min_count,
                                                  max_size=config.max_vocab))
    work.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="rows-", dir=work))
    lengths = _write_rows(mapped, row_of_type, config.max_len, folder)
    val = np.concatenate([mapped.validation(np.arange(lo, min(lo + _ROWS, len(lengths))))
                          for lo in range(0, len(lengths), _ROWS)])
    val_idx, train_idx = np.flatnonzero(val), np.flatnonzero(~val)
    rng = np.random.default_rng(config.seed)
    doc_idx = np.sort(rng.choice(val_idx, size=min(config.doc_sample, len(val_idx)),
                                 replace=False))
    weights = rng.normal(0.0, RANDOM_INIT_STD, (len(vocab), config.dim)).astype(np.float32)
    weights[0] = 0.0
    return MappedPrepared(vocab, np.zeros(0, dtype=np.int64), lengths, train_idx, val_idx,
                          doc_idx, weights, np.zeros(len(vocab), dtype=bool),
                          {"token_share": 0.0, "vocab_share": 0.0}, folder=folder)


class StreamedTexts:
    """What the recorder reads of a data set, for a streamed one: its labels (mapped),
    classes, id, and a text as its tokens joined by spaces (the file is not read again)."""

    def __init__(self, mapped: MappedCorpus, dataset_id: str) -> None:
        self.mapped, self.dataset_id = mapped, dataset_id
        self.labels, self.classes = mapped.labels, mapped.classes
        self.texts = _TokenText(mapped)

    def fingerprint(self) -> str:
        return self.dataset_id

    def __len__(self) -> int:
        return len(self.labels)


class _TokenText:
    def __init__(self, mapped: MappedCorpus) -> None:
        self.mapped = mapped

    def __getitem__(self, row: int) -> str:
        c = self.mapped.corpus
        ids = c.ids[int(c.offsets[row]): int(c.offsets[row + 1])]
        return " ".join(c.types[i] for i in ids)


def train_streamed(store, dataset_id: str, config: TrainConfig, **train_args):
    """``trainer.train_run`` on the streamed data set ``dataset_id`` of ``store``
    (``train_args``: run_id, callback, should_stop)."""
    from core.store.datasets import FOLDER
    from core.store.streamed import SUBFOLDER, open_corpus
    from core.training.trainer import train_run

    mapped = open_corpus(store, dataset_id)
    prep = prepare_mapped(mapped, config, store.root / FOLDER / SUBFOLDER / "work")
    try:
        return train_run(StreamedTexts(mapped, dataset_id), config, store, prepared=prep,
                         **train_args)
    finally:
        prep.close()
