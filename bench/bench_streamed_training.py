"""Training from a streamed data set (core.training.mapped_prep.train_streamed): peak RSS of
a fresh process and tokens/s, for growing row counts; optionally the in-memory path
(load_dataset + train_run) on the same file for comparison.

    python bench/bench_streamed_training.py --rows 100000 1000000 [--epochs 1] [--in-memory]
                                            [--dir /tmp/stream]

Peak RSS is VmHWM (ru_maxrss would carry the parent's size over exec). Files come from
bench/make_texts.py (kept in --dir); each is registered once
(``streamed.add``, in its own process). Each training is a fresh process: bag, dim 50,
random init, default batch; tokens/s = training tokens x epochs / the loop's seconds
(``loop_seconds`` of the epochs); "run s" is the whole train_streamed call (row-id files,
split, snapshots, evaluation).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

_TRAIN = """
import json, sys, time
from pathlib import Path
from core.store.runstore import RunStore
from core.training.config import TrainConfig
store, ref, epochs, mode = RunStore(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
config = TrainConfig(epochs=epochs, early_stopping=False)
start = time.perf_counter()
if mode == "streamed":
    from core.training.mapped_prep import train_streamed
    summary = train_streamed(store, ref, config)
else:
    from core.data.loading import load_dataset
    from core.training.trainer import train_run
    summary = train_run(load_dataset(Path(ref)), config, store)
seconds = time.perf_counter() - start
run = store.get_run(summary.run_id)
print(json.dumps({"run_s": seconds, "loop_s": sum(e["loop_seconds"] for e in run.epochs),
                  "peak_rss": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024,
                  "n_train": summary.n_train, "val_accuracy": summary.val_accuracy[-1]}))
"""

_ADD = """
import json, sys
from core.store.runstore import RunStore
from core.store import streamed
r = streamed.add(RunStore(sys.argv[1]), sys.argv[2])
print(json.dumps({"id": r.dataset_id, "n_tokens": r.n_tokens, "n_rows": r.n_rows}))
"""


def _run(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def measure(rows: int, folder: Path, epochs: int, in_memory: bool) -> list[dict]:
    from make_texts import write

    source = folder / f"texts_{rows}.parquet"
    if not source.is_file():
        write(source, rows)
    store = folder / "runs"
    added = _run(_ADD, str(store), str(source))
    tokens_per_row = added["n_tokens"] / added["n_rows"]
    out = []
    for mode, ref in [("streamed", added["id"])] + ([("in-memory", str(source))] if in_memory
                                                     else []):
        r = _run(_TRAIN, str(store), ref, str(epochs), mode)
        r.update(mode=mode, rows=rows,
                 tokens_per_s=r["n_train"] * tokens_per_row * epochs / r["loop_s"])
        out.append(r)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--in-memory", action="store_true")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/stream"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    print("| rows | path | peak RSS MB | run s | loop s | tokens/s | val acc |")
    print("|---|---|---|---|---|---|---|")
    for rows in args.rows:
        for r in measure(rows, args.dir, args.epochs, args.in_memory):
            print(f"| {rows:,} | {r['mode']} | {r['peak_rss'] / 2**20:.0f} | {r['run_s']:.1f} | "
                  f"{r['loop_s']:.1f} | {r['tokens_per_s'] / 1e6:.2f} M | "
                  f"{r['val_accuracy']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
