"""Training speed: the product's PyTorch bag model against fastText supervised (clickbait).

    python bench/bench_training.py            # 3 seeds x {5, 10} epochs x {torch, fastText}
    python bench/bench_training.py --quick    # 1 seed, 2 epochs: a smoke run
    git archive HEAD | tar -x -C /tmp/before  # then: --before /tmp/before --systems
    python bench/bench_training.py --epochs-list 5 --before /tmp/before --systems \
        torch-before-cold torch-before-warm torch-cold torch-warm fasttext  # same run
    pip install -r bench/requirements-bench.txt   # fastText, for the bench only

Both systems see the same tokens (``core.data.text.tokenize``) and the same seeded, stratified
80/20 split (``core.training.split.split_indices``); dim 50, 2 threads. Every measurement runs in a
fresh subprocess (fastText sometimes fails with NaN when re-trained in one process, and a
fresh process makes the peak RSS of each run separable). The torch side runs the product's
path, ``train_run`` with a ``RunStore`` in a temp dir (snapshots, evaluation and all); the
epoch metrics it stores give the bare training-loop time too.

tokens/s = training tokens (core tokenizer, one pass) x epochs / training seconds; for torch
the "loop" figure uses the bare loop time, "run" the whole ``train_run`` call, for fastText
the ``train_supervised`` call (reading the file and building its dictionary included).
Timings vary 30-50 % on the shared 2-core machines: read medians and the same-run ratio.

torch-cold / torch-warm: the first run on the data (empty tokenised-corpus cache in the
store) and a later one (cache filled; ``core.training.corpus``); both with early stopping off,
so every system trains every epoch. Imports (torch, gensim, sklearn's model_selection) are
timed apart: a fresh worker pays them once, before the run.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# BENCH_REPO: another checkout whose core/ the torch worker imports (the "before" code)
sys.path.insert(0, os.environ.get("BENCH_REPO", str(REPO)))
from shared_data import load_dataset  # noqa: E402
THREADS = 2
DIM = 50


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- parent: split and files


def write_split(ds, seed: int, folder: Path) -> dict:
    """fastText train/valid files for the seed's split; returns split facts for the table."""
    from core.data.text import tokenize
    from core.training.config import TrainConfig
    from core.training.split import split_indices

    train, val = split_indices(ds.labels, TrainConfig(val_fraction=0.2, seed=seed))
    tokens = [tokenize(t) for t in ds.texts]
    # fastText reads its file in order and never shuffles; split_indices returns sorted ids,
    # i.e. all clickbait then all news. Unshuffled, its 5-epoch accuracy ranged 0.80-0.98.
    train = np.random.default_rng(seed).permutation(train)
    for name, idx in (("train", train), ("valid", val)):
        with open(folder / f"{name}_{seed}.txt", "w", encoding="utf-8") as fh:
            for i in idx:
                label = ds.classes[ds.labels[i]]
                fh.write(f"__label__{label} {' '.join(tokens[i])}\n")
    np.save(folder / f"val_{seed}.npy", val)
    return {"n_train": len(train), "n_val": len(val),
            "train_tokens": int(sum(len(tokens[i]) for i in train))}


def run_worker(system: str, seed: int, epochs: int, folder: Path, extra: list[str],
               repo: Path | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", system, "--seed",
           str(seed), "--epochs", str(epochs), "--folder", str(folder), *extra]
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS),
           "BENCH_REPO": str(repo or REPO)}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=repo or REPO)
    if out.returncode != 0:
        raise RuntimeError(f"{system} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- workers (fresh processes)


def worker_fasttext(seed: int, epochs: int, folder: Path, threads: int = THREADS,
                    dim: int = DIM) -> dict:
    t0 = time.perf_counter()
    import fasttext

    import_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    model = fasttext.train_supervised(input=str(folder / f"train_{seed}.txt"), dim=dim,
                                      epoch=epochs, lr=0.1, wordNgrams=1, minCount=1,
                                      thread=threads, seed=seed, verbose=0)
    seconds = time.perf_counter() - t0
    n, precision, _ = model.test(str(folder / f"valid_{seed}.txt"))
    # one label per line and k=1: precision@1 is the accuracy
    return {"run_seconds": seconds, "loop_seconds": seconds, "val_accuracy": precision,
            "import_seconds": import_seconds,
            "n_val": n, "peak_mb": peak_rss_mb()}


def worker_torch(seed: int, epochs: int, folder: Path, args) -> dict:
    # Imports are timed apart: a long-lived process pays them once, a fresh worker per job
    # every time (gensim comes in through core.vectors.pretrained, which tokenize and the coverage
    # report use).
    t0 = time.perf_counter()
    import torch

    import sklearn.model_selection  # noqa: F401  (the split's; imported by every worker too)

    import core.vectors.pretrained  # noqa: F401
    from core.store.runstore import RunStore
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    import_seconds = time.perf_counter() - t0

    torch.set_num_threads(THREADS)
    ds = load_dataset()
    overrides = {k: v for k, v in (("batch_size", args.batch_size), ("lr", args.lr)) if v}
    if "early_stopping" in TrainConfig.__dataclass_fields__:
        overrides["early_stopping"] = False  # a speed bench: every system runs all epochs
    config = TrainConfig(arch="bag", dim=DIM, init=args.init, epochs=epochs, seed=seed,
                         val_fraction=0.2, **overrides)
    # --store: a store kept between workers, so a later run finds the tokenised-corpus cache
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(args.store or Path(tmp) / "runs")
        t0 = time.perf_counter()
        summary = train_run(ds, config, store)
        seconds = time.perf_counter() - t0
        run = store.get_run(summary.run_id)
        val = np.asarray(store.load_array(summary.run_id, "split_val"))
        store.delete_run(summary.run_id)
    if not np.array_equal(val, np.load(folder / f"val_{seed}.npy")):
        raise RuntimeError("torch run used a different validation split than fastText")
    loop = [e.get("loop_seconds", e["seconds"]) for e in run.epochs]
    return {"run_seconds": seconds, "loop_seconds": float(sum(loop)),
            "epoch_seconds": float(sum(e["seconds"] for e in run.epochs)),
            "val_accuracy": summary.val_accuracy[-1], "n_val": summary.n_val,
            "import_seconds": import_seconds,
            "batch_size": config.batch_size, "lr": config.lr, "peak_mb": peak_rss_mb()}


# ---------------------------------------------------------------- table


def median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def table(results: dict, epochs_list: list[int]) -> str:
    lines = ["| system | epochs | run s | loop s | tokens/s (run) | tokens/s (loop) "
             "| val acc | peak RSS MB | imports s |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (system, epochs), rows in sorted(results.items()):
        run_s, loop_s = median(rows, "run_seconds"), median(rows, "loop_seconds")
        tps_run, tps_loop = median(rows, "tokens_per_s"), median(rows, "loop_tokens_per_s")
        lines.append(f"| {system} | {epochs} | {run_s:.2f} | {loop_s:.2f} | {tps_run / 1e6:.2f}M "
                     f"| {tps_loop / 1e6:.2f}M | {median(rows, 'val_accuracy'):.4f} "
                     f"| {median(rows, 'peak_mb'):.0f} | {median(rows, 'import_seconds'):.1f} |")
    lines.append("")
    torches = sorted({system for system, _ in results if system != "fasttext"})
    for epochs in epochs_list:
        f = results.get(("fasttext", epochs))
        for system in torches:
            t = results.get((system, epochs))
            if not (t and f):
                continue
            ratios = [f_["run_seconds"] / t_["run_seconds"] for t_, f_ in zip(t, f)]
            loop = [f_["run_seconds"] / t_["loop_seconds"] for t_, f_ in zip(t, f)]
            gap = [100 * (f_["val_accuracy"] - t_["val_accuracy"]) for t_, f_ in zip(t, f)]
            lines.append(f"- {epochs} epochs, {system}/fastText tokens/s, median of per-seed "
                         f"ratios: run {statistics.median(ratios):.2f}, loop "
                         f"{statistics.median(loop):.2f}; accuracy gap (fastText - torch) "
                         f"{statistics.median(gap):+.2f} points")
    return "\n".join(lines)


def run_system(system: str, seed: int, epochs: int, folder: Path, extra: list[str],
               before: Path | None) -> dict:
    """One measurement. torch-*: the code of this checkout; torch-before-*: the code of
    ``before``. Each keeps its own store between workers; ``-cold`` empties its
    tokenised-corpus cache first, ``-warm`` reuses it (run right after a cold one, or any
    earlier run, filled it); plain ``torch-before`` keeps the cache as it is."""
    if system == "fasttext":
        return run_worker("fasttext", seed, epochs, folder, extra)
    is_before = system.startswith("torch-before")
    store = folder / ("store-torch-before" if is_before else "store-torch")
    if system.endswith("-cold"):
        shutil.rmtree(store / "cache", ignore_errors=True)
    return run_worker("torch", seed, epochs, folder, extra + [f"--store={store}"],
                      before if is_before else None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1 seed, 2 epochs")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs-list", type=int, nargs="+", default=[5, 10])
    p.add_argument("--systems", nargs="+", default=["torch-cold", "torch-warm", "fasttext"],
                   help="torch-cold: empty tokenised-corpus cache; torch-warm: the run after "
                        "it, cache filled; torch-before-cold / torch-before-warm: the same "
                        "with the code of --before")
    p.add_argument("--before", type=Path, help="a checkout of the code to compare with "
                                               "(e.g. `git archive HEAD | tar -x -C DIR`)")
    p.add_argument("--init", default="random", help="torch init (default random)")
    p.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--batch-size", type=int, default=0, help="torch override (0 = default)")
    p.add_argument("--lr", type=float, default=0.0, help="torch override (0 = default)")
    p.add_argument("--worker", choices=["torch", "fasttext"], help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--epochs", type=int, default=5, help=argparse.SUPPRESS)
    p.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--ft-threads", type=int, default=THREADS, help=argparse.SUPPRESS)
    p.add_argument("--ft-dim", type=int, default=DIM, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        res = (worker_fasttext(args.seed, args.epochs, args.folder, args.ft_threads, args.ft_dim)
               if args.worker == "fasttext" else
               worker_torch(args.seed, args.epochs, args.folder, args))
        print(json.dumps(res))
        return
    if args.quick:
        args.seeds, args.epochs_list = args.seeds[:1], [2]
    extra = [f"--batch-size={args.batch_size}", f"--lr={args.lr}", f"--init={args.init}"]
    ds = load_dataset()
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        facts = [write_split(ds, s, folder) for s in args.seeds]
        tokens = facts[0]["train_tokens"]
        for seed, fact in zip(args.seeds, facts):
            for epochs in args.epochs_list:
                for system in args.systems:  # interleaved, so drifting load hits both alike
                    res = run_system(system, seed, epochs, folder, extra, args.before)
                    res["tokens_per_s"] = fact["train_tokens"] * epochs / res["run_seconds"]
                    res["loop_tokens_per_s"] = fact["train_tokens"] * epochs / res["loop_seconds"]
                    results.setdefault((system, epochs), []).append(res)
                    print(f"seed {seed} {system} {epochs} ep: {res}", file=sys.stderr)
    print(f"clickbait: {facts[0]['n_train']} train / {facts[0]['n_val']} validation headlines, "
          f"{tokens:,} training tokens per epoch; dim {DIM}, {THREADS} threads, "
          f"seeds {args.seeds}, {os.cpu_count()} CPUs\n")
    print(table(results, args.epochs_list))


if __name__ == "__main__":
    main()
