"""Benchmark of the run comparison (core.runs.comparison) on a clickbait run; prints markdown.

    python bench/bench_compare.py --reps 3            # trains a 10-epoch bag run first
    python bench/bench_compare.py --store DIR --run RUN_ID   # reuse an existing run

The run: core.training.trainer.train_run on all 32,000 headlines of ../shared/data/clickbait (read from
the .gz files, never copied), GloVe init, 10 epochs -> 11 snapshots. Timed: compare_run
against GloVe with the default settings (k=10, 5,000 training words + up to 1,000 unseen ones)
without the cache, then a cached read; plus each measure alone on the last snapshot's words.
Medians over ``--reps``. Timings on the shared 2-core machines vary by 30-50 %.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.analysis import measures as compare  # noqa: E402
from core.runs import comparison as runcompare  # noqa: E402
from core.store.runstore import RunStore  # noqa: E402
from shared_data import load_dataset, median_time  # noqa: E402


def make_run(store: RunStore, epochs: int) -> str:
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    t0 = time.perf_counter()
    summary = train_run(load_dataset(), TrainConfig(init="glove", epochs=epochs), store)
    print(f"trained {summary.run_id}: vocab {summary.vocab_size}, {summary.snapshots} snapshots, "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return summary.run_id


def measure_parts(store: RunStore, run_id: str, result, reps: int) -> dict[str, float]:
    """Each measure alone on the last snapshot's compared words (GloVe side included)."""
    from core.vectors.pretrained import glove

    words = result.words[-1]["word"].tolist()
    vocab = store.load_vocab(run_id)
    pos = {w: i for i, w in enumerate(vocab["token"])}
    rows = np.array([pos[w] for w in words])
    last = store.get_run(run_id).n_snapshots - 1
    learned = np.asarray(store.load_snapshot(run_id, last)[rows], dtype=np.float64)
    prev = np.asarray(store.load_snapshot(run_id, last - 1)[rows], dtype=np.float64)
    kv = glove()
    pre = np.asarray(kv.vectors[[kv.key_to_index[w] for w in words]], dtype=np.float64)
    docs = np.asarray(store.load_docvecs(run_id, last), dtype=np.float64)
    labels = store.load_docs(run_id)["label_id"].to_numpy()
    nn_a, nn_b = compare.nearest_neighbors(learned, 10), compare.nearest_neighbors(pre, 10)
    return {
        "nearest_neighbors (k=10)": median_time(lambda: compare.nearest_neighbors(learned, 10), reps),
        "jaccard_at_k": median_time(lambda: compare.jaccard_at_k(nn_a, nn_b), reps),
        "neighbor_changes": median_time(lambda: compare.neighbor_changes(nn_b, nn_a, words), reps),
        "drift (Procrustes)": median_time(lambda: compare.drift(learned, prev), reps),
        "linear_cka": median_time(lambda: compare.linear_cka(learned, pre), reps),
        "word_similarity x2": median_time(lambda: [compare.word_similarity(words, learned, b)
                                                   for b in compare.BENCHMARKS], reps),
        "knn_accuracy (500 docs)": median_time(lambda: compare.knn_accuracy(docs, labels), reps),
        "silhouette (500 docs)": median_time(lambda: compare.silhouette(docs, labels), reps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="run store (default: a temporary folder)")
    parser.add_argument("--run", help="existing run id in --store (default: train one)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(args.store or tmp)
        run_id = args.run or make_run(store, args.epochs)
        config = runcompare.CompareConfig()
        runs = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            result = runcompare.compare_run(store, run_id, config, use_cache=False)
            runs.append((time.perf_counter() - t0, result))
        total = statistics.median(t for t, _ in runs)
        per_snap = statistics.median(float(r.snapshots["seconds"].median()) for _, r in runs)
        runcompare.compare_run(store, run_id, config)  # fill the cache
        cached = median_time(lambda: runcompare.compare_run(store, run_id, config), args.reps)
        result = runs[0][1]
        print(f"run {run_id}: {len(result.words)} snapshots, {result.reference['n_words']} words "
              f"({result.reference['n_seen']} seen + {result.reference['n_unseen']} unseen), "
              f"{result.reference['n_docs']} documents; median of {args.reps}\n")
        print("| step | seconds |\n|---|---|")
        print(f"| compare_run, all snapshots, no cache | {total:.2f} |")
        print(f"| one snapshot (median) | {per_snap:.3f} |")
        print(f"| setup (words, GloVe side, reference) | {total - result.snapshots['seconds'].sum():.2f} |")
        print(f"| compare_run, cache hit | {cached:.3f} |")
        for name, seconds in measure_parts(store, run_id, result, args.reps).items():
            print(f"| {name} | {seconds:.3f} |")
        last = result.snapshots.iloc[-1]
        print(f"\nlast snapshot: mean_jaccard {last.mean_jaccard:.3f}, cka {last.cka:.3f}, "
              f"wordsim353 {last.wordsim353_rho:.3f} ({last.wordsim353_found} pairs) vs GloVe "
              f"{result.reference['wordsim353']['rho']:.3f}, knn {last.knn_learned:.3f} vs "
              f"{last.knn_pretrained:.3f}, val_accuracy {last.val_accuracy:.3f}")


if __name__ == "__main__":
    main()
