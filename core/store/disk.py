"""Disk capacity: the budget runs may take, a run's size known before it trains, the
snapshots it plans, and one ``StoreError`` for a full disk (``DiskSpace``, mixed into
``RunStore``: ``disk_guard``, ``check_space``)."""
from __future__ import annotations

import errno
import os
import re
import shutil
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from core.common.checks import bounded, check_fields
from core.errors import StoreError

MB = 2**20
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_SQLITE_FULL, _SQLITE_IOERR, _SQLITE_READONLY = 13, 10, 8


@dataclass(frozen=True)
class DiskBudget:
    """How much disk runs may take: above ``run_mb`` a run is warned about (the dashboard
    refuses it); a run that would leave less than ``margin_mb`` free (at most a tenth of the
    disk) or push the store past ``store_mb`` is refused before it starts."""

    run_mb: int = bounded(500, 1, 1_000_000)
    store_mb: int = bounded(50_000, 1, 100_000_000)
    margin_mb: int = bounded(50, 0, 1_000_000)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class RunSize:
    """What a run writes, known before it trains: per snapshot the embedding (rows x dim),
    the document vectors (docs x doc_dim) and the output layer, float32; plus its tables."""

    rows: int
    dim: int
    snapshots: int
    docs: int
    doc_dim: int
    classes: int = 2
    texts: int = 0

    @property
    def bytes(self) -> int:
        per_snapshot = 4 * (self.rows * self.dim + self.docs * self.doc_dim
                            + (self.classes + 1) * self.doc_dim) + 512
        cached = 2 * 8 * self.rows * self.snapshots  # the engine's 2-D frames, live and final
        tables = 64 * self.rows + 200 * self.texts
        return self.snapshots * per_snapshot + cached + tables

    def describe(self) -> str:
        return (f"{self.snapshots} snapshots of {self.rows:,} words x {self.dim} and "
                f"{self.docs:,} documents x {self.doc_dim}")


def planned_snapshots(epochs: int, batches_per_epoch: int, every_epoch: bool,
                      snapshot_every: int, keeps_best: bool = False) -> int:
    """How many snapshots a run takes at most: step 0, every ``snapshot_every`` steps, and the
    end of every epoch (``every_epoch``) or of the last one, unless a step snapshot was just
    taken (the trainer's rule, ``stopping.snapshot_due``). ``keeps_best``: the trainer also
    writes the best epoch's table when the mode would not (``Recorder.defer_best``), at most once
    per epoch before the last when step snapshots follow it, else once."""
    total = _extra_best(epochs, every_epoch, snapshot_every) if keeps_best else 1
    for epoch in range(1, epochs + 1):
        end = epoch * batches_per_epoch
        if snapshot_every:
            total += end // snapshot_every - (end - batches_per_epoch) // snapshot_every
            if end % snapshot_every == 0:
                continue
        total += int(every_epoch or epoch == epochs)
    return total


def _extra_best(epochs: int, every_epoch: bool, snapshot_every: int) -> int:
    """1 (step 0) plus the most best-epoch snapshots a run writes beyond its plan."""
    if every_epoch or epochs < 2:
        return 1
    return 1 + (epochs - 1 if snapshot_every else 1)


def mb_text(n: float) -> str:
    return f"{n / MB:,.1f} MB"


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT, numpy's errno-less short write, or SQLite's SQLITE_FULL."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF == _SQLITE_FULL) or "is full" in str(exc)
    text = str(exc)
    return isinstance(exc, OSError) and (
        exc.errno in _FULL_ERRNOS or "No space left" in text
        or bool(re.search(r"requested and \d+ written", text)))


def _is_read_only(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF == _SQLITE_READONLY


def is_io_error(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and (
        (code is not None and code & 0xFF == _SQLITE_IOERR) or "disk I/O error" in str(exc))


class DiskSpace:
    """``RunStore``'s disk checks (mixed in: uses its ``root`` and ``budget``)."""

    @contextmanager
    def disk_guard(self) -> Iterator[None]:
        """Turn a full disk (or SQLite's I/O error on one) into one StoreError a user can act
        on, instead of a traceback from deep inside numpy, pyarrow or sqlite3."""
        try:
            yield
        except (OSError, sqlite3.Error) as exc:
            if is_disk_full(exc) or ((is_io_error(exc) or _is_read_only(exc))
                                      and self.disk_free() < MB):
                raise StoreError(self._full_message()) from exc
            if is_io_error(exc):
                raise StoreError(f"the run store's database in {self.root} could not be "
                                 f"written ({exc}): check the disk or choose another --store"
                                 ) from exc
            raise

    def disk_free(self) -> int:
        """Bytes free on the disk holding the store (0 if it cannot be asked)."""
        try:
            return shutil.disk_usage(self.root).free
        except OSError:
            return 0

    def _full_message(self) -> str:
        return (f"the disk holding the run store is full ({self.root}: "
                f"{mb_text(self.disk_free())} free): free space or choose another --store")

    def size_on_disk(self) -> int:
        """Bytes the store's files take now."""
        total = 0
        for folder, _, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.stat(os.path.join(folder, name)).st_size
                except OSError:
                    pass  # removed while we walked
        return total

    def check_space(self, size: RunSize) -> str | None:
        """Refuse (StoreError) a run that would not fit: more than the free space minus a
        margin, or past the store's budget. Returns a warning when it is above the per-run
        budget, else None."""
        usage = shutil.disk_usage(self.root)
        margin = min(self.budget.margin_mb * MB, usage.total // 10)
        need = size.bytes
        if need > usage.free - margin:
            raise StoreError(
                f"this run needs about {mb_text(need)} in the run store ({size.describe()}), but "
                f"the disk holding it ({self.root}) has {mb_text(usage.free)} free and "
                f"{mb_text(margin)} must stay free: free space, train fewer epochs or a smaller "
                f"vector size, or choose another --store")
        used = self.size_on_disk()
        if used + need > self.budget.store_mb * MB:
            raise StoreError(
                f"this run needs about {mb_text(need)}, and the run store already holds "
                f"{mb_text(used)} of its {mb_text(self.budget.store_mb * MB)} budget (store_mb): "
                f"delete old runs or choose another --store")
        if need > self.budget.run_mb * MB:
            return (f"this run will take about {mb_text(need)} in the run store "
                    f"({size.describe()}), above the per-run budget of "
                    f"{mb_text(self.budget.run_mb * MB)} (run_mb)")
        return None
