"""The store's schema, and reading stores written by earlier versions: runs once had a table
of their own (``runs``); experiments once kept their status in JSON files beside their
results, moved into the ``jobs`` table the first time a store opens; columns added to the jobs
table since (the writer's host and start time) are added too. Everything here works on an
open SQLite connection (``RunStore`` opens it), never on a ``RunStore``."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from core.errors import StoreError
from core.store.records import check_job, check_run_id, insert_job

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY, kind TEXT NOT NULL DEFAULT 'run', created REAL, updated REAL,
    status TEXT, label TEXT, config TEXT, fingerprint TEXT, info TEXT, error TEXT,
    pid INTEGER, cancel_requested INTEGER DEFAULT 0, host TEXT, started REAL);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT, epoch INTEGER, metrics TEXT, PRIMARY KEY (run_id, epoch));
CREATE TABLE IF NOT EXISTS snapshots (
    run_id TEXT, idx INTEGER, epoch INTEGER, step INTEGER, created REAL,
    PRIMARY KEY (run_id, idx));
"""
# Stores made before experiments joined the table kept runs alone in a table ``runs``.
_MIGRATE_RUNS = """
ALTER TABLE runs RENAME TO jobs;
ALTER TABLE jobs RENAME COLUMN run_id TO job_id;
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'run';
"""

_OLD_FILES = ("experiment.json", "worker.json", "progress.json", "cancel")
_NEW_COLUMNS = {"host": "TEXT", "started": "REAL"}  # the writer process, for display


def schema_is_current(db: sqlite3.Connection) -> bool:
    """True when the jobs, epochs and snapshots tables exist with every current column."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not {"jobs", "epochs", "snapshots"} <= tables:
        return False
    have = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    return set(_NEW_COLUMNS) <= have


def migrate(db: sqlite3.Connection) -> None:
    """Bring the database to the current schema. Only a store that needs it is written to,
    so a store on a full disk still opens for reading."""
    if schema_is_current(db):
        return
    db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait and see it
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "runs" in tables and "jobs" not in tables:
        for statement in filter(str.strip, _MIGRATE_RUNS.split(";")):
            db.execute(statement)
    for statement in filter(str.strip, _SCHEMA.split(";")):
        db.execute(statement)
    add_missing_columns(db)
    db.execute("COMMIT")


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


def import_json_experiments(db: sqlite3.Connection, experiments: Path) -> list[str]:
    """Move every ``<experiments>/<id>/experiment.json`` record into the jobs table (its
    results and data stay where they are); returns the ids moved."""
    moved = []
    for folder in sorted(experiments.iterdir()):
        record = _read_json(folder / "experiment.json")
        if not record:
            continue
        try:
            status = record.get("status", "failed")
            check_job("experiment", status)
            insert_job(db, check_run_id(folder.name), "experiment", record.get("config", {}),
                       record.get("fingerprint", ""), _info(folder, record), status=status,
                       created=record.get("created"), error=record.get("error"),
                       pid=_read_json(folder / "worker.json").get("pid"),
                       cancel_requested=int((folder / "cancel").exists()))
        except sqlite3.IntegrityError:
            pass  # another process moved it first
        except StoreError:
            continue  # not an experiment id: leave the folder alone
        for name in _OLD_FILES:
            (folder / name).unlink(missing_ok=True)
        moved.append(folder.name)
    return moved
