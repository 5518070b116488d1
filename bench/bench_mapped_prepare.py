"""Does the trainer's preparation take a memory-mapped corpus as it is? Peak RSS of
``core.training.preparation.prepare`` handed a streamed corpus (``core.data.mapped``) as its
``TokenisedCorpus``, against the corpus's bytes on disk.

    python bench/bench_mapped_prepare.py [--rows 1000000] [--dir /tmp/bench_streaming]

Uses the Parquet file bench/bench_streaming.py leaves in --dir (written if missing) and
prepares its mapped corpus there once.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))


def _mapped(rows: int, folder: Path):
    from make_texts import write

    from core.data.mapped import open_mapped, prepare

    source, out = folder / f"texts_{rows}.parquet", folder / f"mapped_{rows}"
    if not source.is_file():
        write(source, rows)
    if not (out / "meta.json").is_file():
        out.mkdir(exist_ok=True)
        prepare(source, out)
    return open_mapped(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench_streaming"))
    args = parser.parse_args()
    from core.training.config import TrainConfig
    from core.training.corpus import TokenisedCorpus
    from core.training.preparation import prepare

    mapped = _mapped(args.rows, args.dir)
    corpus = TokenisedCorpus(mapped.corpus, np.zeros(len(mapped.corpus.types), dtype=bool),
                             np.zeros((0, 50), dtype=np.float32))
    dataset = SimpleNamespace(labels=np.asarray(mapped.labels), classes=mapped.classes)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    prep = prepare(dataset, TrainConfig(init="random", dim=64), corpus=corpus)
    seconds = time.perf_counter() - start
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    tokens = int(mapped.corpus.offsets[-1])
    print(f"| {args.rows:,} | {tokens:,} | {mapped.corpus.ids.nbytes / 2**20:.0f} | "
          f"{grown / 2**20:.0f} | {grown / tokens:.1f} | {seconds:.1f} | "
          f"{type(prep.flat).__name__} |")


if __name__ == "__main__":
    main()
