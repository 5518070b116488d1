"""Which evolution layout tells the truth? Every strategy on real runs, with each frame's
trustworthiness against its own snapshot and against the final one (prints markdown).

    .venv/bin/python bench/bench_evolution.py --runs sample clickbait --words 2500 5000

Runs (trained here, random init unless said, 10 epochs -> 11 snapshots): the bundled sample;
all 32,000 clickbait headlines; the sample with frozen GloVe (nothing may move). Words: the
most frequent training words plus up to 500 never seen in training (``select_words``), as the
Evolution view picks them. Trust = sklearn trustworthiness, k=10, 1000-point sample, cosine.
"own" = against the frame's own snapshot, "final" = against the last snapshot: a frame whose
"final" beats its "own" borrows structure it does not have yet. "still" = largest displacement
of rows whose vector did not change between consecutive frames, as a fraction of the layout's
extent. "last step" = seconds for the final frame alone when frames are computed as snapshots
arrive (chained methods), else the whole sequence.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench.strategies import project_with  # noqa: E402
from core.analysis import projection as P  # noqa: E402
from core.analysis import umap_runtime  # noqa: E402

STRATEGIES = ("fit_transform", "chained", "joint", "aligned", "aligned_strong")


def train(kind: str, store) -> str:
    from core.data.loading import load_dataset
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    if kind == "clickbait":
        from shared_data import load_dataset as clickbait
        dataset, config = clickbait(), TrainConfig(epochs=10)
    else:
        dataset = load_dataset(REPO / "sample_data" / "sample.csv")
        config = (TrainConfig(epochs=10, init="glove", freeze=True) if kind == "frozen"
                  else TrainConfig(epochs=10))
    return train_run(dataset, config, store).run_id


def frames_of(store, run_id: str, n_words: int) -> list[np.ndarray]:
    vocab = store.load_vocab(run_id)
    rows = P.select_words(vocab["count"].to_numpy(), vocab["train_count"].to_numpy(),
                          n_top=n_words, include_unseen=True,
                          in_pretrained=vocab["in_pretrained"].to_numpy(), max_unseen=500)
    run = store.get_run(run_id)
    return [np.asarray(store.load_snapshot(run_id, s["idx"]), dtype=np.float32)[rows]
            for s in run.snapshots]


def stillness(frames, coords) -> float:
    worst = 0.0
    ext = max(P.layout_extent(coords[-1]), 1e-12)
    for t in range(1, len(frames)):
        same = np.all(frames[t] == frames[t - 1], axis=1)
        if same.any():
            move = np.linalg.norm(coords[t][same] - coords[t - 1][same], axis=1).max()
            worst = max(worst, float(move) / ext)
    return worst


def last_step_seconds(name: str, frames, cfg) -> float:
    """Seconds for the final frame when earlier frames are already done (chained methods)."""
    if name == "chained":
        prev = P.project_sequence(frames[:-1], cfg).coords[-1]
        t0 = time.perf_counter()
        P.project_incremental(prev, frames[-1], cfg, prev_snapshot=frames[-2])
        return time.perf_counter() - t0
    if name == "pca:each":
        prev = P.pca_frames(frames[:-1], cfg).coords[-1]
        t0 = time.perf_counter()
        P.project_incremental(prev, frames[-1], P.ProjectionConfig(method="pca"),
                              prev_snapshot=frames[-2])
        return time.perf_counter() - t0
    return float("nan")


def measure(name: str, frames, cfg) -> dict:
    if "@" in name:  # chained@EPOCHS/RATE: a chained refit with other live settings
        epochs, rate = name.split("@")[1].split("/")
        cfg = dataclasses.replace(cfg, live_epochs=int(epochs), live_learning_rate=float(rate))
        row = measure("chained", frames, cfg)
        return {**row, "strategy": name}
    if name.startswith("pca"):
        proj = P.pca_frames(frames, P.ProjectionConfig(method="pca"), fit_on=name.split(":")[1])
    else:
        proj = project_with(frames, cfg, strategy=name)
    mid = len(frames) // 2
    row = {"strategy": name, "seconds": proj.seconds,
           "last step": last_step_seconds(name, frames, cfg)}
    for label, i in (("first", 0), ("mid", mid), ("last", len(frames) - 1)):
        row[f"{label} own"] = proj.trust[i]
        row[f"{label} final"] = proj.trust_final[i]
    row["borrowed frames"] = len(proj.borrowed(0.005))
    row["still"] = stillness(frames, proj.coords)
    return row


def fmt(v) -> str:
    if isinstance(v, float):
        return "–" if np.isnan(v) else f"{v:.3g}"
    return str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", default=["sample", "frozen", "clickbait"])
    ap.add_argument("--words", type=int, nargs="+", default=[2500])
    ap.add_argument("--strategies", nargs="+",
                    default=["pca:final", "pca:each", *STRATEGIES])
    ap.add_argument("--aligned-max", type=int, default=2500,
                    help="largest word count for AlignedUMAP and the joint fit (slow)")
    ap.add_argument("--store", help="keep the runs here (default: a temporary folder)")
    args = ap.parse_args()
    from core.store.runstore import RunStore

    umap_runtime.configure_numba_cache()
    umap_runtime.warm_up()
    cfg = P.ProjectionConfig()
    cols = None
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(args.store or tmp)
        for kind in args.runs:
            run_id = train(kind, store)
            for n in args.words:
                frames = frames_of(store, run_id, n)
                for name in args.strategies:
                    slow = name in ("joint", "aligned", "aligned_strong")
                    if slow and len(frames[0]) > args.aligned_max:
                        continue
                    row = {"run": kind, "words": len(frames[0]), **measure(name, frames, cfg)}
                    if cols is None:
                        cols = list(row)
                        print("| " + " | ".join(cols) + " |")
                        print("|" + "---|" * len(cols))
                    print("| " + " | ".join(fmt(row[c]) for c in cols) + " |", flush=True)


if __name__ == "__main__":
    main()
