"""Peak resident memory and wall time of every hostile import (tests/hostile/import_corpus.py)
through ``python -m core import``, one process per case (the numbers of docs/reliability.md's
issue 18 table). Run: ``python bench/bench_import_hostile.py``; prints a Markdown table."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hostile.import_corpus import CASES  # noqa: E402
from tests.hostile.test_import_hostile import run_import  # noqa: E402


def main() -> None:
    print("| case | exit | peak RSS (MB) | time (s) | message |")
    print("|---|---|---|---|---|")
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "files"
            folder.mkdir()
            args = case.build(folder)
            code, err, peak, wall = run_import(args, str(Path(tmp) / "store"), case.seconds,
                                               Path(tmp))
        line = err.strip().splitlines()[-1] if err.strip() else ""
        print(f"| {case.id} | {code} | {peak} | {wall:.1f} | `{line[:110]}` |", flush=True)


if __name__ == "__main__":
    main()
