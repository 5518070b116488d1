"""Job records: the statuses and kinds a job row may hold, ``RunInfo`` (one row as read,
with its epochs and snapshots), the best-epoch rule, and run ids (made and checked)."""
from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from core.errors import StoreError


@dataclass(frozen=True)
class RunInfo:
    """One run's metadata as stored (arrays are loaded separately, on demand)."""

    run_id: str
    status: str
    created: float
    updated: float
    label: str
    config: dict[str, Any]
    fingerprint: str
    info: dict[str, Any]
    error: str | None
    pid: int | None
    cancel_requested: bool
    epochs: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, int]] = field(default_factory=list)
    kind: str = "run"
    host: str | None = None  # the writer's host and process start time (pid is above)
    started: float | None = None

    @property
    def n_snapshots(self) -> int:
        return len(self.snapshots)

    def val_accuracy_at(self, snapshot: dict[str, int]) -> float:
        """The validation accuracy measured at this snapshot (the end of its epoch); NaN at
        step 0 and for a snapshot taken within an epoch."""
        for e in self.epochs:
            if e["epoch"] == snapshot["epoch"] and e.get("step") == snapshot["step"]:
                return float(e.get("val_accuracy", "nan"))  # tracked runs may not give it
        return float("nan")

    def best(self) -> dict[str, Any] | None:
        """The best epoch (lowest validation loss): {"epoch", "val_accuracy", "val_loss",
        "snapshot"} (snapshot: index taken at that epoch's end, or None), or None before any
        epoch with a validation loss. Runs trained before the trainer recorded it (no
        ``best_epoch`` in info) get the same rule applied to their epochs."""
        return best_epoch(self.epochs, self.snapshots, self.info)


def best_epoch(epochs: list[dict[str, Any]], snapshots: list[dict[str, int]],
               info: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """``RunInfo.best`` from a run's epoch rows and snapshot rows (charts call it on the
    epochs alone); ``info`` keys written by the trainer win over recomputing."""
    info = info or {}
    rows = {e["epoch"]: e for e in epochs}
    epoch = info.get("best_epoch")
    if epoch not in rows:
        finite = [e for e in epochs if _finite(e.get("val_loss"))]
        if not finite:
            return None
        epoch = min(finite, key=lambda e: (e["val_loss"], e["epoch"]))["epoch"]
    row = rows[epoch]
    snapshot = info.get("best_snapshot") if info.get("best_epoch") == epoch else None
    if snapshot is None:
        snapshot = next((s["idx"] for s in snapshots if s["epoch"] == epoch
                         and s["step"] == row.get("step")), None)
    return {"epoch": int(epoch), "val_accuracy": _nan_if_none(row.get("val_accuracy")),
            "val_loss": _nan_if_none(row.get("val_loss")), "snapshot": snapshot}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
        and abs(value) != float("inf")


def _nan_if_none(value: Any) -> float:
    return float("nan") if value is None else float(value)


STATUSES = ("queued", "running", "done", "failed", "cancelled")
LIVE = ("queued", "running")  # a job in one of these has (or waits for) a process
KINDS = ("run", "experiment", "import")  # import: saved weights read by a worker
_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")


def new_run_id() -> str:
    """A sortable, unguessable run id: UTC time plus 24 random bits."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def check_run_id(run_id: str) -> str:
    """Refuse anything that is not a run id, so user-supplied ids cannot escape the store."""
    # fullmatch: match() lets '$' accept a trailing newline
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise StoreError(f"'{run_id}' is not a valid run id (expected e.g. 20260101-120000-a1b2c3).")
    return run_id



def check_job(kind: str, status: str) -> None:
    """Refuse a job row of an unknown kind or status (ValueError naming the field)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def insert_job(db: sqlite3.Connection, job_id: str, kind: str, config: dict,
               fingerprint: str = "", info: dict | None = None, label: str = "",
               status: str = "running", created: float | None = None,
               **columns: Any) -> None:
    """Insert one row of the jobs table (``columns``: pid, host, started, error,
    cancel_requested); sqlite3.IntegrityError if the id is taken."""
    now = time.time()
    values = {"job_id": job_id, "kind": kind, "created": created or now, "updated": now,
              "status": status, "label": label, "config": json.dumps(config),
              "fingerprint": fingerprint, "info": json.dumps(info or {}), **columns}
    db.execute(f"INSERT INTO jobs ({', '.join(values)}) VALUES "
               f"({', '.join('?' * len(values))})", list(values.values()))


def interrupted_error(row: sqlite3.Row) -> str:
    """The error of a job whose writer died, naming the process as the row recorded it."""
    noun = "experiment" if row["kind"] == "experiment" else "run"
    who = f"pid {row['pid']}" if row["pid"] else "no process recorded"
    if row["host"]:
        who += f" on {row['host']}"
    if row["started"]:
        who += ", started " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["started"]))
    return (f"interrupted: the process writing this {noun} stopped ({who}); what it saved "
            f"before is kept and readable")


def row_to_info(row: sqlite3.Row, epochs: list, snaps: list) -> RunInfo:
    return RunInfo(
        run_id=row["job_id"], status=row["status"], created=row["created"],
        updated=row["updated"], label=row["label"] or "", config=json.loads(row["config"]),
        fingerprint=row["fingerprint"] or "", info=json.loads(row["info"] or "{}"),
        error=row["error"], pid=row["pid"], cancel_requested=bool(row["cancel_requested"]),
        epochs=[{"epoch": e[0], **json.loads(e[1])} for e in epochs],
        snapshots=[{"idx": s[0], "epoch": s[1], "step": s[2]} for s in snaps],
        kind=row["kind"], host=row["host"], started=row["started"],
    )
