"""The shape of ``core``: subpackages in layers, lower layers never import higher ones, no
import cycle, and the configs import without torch (docs/architecture.md draws the layers)."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

CORE = REPO / "core"
# Lower numbers are lower layers; a package may import its own layer's modules only from
# within itself, and any lower layer.
LAYERS = {"errors": 0, "common": 0, "vectors": 1, "data": 2, "analysis": 2, "store": 3,
          "training": 4, "runs": 4, "jobs": 5, "track": 5, "cli": 6, "__main__": 7,
          "__init__": 7}


def _module_name(path: Path, root: Path = REPO) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every core module this module imports, at any depth (function-level imports count),
    except those only for type checkers."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if _is_type_checking(node):
            continue
        stack.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("core")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join(anchor + ([node.module] if node.module else []))
            if base.startswith("core"):
                found |= {f"{base}.{a.name}" for a in node.names} | {base}
    return found


def import_graph(root: Path = REPO) -> dict[str, set[str]]:
    """core module -> the core modules it imports (names resolved to existing modules);
    ``root`` holds the ``core`` package (a test gives a made-up one)."""
    paths = {_module_name(p, root): p for p in (root / "core").rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        raw = _imports(ast.parse(path.read_text()), name, path.name == "__init__.py")
        graph[name] = {m for m in raw if m in paths and m != name}
    return graph


def _layer(module: str) -> tuple[str, int]:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return top, LAYERS[top]


def test_every_core_package_has_a_layer():
    packages = {p.name for p in CORE.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in CORE.glob("*.py")}
    assert packages | modules <= set(LAYERS), (packages | modules) - set(LAYERS)


def test_lower_layers_never_import_higher_ones():
    wrong = []
    for module, targets in import_graph().items():
        pkg, level = _layer(module)
        for target in targets:
            tpkg, tlevel = _layer(target)
            if tpkg != pkg and tlevel >= level:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "layer violations:\n" + "\n".join(sorted(wrong))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_checks_catch_a_cycle_hidden_in_function_and_relative_imports(tmp_path):
    """A made-up ``core`` whose cycle runs through a function-level import and a relative
    one, beside an import only for type checkers (which is no edge): the walker must see the
    first two and the cycle finder report the loop, or the real checks above prove nothing."""
    pkg = tmp_path / "core" / "sub"
    pkg.mkdir(parents=True)
    for path, text in {
        tmp_path / "core" / "__init__.py": "",
        pkg / "__init__.py": "",
        pkg / "a.py": "def f():\n    from core.sub.b import g\n    return g\n",
        pkg / "b.py": "from . import c\n",
        pkg / "c.py": "import core.sub.a\n",
        pkg / "d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from core.sub.a import f\n",
    }.items():
        path.write_text(text)
    graph = import_graph(tmp_path)
    assert graph["core.sub.d"] == set()
    assert graph["core.sub.a"] == {"core.sub.b"} and "core.sub.c" in graph["core.sub.b"]
    assert find_cycle(graph) == ["core.sub.a", "core.sub.b", "core.sub.c", "core.sub.a"]
    (pkg / "c.py").write_text("import core.sub\n")  # the loop broken
    assert find_cycle(import_graph(tmp_path)) is None


def test_no_import_cycle_in_core():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def _fresh(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "EXPLORER_WARM_UP": "0"}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=env)


def test_config_module_imports_without_torch():
    res = _fresh("import sys, core.training.config, core.training.split; "
                 "print('torch' in sys.modules)")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


@pytest.mark.slow
def test_train_page_opens_without_importing_torch(tmp_path):
    """The Train page reads its defaults and ranges from TrainConfig; opening it must not pay
    for torch (the warm-up, which would, is off here)."""
    code = (
        "import os, sys\n"
        f"os.environ['EXPLORER_STORE'] = {str(tmp_path)!r}\n"
        "from streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file('dashboard/app.py', default_timeout=120).run()\n"
        "at.switch_page('views/train.py').run()\n"
        "assert not at.exception, at.exception\n"
        "assert any('Train' in t.value for t in at.title), [t.value for t in at.title]\n"
        "print('torch' in sys.modules)\n")
    res = _fresh(code)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "False"
