"""What each page computes on load: the server-side script time of every page (AppTest, no
browser, so no drawing) over the same finished 10-class run as ``bench_pages.py``, its views
computed by the engine (PCA: the page path is the same for UMAP, only the numbers differ).

    .venv/bin/python bench/bench_page_scripts.py --app /tmp/base --app .

Per checkout: each page's first run in the session, then the median of two more (a switch).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PAGES = ("train", "evolution", "lookup", "compare", "documents", "semantics", "spaces", "runs",
         "data")


def page_times(app: Path, store: Path, pages: tuple[str, ...] = PAGES
               ) -> dict[str, tuple[float, float]]:
    """In this process: the dashboard of ``app`` over ``store``, each page timed."""
    from streamlit.testing.v1 import AppTest

    from core.store.runstore import RunStore

    os.environ.update(EXPLORER_STORE=str(store), EXPLORER_WARM_UP="0")
    at = AppTest.from_file(str(app / "dashboard" / "app.py"), default_timeout=600)
    at.query_params["run"] = RunStore(store).list_runs()[0].run_id
    at.run()
    out = {}
    for name in pages:
        seconds = []
        for _ in range(3):
            t0 = time.perf_counter()
            at.switch_page(f"screens/{name}.py").run()
            seconds.append(time.perf_counter() - t0)
        assert not at.exception, [e.value for e in at.exception]
        out[name] = (seconds[0], statistics.median(seconds[1:]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, action="append")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench_pages")
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=PAGES)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # a child: app,store
    args = parser.parse_args()
    if args.one:
        app, store = str(args.one).split(",")
        sys.path.insert(0, app)  # that checkout's core and dashboard, not this one's
        for name, (first, then) in page_times(Path(app), Path(store),
                                              tuple(args.pages)).items():
            print(f"{name} {first:.3f} {then:.3f}")
        return
    from bench.bench_pages import trained_store
    from core.jobs.engine import Engine
    from core.store.runstore import RunStore

    pristine, _ = trained_store(args.work)
    ready = args.work / "runs-pca"
    if not ready.is_dir():
        shutil.copytree(pristine, ready)
        Engine(RunStore(ready), warm=False, method="pca").tick()
    rows: dict[str, list[str]] = {}
    for app in args.app or [REPO]:
        with tempfile.TemporaryDirectory() as tmp:  # each checkout reads its own copy
            store = Path(tmp) / "runs"
            shutil.copytree(ready, store)
            done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one",
                                   f"{app.resolve()},{store}", "--pages", *args.pages],
                                  text=True, capture_output=True, cwd=app.resolve())
            if done.returncode:
                sys.exit(f"{app}: {done.stderr[-3000:]}")
            out = done.stdout
        for line in out.splitlines():
            name, first, then = line.split()
            rows.setdefault(name, []).extend([first, then])
    print("| page | " + " | ".join(f"{a} first | {a} switch" for a in args.app or [REPO])
          + " |\n|---|" + "---|" * (2 * len(args.app or [REPO])))
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
