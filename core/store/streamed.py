"""Large data sets registered from a file on the server (``python -m core datasets add
PATH``): the file stays where it is (any size; the browser upload keeps its cap), and its
tokenised corpus is prepared once, streamed, into a memory-mapped folder of the store
(``core.data.mapped``). On disk::

    datasets/streamed/<id>.json     the record (path, columns, rows, tokens, classes, ...)
    datasets/streamed/<id>/         the mapped corpus, written through the one DiskCache

The id is a sha256 over the file's bytes (read in blocks) and the settings it was prepared
with, so the same file prepared the same way is one data set; a file changed since is
refused when its corpus is opened.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.common.files import DiskCache, atomic_write
from core.data.mapped import MappedCorpus, SplitConfig, open_mapped, prepare
from core.data.streaming import StreamConfig, stream_format
from core.errors import DataError, StoreError
from core.store.datasets import FOLDER, check_dataset_id, clean_name, read_records

if TYPE_CHECKING:
    from core.store.runstore import RunStore

SUBFOLDER = "streamed"
_READ = 4 * 2**20


@dataclass(frozen=True)
class StreamedRecord:
    """A registered server-side file and what its streamed preparation found."""

    dataset_id: str
    name: str
    path: str
    fmt: str
    source_sha: str
    source_size: int
    text_column: str
    label_column: str
    classes: list[str]
    n_rows: int
    n_rows_read: int
    n_tokens: int
    n_types: int
    val_fraction: float
    seed: int
    created: float

    def to_dict(self) -> dict:
        return asdict(self)


def _folder(store: RunStore) -> Path:
    return store.root / FOLDER / SUBFOLDER


def file_sha(path: Path) -> str:
    """sha256 of a file, read in blocks (never whole)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_READ):
            h.update(block)
    return h.hexdigest()


def _dataset_id(sha: str, config: StreamConfig, split: SplitConfig) -> str:
    settings = json.dumps([sha, asdict(config), asdict(split)], sort_keys=True)
    return hashlib.sha256(settings.encode("utf-8")).hexdigest()


def add(store: RunStore, path: Path | str, *, name: str | None = None,
        config: StreamConfig = StreamConfig(), split: SplitConfig = SplitConfig()
        ) -> StreamedRecord:
    """Register the file at ``path`` and prepare its corpus (once: the same file with the same
    settings returns the record already there)."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise DataError(f"'{path}' is not a file on this machine")
    fmt = stream_format(path)
    sha = file_sha(path)
    dataset_id = _dataset_id(sha, config, split)
    try:
        return get(store, dataset_id)
    except StoreError:
        pass
    cache = DiskCache(_folder(store))
    with store.disk_guard():
        if cache.get(dataset_id, lambda folder: folder) is None:
            cache.put(dataset_id, path, lambda src, folder: prepare(src, folder, config, split))
        mapped = open_mapped(cache.path(dataset_id))
        meta = mapped.meta
        record = StreamedRecord(
            dataset_id=dataset_id, name=clean_name(name or path.name), path=str(path), fmt=fmt,
            source_sha=sha, source_size=path.stat().st_size, text_column=meta["text_column"],
            label_column=meta["label_column"], classes=list(meta["classes"]),
            n_rows=meta["n_rows"], n_rows_read=meta["n_rows_read"], n_tokens=meta["n_tokens"],
            n_types=len(mapped.corpus.types), val_fraction=split.val_fraction, seed=split.seed,
            created=time.time())
        atomic_write(_folder(store) / f"{dataset_id}.json",
                     json.dumps(record.to_dict(), ensure_ascii=False, indent=1))
    return record


def get(store: RunStore, dataset_id: str) -> StreamedRecord:
    """The record of a streamed data set (StoreError when there is none)."""
    path = _folder(store) / f"{check_dataset_id(dataset_id)}.json"
    try:
        return StreamedRecord(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise StoreError(f"Streamed data set {dataset_id[:12]} is not in the run store.") from None
    except (OSError, ValueError, TypeError) as exc:
        raise StoreError(f"The record of data set {dataset_id[:12]} cannot be read ({exc})."
                         ) from None


def list_streamed(store: RunStore) -> list[StreamedRecord]:
    """Every streamed data set, newest first; an unreadable record is skipped."""
    return read_records(_folder(store), lambda i: get(store, i))


def open_corpus(store: RunStore, dataset_id: str) -> MappedCorpus:
    """The prepared corpus, memory-mapped; StoreError when its file changed size since (a
    full hash of a large file on every open would cost seconds)."""
    record = get(store, dataset_id)
    source = Path(record.path)
    if not source.is_file() or source.stat().st_size != record.source_size:
        raise StoreError(f"The file of data set '{record.name}' ({record.path}) is missing or "
                         "changed since it was added; add it again.")
    return open_mapped(_folder(store) / dataset_id)


def resolve(store: RunStore, ref: str) -> StreamedRecord | None:
    """The streamed data set ``ref`` names: its id, or the path it was registered from
    (None when it names none, e.g. a file to load in memory)."""
    if len(ref) == 64 and all(c in "0123456789abcdef" for c in ref):
        return get(store, ref)
    path = Path(ref).expanduser().resolve()
    return next((r for r in list_streamed(store) if Path(r.path) == path), None)
