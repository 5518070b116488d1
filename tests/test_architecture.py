"""The shape of ``core`` and ``dashboard``: modules in layers, lower layers never import
higher ones (imports only for type checkers count too), no import cycle, core never imports
the dashboard, the figure builders never import streamlit, and the configs import without
torch (docs/architecture.md draws the layers)."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path


from tests.conftest import REPO

CORE = REPO / "core"
DASHBOARD = REPO / "dashboard"
# Lower numbers are lower layers; a package may import its own layer's modules only from
# within itself, and any lower layer.
LAYERS = {"errors": 0, "common": 0, "vectors": 1, "data": 2, "analysis": 2, "store": 3,
          "training": 4, "runs": 4, "track": 4, "jobs": 5, "cli": 6, "__main__": 7,
          "__init__": 7}
# The dashboard's layers: screens -> widgets -> charts -> core, never back. ``text`` (pure
# formatting) and ``charts`` (pure figures) import no streamlit; ``state`` holds the session
# keys, ``services`` is the door into core; widgets and the panels a screen shows (library,
# live, importing, experiment_results, the custom components) build on them; app.py
# registers the screens.
DASHBOARD_LAYERS = {"text": 0, "hosts": 0, "pagebase": 0, "charts": 1, "state": 2, "services": 3,
                    "widgets": 4, "components": 4, "word2vec_panel": 4, "run_reads": 4,
                    "evolution_picture": 5,
                    "progress_panel": 4, "library": 5, "live": 5, "importing": 5, "sentences": 5,
                    "experiment_results": 5, "screens": 6,
                    "app": 7, "serve": 7, "__init__": 7}


def _module_name(path: Path, root: Path = REPO) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST, module: str, is_package: bool,
             roots: tuple[str, ...] = ("core", "dashboard")) -> set[str]:
    """Every module under ``roots`` this module imports, at any depth (function-level imports
    and imports only for type checkers count)."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        stack.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] in roots}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join(anchor + ([node.module] if node.module else []))
            if base.split(".")[0] in roots:
                found |= {f"{base}.{a.name}" for a in node.names} | {base}
    return found


def _type_checking_only(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    blocks = [n for n in ast.walk(tree) if _is_type_checking(n)]
    return set().union(*(_imports(b, module, is_package) for b in blocks))


def import_graph(*folders: Path, runtime_only: bool = False,
                 root: Path = REPO) -> dict[str, set[str]]:
    """module -> the modules of core and the dashboard it imports (names resolved to existing
    modules), for the modules under ``folders`` (default: core); ``runtime_only`` leaves out
    imports made only for type checkers. ``root`` holds the ``core`` and ``dashboard``
    packages (a test gives a made-up one)."""
    every = {_module_name(p, root): p for pkg in (root / "core", root / "dashboard")
             for p in pkg.rglob("*.py")}
    wanted = {_module_name(p, root) for pkg in folders or (root / "core",)
              for p in pkg.rglob("*.py")}
    graph = {}
    for name in sorted(wanted):
        path = every[name]
        tree = ast.parse(path.read_text())
        raw = _imports(tree, name, path.name == "__init__.py")
        if runtime_only:
            raw -= _type_checking_only(tree, name, path.name == "__init__.py")
        # ``from dashboard import widgets`` names the module, not the package's __init__
        graph[name] = {m for m in raw if m in every and m != name and "." in m}
    return graph


def _layer(module: str) -> tuple[str, int]:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    if parts[0] == "dashboard":
        return top, DASHBOARD_LAYERS[top]
    return top, LAYERS[top]


def test_every_core_package_has_a_layer():
    packages = {p.name for p in CORE.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in CORE.glob("*.py")}
    assert packages | modules <= set(LAYERS), (packages | modules) - set(LAYERS)


def _layer_violations(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in graph.items():
        pkg, level = _layer(module)
        for target in targets:
            if target.split(".")[0] != module.split(".")[0]:
                continue  # core -> dashboard and dashboard -> core: tested on their own
            tpkg, tlevel = _layer(target)
            if tpkg != pkg and tlevel >= level:
                wrong.append(f"{module} -> {target}")
    return sorted(wrong)


def test_lower_layers_never_import_higher_ones():
    wrong = _layer_violations(import_graph())
    assert not wrong, "layer violations:\n" + "\n".join(wrong)


def test_every_dashboard_module_has_a_layer():
    names = {p.stem for p in DASHBOARD.glob("*.py")} | {
        p.name for p in DASHBOARD.iterdir() if (p / "__init__.py").is_file()}
    assert names <= set(DASHBOARD_LAYERS), names - set(DASHBOARD_LAYERS)


def test_dashboard_layers_run_from_screens_to_widgets_to_charts_to_core():
    graph = import_graph(DASHBOARD)
    wrong = _layer_violations(graph)
    assert not wrong, "layer violations:\n" + "\n".join(wrong)
    assert not any(t.startswith("dashboard") for t in
                   set().union(*import_graph(CORE).values())), "core imports the dashboard"


def test_a_type_checking_import_counts_for_the_layers():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     "    from dashboard.widgets import pick_run\n")
    found = _imports(tree, "dashboard.charts.maps", False)
    assert "dashboard.widgets" in found
    assert _layer_violations({"dashboard.charts.maps": {"dashboard.widgets"}})


def test_figures_and_formatting_import_no_streamlit():
    """The figure builders and text helpers are tested like core: arrays in, figures out."""
    pure = [*sorted((DASHBOARD / "charts").glob("*.py")), DASHBOARD / "text.py"]
    found = [f"{p.relative_to(REPO)}: {node.lineno}" for p in pure
             for node in ast.walk(ast.parse(p.read_text()))
             if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                 (getattr(node, "module", None) or a.name).split(".")[0] == "streamlit"
                 for a in node.names)]
    assert len(pure) > 3 and not found, found


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
    graph = import_graph(root=tmp_path, runtime_only=True)
    assert graph["core.sub.d"] == set()
    assert import_graph(root=tmp_path)["core.sub.d"] == {"core.sub.a"}  # counts for layers
    assert graph["core.sub.a"] == {"core.sub.b"} and "core.sub.c" in graph["core.sub.b"]
    assert find_cycle(graph) == ["core.sub.a", "core.sub.b", "core.sub.c", "core.sub.a"]
    (pkg / "c.py").write_text("import core.sub\n")  # the loop broken
    assert find_cycle(import_graph(root=tmp_path, runtime_only=True)) is None


def test_no_import_cycle_in_core_or_the_dashboard():
    graph = import_graph(CORE, DASHBOARD)
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)
    assert find_cycle(import_graph(CORE, DASHBOARD, runtime_only=True)) is None


def _fresh(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "EXPLORER_WARM_UP": "0"}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=env)


def test_config_module_imports_without_torch():
    res = _fresh("import sys, core.training.config, core.training.split; "
                 "print('torch' in sys.modules)")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"
