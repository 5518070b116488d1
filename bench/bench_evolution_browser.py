"""The Evolution map in Chromium at 5,000 and 50,000 words x 11 snapshots: the time of a
snapshot switch, from the input to the next painted frame, and what the browser is sent.

    .venv/bin/python bench/bench_evolution_browser.py [--words 5000 50000] [--frames 11]

Each size is served by ``tests/browser/evolution_chart_app.py`` (the Evolution page's own
component and figure builders over synthetic words; ``streamlit run``, loopback). Up to
``evolution.MAX_ANIMATED`` words the figure is animated: a switch is a plotly slider step /
Play step (``Plotly.animate`` to the snapshot, timed to the requestAnimationFrame after it
resolves). Above, a switch is a key press on Streamlit's snapshot slider: the fragment reruns
on the server, the component gets the snapshot's number and updates x/y of the drawn WebGL
traces; timed from the key press to the requestAnimationFrame after that update (the
component's "frame N" mark). Prints a markdown table.

    .venv/bin/python bench/bench_evolution_browser.py --store /tmp/bench_pages/runs-pca

``--store``: the real Evolution page instead, "all words" of the store's newest run (a copy
of the store is served, and the engine's all-words chain is computed first, PCA, if missing).
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, IDLE, serve, stop  # noqa: E402
from tests.browser.test_evolution_switch import serve_chart  # noqa: E402

EVO = "iframe[title*=evolution_chart]"
STEP = """async (k) => { const gd = document.getElementById('chart');
  const t0 = performance.now();
  await Plotly.animate(gd, [String(k)], {mode: 'immediate', frame: {duration: 0, redraw: true},
                                         transition: {duration: 0}});
  await new Promise((done) => requestAnimationFrame(() => done()));
  return performance.now() - t0; }"""
MARK = """(name) => { const m = window.evolutionMarks.filter((x) => x[0] === name);
  return m.length ? m[m.length - 1][1] : null; }"""


def _open(page, url: str):
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=600_000)
    page.frame_locator(EVO).locator(".main-svg").first.wait_for(timeout=600_000)
    chart = next(f for f in page.frames if "evolution_chart" in f.url)
    chart.wait_for_function("() => window.evolutionMarks.some((m) => m[0] === 'drawn')",
                            timeout=600_000)
    return chart, time.perf_counter() - t0


def _slider_switches(page, chart, frames: int, repeat: int) -> tuple[list, list]:
    """(input -> painted, change arrived -> painted) in seconds, one per key press."""
    thumb = page.get_by_role("slider")
    total, local, at = [], [], frames - 1
    for i in range(repeat):
        at += -1 if i % 2 == 0 else 1  # back and forth between the last two snapshots
        chart.evaluate("() => { window.evolutionMarks.length = 0; }")
        thumb.focus()
        t0 = page.evaluate("Date.now()")
        thumb.press("ArrowLeft" if i % 2 == 0 else "ArrowRight")
        chart.wait_for_function(f"() => document.getElementById('chart').dataset.frame === "
                                f"'{at}'", timeout=120_000)
        painted = chart.evaluate(MARK, f"frame {at}")
        total.append((painted - t0) / 1000)
        local.append((painted - chart.evaluate(MARK, "change arrived")) / 1000)
        page.wait_for_selector(IDLE)
    return total, local


def measure(words: int, frames: int, repeat: int) -> dict:
    from playwright.sync_api import sync_playwright

    proc, url = serve_chart(words, frames, f"bench-evolution-{words}.log")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(600_000)
            chart, first = _open(page, url)
            caption = page.get_by_text(re.compile("payload")).first.inner_text()
            payload = int(re.search(r"payload ([\d,]+) bytes", caption)[1].replace(",", ""))
            animated = chart.evaluate("() => (document.getElementById('chart')._transitionData"
                                      "._frames || []).length") > 0
            if animated:
                steps = [chart.evaluate(STEP, k % frames) / 1000 for k in range(repeat)]
                total, local = steps, steps
            else:
                total, local = _slider_switches(page, chart, frames, repeat)
            page.screenshot(path=str(REPO / "test-artifacts" / f"bench-evolution-{words}.png"))
            browser.close()
    finally:
        stop(proc)
    return dict(words=words, frames=frames, animated=animated, first=first, payload=payload,
                total=statistics.median(total), local=statistics.median(local),
                worst=max(total))


def measure_page(store: Path, repeat: int) -> dict:
    """The real Evolution page, "all words" of the newest run of a copy of ``store``."""
    import shutil
    import tempfile

    from playwright.sync_api import sync_playwright

    from core.jobs.engine import Engine
    from core.runs.evolution import ALL_WORDS
    from core.store.runstore import RunStore

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runs"
        shutil.copytree(store, root)
        engine = Engine(RunStore(root), warm=False, method="pca")
        while engine.tick():
            pass
        run = RunStore(root).list_runs()[0]
        proc, url = serve(root, ARTIFACTS / "bench-evolution-page.log", warm_up=False)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(600_000)
                _open(page, f"{url}/evolution?run={run.run_id}")
                page.get_by_text(f"all words (up to {ALL_WORDS:,})").click()
                page.wait_for_timeout(500)
                page.wait_for_selector(IDLE)
                chart = next(f for f in page.frames if "evolution_chart" in f.url)
                chart.wait_for_function("() => document.getElementById('chart')._fullData"
                                        ".some((t) => t.meta === 'points' && t.x.length > 5500)")
                words = chart.evaluate("() => document.getElementById('chart')._fullData"
                                       ".find((t) => t.meta === 'points').x.length")
                total, local = _slider_switches(page, chart, run.n_snapshots, repeat)
                browser.close()
        finally:
            stop(proc)
    return dict(words=words, frames=run.n_snapshots, total=statistics.median(total),
                worst=max(total), local=statistics.median(local))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--frames", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store", type=Path, help="the real page over this store's newest run")
    args = parser.parse_args()
    if args.store:
        r = measure_page(args.store, args.repeat)
        print(f"| the Evolution page, all words: {r['words']:,} x {r['frames']} | "
              f"{r['total']:.3f} / {r['worst']:.3f} | {r['local']:.3f} |")
        return
    rows = [measure(w, args.frames, args.repeat) for w in args.words]
    print("| words x snapshots | switch by | first load s | payload MB (per snapshot) | "
          "switch s, input to painted (median / worst) | of which in the browser s |\n"
          "|---|---|---:|---:|---:|---:|")
    for r in rows:
        how = "plotly slider / Play step" if r["animated"] else "Streamlit slider, x/y update"
        print(f"| {r['words']:,} x {r['frames']} | {how} | {r['first']:.2f} | "
              f"{r['payload'] / 1e6:.2f} ({r['payload'] / r['frames'] / 1e6:.2f}) | "
              f"{r['total']:.3f} / {r['worst']:.3f} | {r['local']:.3f} |")


if __name__ == "__main__":
    main()
