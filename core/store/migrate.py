"""Reading stores written by earlier versions: experiments once kept their status in JSON
files beside their results; they move into the ``jobs`` table the first time a store opens.
Columns added to the jobs table since (the writer's host and start time) are added too."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import StoreError

if TYPE_CHECKING:
    from core.store.runstore import RunStore

_OLD_FILES = ("experiment.json", "worker.json", "progress.json", "cancel")
_NEW_COLUMNS = {"host": "TEXT", "started": "REAL"}  # the writer process, for display


def schema_is_current(db: sqlite3.Connection) -> bool:
    """True when the jobs, epochs and snapshots tables exist with every current column."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not {"jobs", "epochs", "snapshots"} <= tables:
        return False
    have = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    return set(_NEW_COLUMNS) <= have


def add_missing_columns(db: sqlite3.Connection) -> None:
    """Add the jobs table's newer columns to a store made before them (inside the caller's
    transaction)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    for name, kind in _NEW_COLUMNS.items():
        if name not in have:
            db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")
_INFO_KEYS = ("done", "total", "classes", "n_val", "n_pool")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _info(folder: Path, record: dict[str, Any]) -> dict[str, Any]:
    info = {k: record[k] for k in _INFO_KEYS if k in record}
    info["worker"] = (folder / "worker.json").is_file()
    progress = _read_json(folder / "progress.json")
    if progress:
        info["progress"] = progress
    return info


def import_json_experiments(store: RunStore) -> list[str]:
    """Move every ``experiments/<id>/experiment.json`` record into the jobs table (its results
    and data stay where they are); returns the ids moved."""
    moved = []
    for folder in sorted((store.root / "experiments").iterdir()):
        record = _read_json(folder / "experiment.json")
        if not record:
            continue
        try:
            store.create_job("experiment", record.get("config", {}), record.get("fingerprint", ""),
                             _info(folder, record), status=record.get("status", "failed"),
                             job_id=folder.name, created=record.get("created"), hold=False)
            pid = _read_json(folder / "worker.json").get("pid")
            store._update(folder.name, error=record.get("error"), pid=pid,
                          cancel_requested=int((folder / "cancel").exists()))
        except sqlite3.IntegrityError:
            pass  # another process moved it first
        except StoreError:
            continue  # not an experiment id: leave the folder alone
        for name in _OLD_FILES:
            (folder / name).unlink(missing_ok=True)
        moved.append(folder.name)
    return moved
