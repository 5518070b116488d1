"""Seconds from "run finished" to "its UMAP evolution is on disk", as a user meets it: an
engine process serves the store (started fresh, as ``make run`` does), a run is trained with
``python -m core train`` into the same store, and we poll the store until the engine has
cached the run's UMAP evolution. Prints a markdown table.

    .venv/bin/python bench/bench_first_view.py --cases sample clickbait --words 2000 4500
    .venv/bin/python bench/bench_first_view.py --cases sample --busy   # one CPU-bound process

Cases: the bundled sample (random init, 5 epochs) and all 32,000 clickbait headlines (random
init, 10 epochs -> 11 snapshots). ``--words N``: the evolution's most frequent training words
(plus up to 500 never seen in training). ``--fresh-cache``: an empty numba cache (what a
machine that skipped ``make``'s warm-up would see). ``--busy``: another CPU-bound process
runs throughout (the 2-core machine shared with anything else).
"""
from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def clickbait_csv(folder: Path) -> Path:
    """The shared clickbait data written as one CSV in a temporary folder (not the repo)."""
    from shared_data import load_rows

    texts, labels = load_rows()
    path = folder / "clickbait.csv"
    import pandas as pd

    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


def evolution_ready(store, run_id: str, n_words: int) -> bool:
    from core.runs import views

    try:
        return views.evolution(store, run_id, "umap", cached_only=True,
                               n_words=n_words) is not None
    except Exception:  # noqa: BLE001 - the run may not be readable yet
        return False


def one_case(data: Path, epochs: int, n_words: int, env: dict) -> dict:
    from core.store.runstore import RunStore

    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(tmp)
        engine = subprocess.Popen([sys.executable, "-m", "core", "engine", "--store", tmp,
                                   "--words", str(n_words)],
                                  cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            started = time.monotonic()
            train = subprocess.run(
                [sys.executable, "-m", "core", "train", str(data), "--epochs", str(epochs),
                 "--store", tmp, "--quiet"], cwd=REPO, env=env, capture_output=True, text=True)
            finished = time.monotonic()
            run_id = store.list_runs()[0].run_id
            while not evolution_ready(store, run_id, n_words):
                if time.monotonic() - finished > 600:
                    raise RuntimeError("no evolution after 10 minutes")
                time.sleep(0.2)
            ready = time.monotonic()
        finally:
            engine.terminate()
            engine.wait(30)
    return {"train s (server start -> run done)": finished - started,
            "first UMAP view after the run ends (s)": ready - finished,
            "train exit": train.returncode}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["sample", "clickbait"])
    ap.add_argument("--words", type=int, nargs="+", default=[2000])
    ap.add_argument("--busy", action="store_true")
    ap.add_argument("--fresh-cache", action="store_true")
    args = ap.parse_args()
    env = dict(os.environ)
    burner = None
    if args.busy:
        burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    rows = []
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            for case in args.cases:
                data = (REPO / "sample_data" / "sample.csv" if case == "sample"
                        else clickbait_csv(Path(data_dir)))
                epochs = 5 if case == "sample" else 10
                for n in args.words:
                    with tempfile.TemporaryDirectory() as cache:
                        case_env = dict(env)
                        if args.fresh_cache:
                            case_env["NUMBA_CACHE_DIR"] = cache
                        row = {"case": case, "words": n, "busy": args.busy,
                               "numba cache": "empty" if args.fresh_cache else "from install",
                               **one_case(data, epochs, n, case_env)}
                    rows.append(row)
                    print(row, file=sys.stderr, flush=True)
    finally:
        if burner is not None:
            burner.kill()
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{v:.1f}" if isinstance(v, float) else str(v)
                                for v in r.values()) + " |")


if __name__ == "__main__":
    main()
