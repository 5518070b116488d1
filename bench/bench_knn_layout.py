"""The Evolution layout chain at 50,000 words x 11 snapshots on the approximate neighbour
graph (core.analysis.knn.neighbour_graph), and the graph alone, exact vs approximate.

    python bench/bench_knn_layout.py [--words 50000] [--frames 11] [--dim 64]

Snapshots are synthetic: clustered word vectors drifting a little between frames (a random
walk), as a trained embedding's rows move. The chain is projection's own (first frame fitted
alone, each next one refitted from the previous layout), on the graph ``fit_umap`` uses
(``neighbour_graph``: approximate above 10,000 words).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from core.analysis import knn, projection, umap_runtime
from core.analysis.faithfulness import trustworthiness_score
from core.analysis.measures import nearest_neighbors


def frames(n: int, d: int, n_frames: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(20, n // 250), d))
    x = centres[rng.integers(0, len(centres), n)] + rng.normal(scale=0.7, size=(n, d))
    out = [x.astype(np.float32)]
    for _ in range(n_frames - 1):
        x = x + rng.normal(scale=0.05, size=x.shape)
        out.append(x.astype(np.float32))
    return out


def graph_times(x: np.ndarray, k: int, exact: bool) -> dict:
    start = time.perf_counter()
    approx = knn.approximate_neighbours(x, k - 1)
    result = {"approximate_s": time.perf_counter() - start}
    if exact:
        start = time.perf_counter()
        truth = nearest_neighbors(x, k - 1)
        result["exact_s"] = time.perf_counter() - start
        result["recall"] = knn.recall(approx, truth)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=50_000)
    parser.add_argument("--frames", type=int, default=11)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--no-exact", action="store_true", help="skip the exact graph's timing")
    args = parser.parse_args()
    umap_runtime.configure_numba_cache()
    data = frames(args.words, args.dim, args.frames)
    cfg = projection.ProjectionConfig(n_words=min(args.words, 50_000))
    print("graph (one frame):", graph_times(data[0], cfg.n_neighbors, not args.no_exact),
          flush=True)
    start = time.perf_counter()
    coords = [projection.first_layout(data[0], cfg)]
    print(f"frame 0: {time.perf_counter() - start:.1f} s", flush=True)
    for prev, x in zip(data[:-1], data[1:]):
        t = time.perf_counter()
        coords.append(projection.project_incremental(coords[-1], x, cfg, prev_snapshot=prev))
        print(f"frame {len(coords) - 1}: {time.perf_counter() - t:.1f} s", flush=True)
    total = time.perf_counter() - start
    trust = trustworthiness_score(data[-1], coords[-1], metric="cosine")
    print(f"chain of {args.frames} frames x {args.words} words: {total:.1f} s; "
          f"last frame's trustworthiness {trust:.3f}; payload per frame "
          f"{coords[-1].astype(np.float32).nbytes / 2**20:.2f} MB (float32 x, y)")


if __name__ == "__main__":
    main()
