"""The projection engine starts with the server (dashboard/serve.py), not with the first
page: a run trained from the command line gets its views without any page opened."""
from __future__ import annotations

import os

from core.jobs import engine
from dashboard import serve


def test_server_start_launches_the_engine_for_its_store(tmp_path, monkeypatch):
    started = []
    monkeypatch.setenv("EXPLORER_STORE", str(tmp_path / "runs"))
    monkeypatch.setenv("EXPLORER_WARM_UP", "1")
    monkeypatch.setattr(engine, "spawn", lambda args, log: started.append(args) or 1)
    assert serve.start_engine()
    assert started == [["engine", "--store", str((tmp_path / "runs").resolve()),
                        "--parent", str(os.getpid())]]


def test_no_engine_when_start_up_work_is_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_STORE", str(tmp_path / "runs"))
    monkeypatch.setenv("EXPLORER_WARM_UP", "0")
    monkeypatch.setattr(engine, "spawn", lambda args, log: (_ for _ in ()).throw(AssertionError))
    assert not serve.start_engine()
