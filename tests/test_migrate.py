"""Migration works on an open SQLite connection alone: no RunStore, no private store method."""
from __future__ import annotations

import json
import sqlite3

from core.store.migrate import import_json_experiments, migrate, schema_is_current


def test_migration_needs_only_a_connection(tmp_path):
    db = sqlite3.connect(tmp_path / "bare.sqlite", isolation_level=None)
    db.row_factory = sqlite3.Row
    assert not schema_is_current(db)
    migrate(db)
    assert schema_is_current(db)
    experiments = tmp_path / "experiments"
    good, bad = experiments / "20250101-000000-abcdef", experiments / "not-an-id"
    for folder in (good, bad):
        folder.mkdir(parents=True)
        (folder / "experiment.json").write_text(json.dumps(
            {"config": {"seeds": 2}, "status": "failed", "error": "boom", "created": 3.0}))
    (good / "worker.json").write_text(json.dumps({"pid": 99}))
    (good / "cancel").touch()

    assert import_json_experiments(db, experiments) == [good.name]
    row = db.execute("SELECT * FROM jobs").fetchone()
    assert (row["job_id"], row["kind"], row["status"], row["error"], row["pid"],
            row["cancel_requested"], row["created"]) == (good.name, "experiment", "failed",
                                                         "boom", 99, 1, 3.0)
    assert json.loads(row["config"]) == {"seeds": 2}
    assert not (good / "experiment.json").exists() and (bad / "experiment.json").exists()
