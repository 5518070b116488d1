"""Opening the Train page does not pay for torch (it reads its defaults and ranges from
TrainConfig; training runs in workers).

The page runs once in this process (AppTest) while every import statement it executes is
recorded, cached or not; then one fresh interpreter imports exactly those modules and reports
whether torch came with them. A module-level ``import torch`` anywhere under the page, or one
inside a function the page calls, fails it. (This used to be a fresh interpreter running the
whole AppTest: 17 s under load for the same answer.)
"""
from __future__ import annotations

import builtins
import importlib.util
import os
import subprocess
import sys
from contextlib import contextmanager

from streamlit.testing.v1 import AppTest

from tests.conftest import REPO


def _absolute(name: str, globals_: dict | None, level: int) -> str:
    if not level:
        return name
    package = (globals_ or {}).get("__package__") or ""
    base = package.rsplit(".", level - 1)[0] if level > 1 else package
    return f"{base}.{name}" if name else base


@contextmanager
def recording_imports():
    """Every module named by an import statement of the product's code executed inside the
    block (the statement's module and the submodules of its ``from`` list), from any thread
    (the page runs in AppTest's script thread)."""
    seen: set[str] = set()
    original = builtins.__import__

    def record(name, globals=None, locals=None, fromlist=(), level=0):
        module = original(name, globals, locals, fromlist, level)
        if not _ours(globals):  # e.g. torch's own lazy imports, run by a thread an earlier
            return module       # test left: what our code imports pulls in the rest
        full = _absolute(name, globals, level)
        seen.add(full)
        seen.update(f"{full}.{item}" for item in fromlist or ()
                    if f"{full}.{item}" in sys.modules)
        return module

    builtins.__import__ = record
    try:
        yield seen
    finally:
        builtins.__import__ = original


def _ours(globals_: dict | None) -> bool:
    """The import statement runs in the product's code (core, dashboard, the page scripts),
    not in a library or a test."""
    path = str((globals_ or {}).get("__file__") or "")
    # a clean clone keeps its .venv inside the checkout: torch's files live under REPO too
    return (path.startswith(str(REPO)) and not path.startswith(str(REPO / "tests"))
            and "site-packages" not in path)


def _importable(name: str) -> bool:
    """A module a fresh interpreter can import by name (not a script run by path)."""
    try:
        return name in sys.modules or importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _loads_torch(modules: set[str]) -> bool:
    code = ("import importlib, sys\n"
            f"for m in {sorted(modules)!r}:\n"
            "    importlib.import_module(m)\n"
            "print('torch' in sys.modules)\n")
    env = {**os.environ, "EXPLORER_WARM_UP": "0"}
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout.strip().splitlines()[-1] == "True"


def test_train_page_opens_without_importing_torch(app_store):
    at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=120)
    with recording_imports() as seen:
        at.run()
        at.switch_page("screens/train.py").run()
    assert not at.exception, at.exception
    assert any("Train" in t.value for t in at.title), [t.value for t in at.title]
    assert "core.training.config" in seen  # the page's own imports were recorded
    assert not {m for m in seen if m == "torch" or m.startswith("torch.")}, "the page imports torch"
    assert not _loads_torch({m for m in seen if _importable(m)})


def test_only_the_products_own_files_count_as_its_imports():
    """A clean clone's .venv sits inside the checkout: its libraries are not the product."""
    assert _ours({"__file__": str(REPO / "dashboard" / "screens" / "train.py")})
    assert not _ours({"__file__": str(REPO / "tests" / "conftest.py")})
    lib = REPO / ".venv" / "lib" / "python3.11" / "site-packages" / "torch" / "_dynamo" / "x.py"
    assert not _ours({"__file__": str(lib)})
