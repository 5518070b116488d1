"""Data sets as first-class, persistent things of the run store: every labelled-text file a
user chose (uploaded on the Data page, or given to ``python -m core train``) is kept under
``<store>/datasets/`` so it can be chosen again after a refresh or a server restart, and runs
and experiments name the data set they trained on (job info ``dataset_id``/``dataset_name``).

A data set is content-addressed: its id is ``Dataset.fingerprint()`` (sha256 over the texts,
labels and classes as loaded), so the same file read with the same columns is one data set,
and the same file read with other columns is another. On disk::

    datasets/<id>.json              the record (name, file name, format, columns, rows, ...)
    datasets/sources/<sha><suffix>  the file's bytes as uploaded, shared by its records

Records and sources are written with ``common.files.atomic_write``; a record names only a
file already loaded through ``core.data.loading`` (its caps and hostile-input checks), and
reading one back loads it through the same checks and verifies the fingerprint. Deleting a
data set never touches runs: they keep ``dataset_name`` and stay viewable.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from core.common.files import atomic_write
# MAX_NAME: the views read it from here
from core.store.names import MAX_NAME, check_free, check_name, unique_name  # noqa: F401
from core.errors import StoreError

if TYPE_CHECKING:
    from core.data.dataset import Dataset
    from core.store.runstore import RunInfo, RunStore

FOLDER = "datasets"
SOURCES = "sources"
_ID = re.compile(r"[0-9a-f]{64}")
_SUFFIX = re.compile(r"[^a-z0-9.]")


@dataclass(frozen=True)
class DatasetRecord:
    """One stored data set: how to read its file again and what it held when registered."""

    dataset_id: str
    name: str
    filename: str
    fmt: str
    encoding: str
    text_column: str
    label_column: str
    n_rows: int
    class_counts: dict[str, int]
    source_sha: str
    source_size: int
    created: float
    load_options: dict[str, Any] = field(default_factory=dict)  # other LoadConfig fields
    n_truncated: int = 0
    bundled: bool = False  # the bundled sample: always listed, never deleted

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def classes(self) -> list[str]:
        return list(self.class_counts)


def check_dataset_id(dataset_id: object) -> str:
    """Refuse anything that is not a data-set id (64 hex digits), so ids from a URL or the
    command line cannot name a path."""
    if not isinstance(dataset_id, str) or not _ID.fullmatch(dataset_id):
        raise StoreError(f"'{dataset_id}' is not a valid data set id (64 hexadecimal digits).")
    return dataset_id


def clean_name(name: object, what: str = "data set") -> str:
    """The one name check (``core.store.names.check_name``), kept under its old name."""
    return check_name(name, what)


def rename_job(store: RunStore, job_id: str, name: str | None) -> None:
    """Give a run or an experiment a display name (job info "name", contract C); None or
    blank goes back to the automatic name built from its data set, init, arch and size."""
    text = None if name is None or not str(name).strip() else clean_name(name, "run")
    store.update_info(job_id, name=text)


def _folder(store: RunStore) -> Path:
    return store.root / FOLDER


def _record_path(store: RunStore, dataset_id: str) -> Path:
    return _folder(store) / f"{check_dataset_id(dataset_id)}.json"


def safe_suffix(filename: str) -> str:
    """The file name's suffix, lower case, letters, digits and dots only (at most 12): kept
    on stored copies because readers tell formats (and refuse pickles) by it."""
    return _SUFFIX.sub("", Path(filename).suffix.lower())[:12]


def _source_path(store: RunStore, sha: str, filename: str) -> Path:
    return _folder(store) / SOURCES / f"{sha}{safe_suffix(filename)}"


def _write(store: RunStore, path: Path, data: bytes) -> None:
    with store.disk_guard():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)


def _write_json(store: RunStore, path: Path, obj: dict[str, Any]) -> None:
    _write(store, path, json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8"))


def register(store: RunStore, dataset: Dataset, source: bytes, filename: str, *,
             name: str | None = None, load_options: Mapping[str, Any] | None = None,
             bundled: bool = False) -> DatasetRecord:
    """Keep ``dataset`` (loaded from ``source``, the file's bytes, by ``load_dataset`` with the
    report's columns and ``load_options``) in the store; returns its record. Registering a
    data set already there returns the stored record unchanged (its name included)."""
    dataset_id = dataset.fingerprint()
    try:
        return get(store, dataset_id)
    except StoreError:
        pass
    report, sha = dataset.report, hashlib.sha256(source).hexdigest()
    path = _source_path(store, sha, filename)
    if not path.is_file():
        _write(store, path, bytes(source))
    record = DatasetRecord(
        dataset_id=dataset_id, name=_free_name(store, name or Path(filename).name or "data"),
        filename=str(filename), fmt=report.fmt, encoding=report.encoding,
        text_column=report.text_column, label_column=report.label_column,
        n_rows=len(dataset), class_counts=dict(report.class_counts), source_sha=sha,
        source_size=len(source), created=time.time(), load_options=dict(load_options or {}),
        n_truncated=report.n_truncated, bundled=bundled)
    _write_json(store, _record_path(store, dataset_id), record.to_dict())
    return record


def _from_dict(obj: dict[str, Any]) -> DatasetRecord:
    known = DatasetRecord.__dataclass_fields__
    return DatasetRecord(**{k: v for k, v in obj.items() if k in known})


def get(store: RunStore, dataset_id: str) -> DatasetRecord:
    """The stored record of a data set (StoreError when there is none)."""
    path = _record_path(store, dataset_id)
    try:
        return _from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise StoreError(f"Data set {dataset_id[:12]} is not in the run store (deleted?)."
                         ) from None
    except (OSError, ValueError, TypeError) as exc:
        raise StoreError(f"The record of data set {dataset_id[:12]} cannot be read "
                         f"({exc}).") from None


def list_datasets(store: RunStore) -> list[DatasetRecord]:
    """Every stored data set, newest first; an unreadable record is skipped."""
    return read_records(_folder(store), lambda i: get(store, i))


def read_records(folder: Path, read: Callable[[str], Any]) -> list:
    """``read(id)`` of every ``<id>.json`` record in ``folder`` (ids of 64 hex digits), newest
    first; a record that cannot be read (StoreError) is skipped. Streamed data sets too."""
    out = []
    for path in folder.glob("*.json") if folder.is_dir() else ():
        if _ID.fullmatch(path.stem):
            try:
                out.append(read(path.stem))
            except StoreError:
                continue
    return sorted(out, key=lambda r: (-r.created, r.dataset_id))


def _free_name(store: RunStore, name: str) -> str:
    """A new data set's checked name, made distinct from the stored ones ("x.csv (2)")."""
    return unique_name(clean_name(name), [r.name for r in list_datasets(store)])


def rename(store: RunStore, dataset_id: str, name: str) -> DatasetRecord:
    """Give a data set another display name (runs keep the name they were trained under)."""
    record = get(store, dataset_id)
    others = [r.name for r in list_datasets(store) if r.dataset_id != dataset_id]
    text = check_free(clean_name(name), others)  # two "sample.csv" could not be told apart
    renamed = DatasetRecord(**{**record.to_dict(), "name": text})
    _write_json(store, _record_path(store, dataset_id), renamed.to_dict())
    return renamed


def delete(store: RunStore, dataset_id: str) -> None:
    """Forget a data set: its record, and its file when no other record reads it. Runs and
    experiments trained on it stay (they keep its name in their info). The bundled sample
    (flagged ``bundled``, or the sample's id however it was registered) is refused."""
    record = get(store, dataset_id)
    if record.bundled or dataset_id == sample_id():
        raise StoreError("The bundled sample is always available and cannot be deleted.")
    with store.disk_guard():
        _record_path(store, dataset_id).unlink(missing_ok=True)
        if not any(r.source_sha == record.source_sha for r in list_datasets(store)):
            _source_path(store, record.source_sha, record.filename).unlink(missing_ok=True)


def read_source(store: RunStore, dataset_id: str) -> bytes:
    """The file's bytes as registered; StoreError when missing or changed on disk."""
    return source_of(store, get(store, dataset_id))


def source_of(store: RunStore, record: DatasetRecord) -> bytes:
    """``read_source`` for a record already read."""
    path = _source_path(store, record.source_sha, record.filename)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"The file of data set '{record.name}' is missing from the run store "
                         f"({exc.strerror or exc}).") from None
    if hashlib.sha256(data).hexdigest() != record.source_sha:
        raise StoreError(f"The file of data set '{record.name}' changed on disk since it was "
                         "stored; upload it again.")
    return data


def load_config(record: DatasetRecord):
    """The ``LoadConfig`` that reads the record's file as it was read when registered."""
    from core.data.dataset import LoadConfig

    return LoadConfig(text_column=record.text_column, label_column=record.label_column,
                      **record.load_options)


def load(store: RunStore, dataset_id: str) -> Dataset:
    """The data set, read again from its stored file through ``core.data.loading`` (every
    cap and check of an upload applies); StoreError if it no longer yields the same data."""
    from core.data.loading import load_dataset

    record = get(store, dataset_id)
    dataset = load_dataset(source_of(store, record), record.filename, load_config(record))
    if dataset.fingerprint() != dataset_id:
        raise StoreError(f"Data set '{record.name}' reads differently now (the loader "
                         "changed since it was stored); upload it again.")
    return dataset


def experiment_of(job: RunInfo) -> str | None:
    """The experiment a run was trained for (runs labelled ``experiment:<id>``), else None."""
    label = job.label or ""
    return label.split(":", 1)[1].split()[0] if label.startswith("experiment:") else None


def job_dataset(job: RunInfo, jobs: Mapping[str, RunInfo] | None = None
                ) -> tuple[str | None, str | None]:
    """(dataset_id, dataset_name) a job trained on: its own info, else (a run of an
    experiment) its experiment's, looked up in ``jobs`` (id -> job); (None, None) for jobs
    from before data sets were recorded."""
    info = job.info
    if info.get("dataset_id"):
        return info["dataset_id"], info.get("dataset_name")
    parent = (jobs or {}).get(experiment_of(job) or "")
    if parent is not None and parent.info.get("dataset_id"):
        return parent.info["dataset_id"], parent.info.get("dataset_name")
    return None, None


def job_info(dataset: Dataset, name: str | None) -> dict[str, Any]:
    """The job-info keys that name a run's or an experiment's data set (contract C)."""
    return {"dataset_id": dataset.fingerprint(), **({"dataset_name": name} if name else {})}


def usage(store: RunStore) -> dict[str, dict[str, int]]:
    """data set id -> {"runs": n, "experiments": n} trained on it, over every job of the
    store (an experiment's runs count through their experiment)."""
    jobs = {j.run_id: j for j in store.list_jobs()}
    counts: dict[str, dict[str, int]] = {}
    for job in jobs.values():
        dataset_id = job_dataset(job, jobs)[0]
        if dataset_id:
            per = counts.setdefault(dataset_id, {"runs": 0, "experiments": 0})
            per["runs" if job.kind == "run" else "experiments"] += 1
    return counts


# ---------------------------------------------------------------- choosing a data set
SAMPLE_PATH = Path(__file__).resolve().parents[2] / "sample_data" / "sample.csv"


@functools.lru_cache(maxsize=2)
def _sample(sha: str) -> tuple[Dataset, bytes]:
    from core.data.loading import load_dataset

    data = SAMPLE_PATH.read_bytes()
    return load_dataset(data, SAMPLE_PATH.name), data


def sample() -> tuple[Dataset, bytes] | None:
    """The bundled sample (``sample_data/sample.csv``) read with its detected columns, and its
    bytes; None when the file is missing. Read once per content (cached on its sha256)."""
    if not SAMPLE_PATH.is_file():
        return None
    return _sample(hashlib.sha256(SAMPLE_PATH.read_bytes()).hexdigest())


def sample_id() -> str | None:
    """The id of the bundled sample read with its detected columns (None if it is missing):
    that data set is the bundled one, always listed and never deleted."""
    found = sample()
    return found[0].fingerprint() if found else None


def ensure_sample(store: RunStore) -> None:
    """Register the bundled sample (``bundled``) in the store if it is not there yet."""
    found = sample()
    if found is not None:
        register(store, found[0], found[1], SAMPLE_PATH.name, bundled=True)


def adopt(store: RunStore, dataset: Dataset, source: bytes, filename: str,
          previous: str | None = None, *, dataset_id: str | None = None) -> DatasetRecord:
    """Keep ``dataset`` (read from ``source``) as the data set now chosen in place of
    ``previous`` (the id chosen before, or None); returns its record. A new column choice for
    the same file replaces the data set it was made from when nothing trained on that one
    yet (the name given to it carries over); otherwise both are kept. The bundled sample is
    registered as such and never replaced. ``dataset_id``: its fingerprint, when the
    caller has it already (hashing a large data set again costs time)."""
    dataset_id = dataset_id or dataset.fingerprint()
    before = get_or_none(store, previous)
    if before is not None and before.dataset_id == dataset_id:
        return before  # still registered (another tab may have deleted it: then again)
    same_file = before is not None and before.source_sha == hashlib.sha256(source).hexdigest()
    record = register(store, dataset, source, filename, name=before.name if same_file else None,
                      bundled=dataset_id == sample_id())
    if same_file and not before.bundled and before.dataset_id not in usage(store):
        delete(store, before.dataset_id)
        # registered beside it, the name was made distinct ("x (2)"): it is free again now
        record = rename(store, record.dataset_id, before.name)
    return record


def of_run(store: RunStore, run_id: str | None) -> str | None:
    """The id of the stored data set run ``run_id`` trained on (None: no such run, a run
    from before data sets were recorded, or its data set deleted). A session opened on a
    run and no data set adopts it, so the next run does not train on the sample by mistake."""
    if not run_id:
        return None
    try:
        job = store.get_job(run_id)
    except StoreError:
        return None
    dataset_id, _ = job_dataset(job, {j.run_id: j for j in store.list_jobs()}
                                if experiment_of(job) else None)
    return dataset_id if get_or_none(store, dataset_id) is not None else None


def get_or_none(store: RunStore, dataset_id: str | None) -> DatasetRecord | None:
    """The stored record of a data set, or None (no id, deleted, unreadable)."""
    try:
        return get(store, dataset_id) if dataset_id else None
    except StoreError:
        return None
