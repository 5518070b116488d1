"""Streamed preparation (core.data.mapped.prepare) of generated Parquet files: time per
million rows and the peak RSS of a fresh process, for growing row counts.

    python bench/bench_streaming.py --rows 100000 1000000 [10000000] [--dir /tmp/stream]

Files are written by bench/make_texts.py (4 classes, 20,000-word vocabulary, 6-16 words a
text) and kept in --dir for a second run. One fresh process per size prepares the file into
a memory-mapped corpus; its VmHWM is the peak RSS (ru_maxrss would carry the parent's size
over exec).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

_PREPARE = """
import json, shutil, sys, time
from pathlib import Path
from core.data.mapped import open_mapped, prepare
source, out = Path(sys.argv[1]), Path(sys.argv[2])
shutil.rmtree(out, ignore_errors=True); out.mkdir()
start = time.perf_counter()
prepare(source, out)
seconds = time.perf_counter() - start
meta = open_mapped(out).meta
print(json.dumps({"seconds": seconds, "peak_rss": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024,
                  "n_rows": meta["n_rows"], "n_tokens": meta["n_tokens"]}))
shutil.rmtree(out)
"""


def measure(rows: int, folder: Path) -> dict:
    from make_texts import write

    source = folder / f"texts_{rows}.parquet"
    if not source.is_file():
        write(source, rows)
    done = subprocess.run([sys.executable, "-c", _PREPARE, str(source), str(folder / "out")],
                          cwd=REPO, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    result["file_mb"] = source.stat().st_size / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench_streaming"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    print("| rows | Parquet MB | tokens | preparation s | s per 1M rows | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for rows in args.rows:
        started = time.perf_counter()
        r = measure(rows, args.dir)
        print(f"| {rows:,} | {r['file_mb']:.1f} | {r['n_tokens']:,} | {r['seconds']:.1f} | "
              f"{r['seconds'] / rows * 1e6:.1f} | {r['peak_rss'] / 2**20:.0f} |", flush=True)
        print(f"<!-- {rows}: {time.perf_counter() - started:.0f} s with generation -->",
              file=sys.stderr)


if __name__ == "__main__":
    main()
