"""Every page's first-load and switch time in Chromium over a finished ~6k-word, 10-class run,
as a user meets them: the server is started fresh (``dashboard/serve.py``, as ``make run``
does) over a copy of a store holding one finished run whose views were never computed, so
the numbers include whatever the server does on its first visits.

    .venv/bin/python bench/bench_pages.py                              # this checkout
    .venv/bin/python bench/bench_pages.py --app /tmp/base --app .      # before and after

With two checkouts both servers run at once, each over its own copy of the store, and the
pages are timed in turn, so the machine's load falls on both alike (the ratios are measured
in the same run). Printed: seconds from a fresh server until the run's views are ready, and
a markdown table per page of the median first load (a new tab opening the page's URL) and
the median switch (a click in the sidebar from the page before) until the page is idle. The data set: 5,220
one-line texts of 10 classes (208 to 1,246 rows each, as the data set of issue 21) drawn
from GloVe's own words (so the pretrained views have them), about 6,000 distinct words; the
run: bag, random init, 10 epochs, 11 snapshots.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, stop  # noqa: E402
from tests.browser import conftest as browser_fixtures  # noqa: E402

PAGES = ("data", "train", "evolution", "lookup", "compare", "documents", "experiments",
         "semantics", "spaces", "runs")
CLASS_ROWS = (208, 260, 330, 400, 450, 500, 560, 600, 666, 1246)  # 5,220 rows in all


def make_dataset(path: Path, seed: int = 0) -> Path:
    """10 classes, each with its own 600 GloVe words, among 200 shared frequent words."""
    from core.vectors.pretrained import glove_words

    words = [w for w in glove_words()[100:20000] if w.isalpha() and len(w) >= 3]
    shared, own = words[:200], words[200:200 + 600 * len(CLASS_ROWS)]
    rng = np.random.default_rng(seed)
    lines = ["text,label"]
    for c, n in enumerate(CLASS_ROWS):
        pool = own[c * 600:(c + 1) * 600]
        for _ in range(n):
            picked = list(rng.choice(pool, 8)) + list(rng.choice(shared, 4))
            lines.append(f"{' '.join(rng.permutation(picked))},class {c:02d}")
    path.write_text("\n".join(lines) + "\n")
    return path


def trained_store(folder: Path) -> tuple[Path, str]:
    """A store with one finished run and no engine ever started (views pending)."""
    from core.store.runstore import RunStore

    store = folder / "runs"
    if not store.is_dir():
        data = make_dataset(folder / "ten_classes.csv")
        subprocess.run([sys.executable, "-m", "core", "train", str(data), "--store", str(store),
                        "--epochs", "10", "--no-early-stopping", "--quiet"], cwd=REPO, check=True)
    run = RunStore(store).list_runs()[0]
    return store, run.run_id


def _idle(page, timeout: float = 300_000) -> None:
    try:  # a rerun may not have begun yet: give it a moment to start
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="running"]',
                               timeout=1500)
    except Exception:  # noqa: BLE001 - already done, or never needed to run
        pass
    page.wait_for_selector(IDLE, timeout=timeout)


def first_load(browser, url: str, name: str, run_id: str) -> float:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(f"{url}/{'' if name == 'data' else name}?run={run_id}")
    _idle(page)
    seconds = time.perf_counter() - t0
    context.close()
    return seconds


def switches(browser, url: str, run_id: str) -> dict[str, float]:
    """One tab going through every page by the sidebar; seconds per page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}/?run={run_id}")
    _idle(page)
    out = {}
    for name in PAGES[1:] + PAGES[:1]:
        link = page.get_by_test_id("stSidebarNav").locator(f'a[href$="/{name}"]' if name !=
                                                           "data" else 'a[href$="/"]').first
        t0 = time.perf_counter()
        link.click()
        _idle(page)
        out[name] = time.perf_counter() - t0
    context.close()
    return out


def views_ready(store: Path, run_id: str, timeout: float = 900) -> float:
    from core.store.runstore import RunStore

    t0 = time.perf_counter()
    while RunStore(store).get_run(run_id).info.get("views") not in ("ready", "failed"):
        if time.perf_counter() - t0 > timeout:
            return float("nan")
        time.sleep(0.5)
    return time.perf_counter() - t0


def start(app: Path, pristine: Path, tmp: Path) -> dict:
    """A copy of the pristine store and a fresh server of ``app``'s checkout over it."""
    store = tmp / f"runs-{len(list(tmp.iterdir()))}"
    shutil.copytree(pristine, store)
    browser_fixtures.REPO = app  # serve() starts the dashboard of the checkout it names
    t0 = time.perf_counter()
    proc, url = browser_fixtures.serve(store, tmp / f"{store.name}.log")
    return {"app": app, "store": store, "proc": proc, "url": url, "t0": t0,
            "first": {n: [] for n in PAGES}, "switch": {n: [] for n in PAGES}}


def measure(apps: list[Path], pristine: Path, run_id: str, repeat: int, tmp: Path) -> list:
    """Every app served at once over its own copy of the store, pages timed in turn (so the
    machine's load falls on all of them alike)."""
    from playwright.sync_api import sync_playwright

    servers = []
    try:
        for app in apps:
            servers.append(start(app, pristine, tmp))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for s in servers:
                s["fresh data"] = first_load(browser, s["url"], "data", run_id)
            for s in servers:
                views_ready(s["store"], run_id)
                s["views"] = time.perf_counter() - s["t0"]
            for _ in range(repeat):
                for s in servers:
                    for name in PAGES:
                        s["first"][name].append(first_load(browser, s["url"], name, run_id))
                    for name, sec in switches(browser, s["url"], run_id).items():
                        s["switch"][name].append(sec)
            browser.close()
    finally:
        for s in servers:
            stop(s["proc"])
    return servers


def report(servers: list) -> None:
    for s in servers:
        print(f"app {s['app']}: fresh server's first Data page {s['fresh data']:.1f} s; the "
              f"run's views ready {s['views']:.1f} s after the server started")
    med = {(i, kind, n): statistics.median(s[kind][n])
           for i, s in enumerate(servers) for kind in ("first", "switch") for n in PAGES}
    head = " | ".join(f"{kind} {i}" for kind in ("first", "switch")
                      for i in range(len(servers)))
    print(f"| page | {head} |\n|---|" + "---|" * (2 * len(servers)))
    for n in PAGES:
        cells = " | ".join(f"{med[i, kind, n]:.2f}" for kind in ("first", "switch")
                           for i in range(len(servers)))
        print(f"| {n} | {cells} |")
    if len(servers) == 2:
        for kind in ("first", "switch"):
            ratios = [med[1, kind, n] / med[0, kind, n] for n in PAGES]
            print(f"{kind}: app 1 / app 0 median ratio {statistics.median(ratios):.2f}")


def cli_first_view(app: Path, data: Path, tmp: Path, wait: float = 180) -> float:
    """A fresh server, no page opened, a run trained from the command line: seconds from the
    run's end until its first UMAP view (the evolution's last frame by UMAP) is cached."""
    from core.runs.evolution import cached_chain
    from core.store.runstore import RunStore

    store = tmp / "cli-runs"
    browser_fixtures.REPO = app
    proc, _ = browser_fixtures.serve(store, tmp / "cli.log")
    try:
        subprocess.run([sys.executable, "-m", "core", "train", str(data), "--store", str(store),
                        "--epochs", "3", "--quiet"], cwd=REPO, check=True)
        t0 = time.perf_counter()
        run = RunStore(store).list_runs()[0]
        while time.perf_counter() - t0 < wait:
            found = cached_chain(RunStore(store), run.run_id)
            if found and found[0] == "umap" and len(found[3]) == run.n_snapshots:
                return time.perf_counter() - t0
            time.sleep(0.5)
        return float("inf")
    finally:
        stop(proc)
        shutil.rmtree(store, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, action="append",
                        help="checkout whose server runs (repeat to compare; default: this)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench_pages")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli-first-view", action="store_true",
                        help="only: seconds from a CLI run's end to its first UMAP view on a "
                             "freshly started server with no page open (3 epochs)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    pristine, run_id = trained_store(args.work)
    if args.cli_first_view:
        for app in args.app or [REPO]:
            with tempfile.TemporaryDirectory() as tmp:
                seconds = cli_first_view(app.resolve(), args.work / "ten_classes.csv", Path(tmp))
            print(f"app {app}: first UMAP view {seconds:.1f} s after the CLI run ended")
        return
    with tempfile.TemporaryDirectory() as tmp:
        servers = measure([a.resolve() for a in args.app or [REPO]], pristine, run_id,
                          args.repeat, Path(tmp))
    report(servers)


if __name__ == "__main__":
    main()
