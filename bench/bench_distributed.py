"""One run on 1 and on 2 processes (core.training.distributed) on clickbait: whole-run time
and training tokens/s, medians of --reps fresh runs each, and the ratio 2p/1p.

    python bench/bench_distributed.py [--reps 3] [--epochs 5] [--processes 1 2]

Each run is a fresh Python process calling ``train_run`` (rank 0; with 2 processes, one
spawned rank 1 through ``distributed.spawned``) with a ``RunStore`` in a temp dir: the bag,
dim 50, default batch (1,024 on clickbait), early stopping off so every run trains every
epoch. The store's tokenised-corpus cache is filled by one unmeasured run first, so every
measured run is "warm". "run s" is the ``train_run`` call (with 2 processes: spawning and
joining rank 1 included, its imports too); tokens/s (loop) = training tokens (the core
tokenizer, cut at max_len) x epochs / the epochs' ``loop_seconds`` on rank 0. Runs of 1 and
2 processes are interleaved, so drifting load hits both alike. The headlines are read in
place from ../shared (bench/shared_data.py), never copied.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_WORKER = """
import json, sys, time
sys.path.insert(0, sys.argv[1] + "/bench")
from shared_data import load_dataset
from core.store.runstore import RunStore
from core.training import distributed
from core.training.config import DistributedConfig, TrainConfig
from core.training.trainer import train_run

store, processes, epochs = RunStore(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
dataset, config = load_dataset(), TrainConfig(epochs=epochs, early_stopping=False)
start = time.perf_counter()
with distributed.ranks(DistributedConfig(processes=processes)) as group:
    summary = train_run(dataset, config, store, group=group)
seconds = time.perf_counter() - start
run = store.get_run(summary.run_id)
print(json.dumps({"run_s": seconds, "loop_s": sum(e["loop_seconds"] for e in run.epochs),
                  "status": summary.status, "val_accuracy": summary.val_accuracy[-1],
                  "n_snapshots": summary.snapshots, "run_id": summary.run_id}))
"""


def _run(store: Path, processes: int, epochs: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", _WORKER, str(REPO), str(store), str(processes),
                           str(epochs)], cwd=REPO, capture_output=True, text=True, check=True,
                          env=env)
    return json.loads(done.stdout.splitlines()[-1])


def _train_tokens(store: Path, run_id: str) -> int:
    """Training tokens per epoch of the run (its stored split, the core tokenizer, max_len)."""
    sys.path.insert(0, str(REPO / "bench"))
    sys.path.insert(0, str(REPO))
    from shared_data import load_dataset

    from core.data.text import tokenize
    from core.store.runstore import RunStore
    from core.training.config import TrainConfig

    texts = load_dataset().texts
    train = RunStore(store).load_array(run_id, "split_train")
    cap = TrainConfig().max_len
    return int(sum(max(min(len(tokenize(texts[i])), cap), 1) for i in train))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dist-") as tmp:
        store = Path(tmp) / "store"
        warm = _run(store, 1, 1)  # fills the tokenised-corpus cache; not measured
        tokens = _train_tokens(store, warm["run_id"])
        results: dict[int, list[dict]] = {p: [] for p in args.processes}
        for rep in range(args.reps):
            for p in args.processes:
                res = _run(store, p, args.epochs)
                res["loop_tokens_per_s"] = tokens * args.epochs / res["loop_s"]
                res["run_tokens_per_s"] = tokens * args.epochs / res["run_s"]
                results[p].append(res)
                print(f"rep {rep} processes {p}: {res}", file=sys.stderr)
    print(f"clickbait, bag dim 50, {args.epochs} epochs, {tokens:,} training tokens an epoch, "
          f"medians of {args.reps}, {os.cpu_count()} CPUs\n")
    print("| processes | run s | tokens/s (loop) | tokens/s (run) | val accuracy | snapshots |")
    print("|---|---|---|---|---|---|")
    med = {p: {k: statistics.median(r[k] for r in rows) for k in
               ("run_s", "loop_tokens_per_s", "run_tokens_per_s", "val_accuracy")}
           for p, rows in results.items()}
    for p, rows in results.items():
        m = med[p]
        print(f"| {p} | {m['run_s']:.2f} | {m['loop_tokens_per_s']:,.0f} | "
              f"{m['run_tokens_per_s']:,.0f} | {m['val_accuracy']:.4f} | "
              f"{rows[0]['n_snapshots']} |")
    if 1 in med and len(med) > 1:
        for p in (q for q in med if q != 1):
            print(f"\nratio {p}p/1p: run time {med[p]['run_s'] / med[1]['run_s']:.2f}x, "
                  f"loop tokens/s {med[p]['loop_tokens_per_s'] / med[1]['loop_tokens_per_s']:.2f}x")


if __name__ == "__main__":
    main()
