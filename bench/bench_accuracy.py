"""Accuracy: the product's default model against fastText supervised, on two real data sets.

    python bench/bench_accuracy.py                        # seeds 0-4, both data sets
    python bench/bench_accuracy.py --set lr=0.05 --set epochs=5   # a candidate default
    pip install -r bench/requirements-bench.txt           # fastText, for the bench only

"Default model" = ``TrainConfig(init="glove", seed=s)`` and nothing else: the bag over GloVe
6B 50d, fine-tuned, with early stopping on (``--set`` overrides fields, to compare candidate
defaults). Its score is the accuracy of the model a run keeps (the best epoch's, by validation
loss: ``RunInfo.best``); the last epoch's accuracy is reported beside it. fastText:
``train_supervised(dim=50, epoch=5, lr=0.1, wordNgrams=1, minCount=1)`` (dim 100 where dim 50
ends in NaN, see ``fasttext_accuracy``) on the same tokens
(``core.data.text.tokenize``) and the same seeded 80/20 split (``split_indices``), in a fresh
subprocess per run (bench_training.py's worker). Data sets:

- clickbait: 32,000 headlines, ../shared/data/clickbait (6,400 validation rows per seed).
- pang_lee: the 200 movie-review sentences (100 pos / 100 neg, Pang & Lee's sentence
  polarity data) that gensim ships as test data, ``gensim/test/test_data/pang_lee_polarity.cor``
  - the only other labelled real text on this machine that can be read without unpickling
  (gensim's ``mini_newsgroup`` is a pickle). 40 validation sentences per seed: one sentence
  is 2.5 points, so read its medians over many seeds, and as a sanity check, not a 0.3-point
  comparison.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))
from bench_training import run_worker, write_split  # noqa: E402
from shared_data import load_dataset as clickbait  # noqa: E402


def pang_lee():
    """The 200 labelled sentences gensim ships (fastText format: ``__label__x text``)."""
    import gensim
    from core.data.loading import Dataset

    path = Path(gensim.__file__).parent / "test" / "test_data" / "pang_lee_polarity.cor"
    texts, labels = [], []
    for line in path.read_text(encoding="cp1252", errors="replace").splitlines():  # not UTF-8
        label, _, text = line.partition(" ")
        if text.strip():
            texts.append(text.strip())
            labels.append(label.removeprefix("__label__"))
    return Dataset.from_lists(texts, labels)


DATASETS = {"clickbait": clickbait, "pang_lee": pang_lee}


def torch_run(ds, seed: int, overrides: dict, folder: Path) -> dict:
    from core.store.runstore import RunStore
    from core.training.config import TrainConfig
    from core.training.trainer import train_run

    config = TrainConfig(init="glove", seed=seed, **overrides)
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp))
        summary = train_run(ds, config, store)
        val = np.asarray(store.load_array(summary.run_id, "split_val"))
    if not np.array_equal(val, np.load(folder / f"val_{seed}.npy")):
        raise RuntimeError("torch run used a different validation split than fastText")
    return {"best": summary.best_val_accuracy, "last": summary.val_accuracy[-1],
            "best_epoch": summary.best_epoch, "epochs": len(summary.val_accuracy),
            "seconds": summary.train_seconds}


def fasttext_accuracy(seed: int, folder: Path) -> float:
    """fastText's accuracy. On the 160 training sentences of pang_lee, dim 50 at lr 0.1 ends
    in "Encountered NaN" (with 1 or 2 threads); such a run falls back to fastText's own
    default dim, 100."""
    try:
        return run_worker("fasttext", seed, 5, folder, [])["val_accuracy"]
    except RuntimeError as exc:
        if "NaN" not in str(exc):
            raise
        print(f"fastText NaN at dim 50, seed {seed}: dim 100", file=sys.stderr)
        return run_worker("fasttext", seed, 5, folder, ["--ft-dim=100"])["val_accuracy"]


def parse_set(items: list[str]) -> dict:
    from core.training.config import TrainConfig

    types = {f: type(getattr(TrainConfig(), f)) for f in TrainConfig.__dataclass_fields__}
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        kind = types[name] if types[name] is not type(None) else int
        out[name] = (value.lower() in ("1", "true", "yes")) if kind is bool else kind(value)
    return out


def report(name: str, rows: list[dict], overrides: dict) -> str:
    med = lambda key: statistics.median(r[key] for r in rows)  # noqa: E731
    gap = statistics.median(100 * (r["fasttext"] - r["best"]) for r in rows)
    gap_last = statistics.median(100 * (r["fasttext"] - r["last"]) for r in rows)
    return (f"| {name} | {overrides or 'defaults'} | {len(rows)} | {med('fasttext'):.4f} | "
            f"{med('best'):.4f} | {med('last'):.4f} | {gap:+.2f} | {gap_last:+.2f} | "
            f"{med('best_epoch'):.0f} / {med('epochs'):.0f} | {med('seconds'):.1f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a TrainConfig default (repeatable)")
    args = p.parse_args()
    overrides = parse_set(args.set)
    lines = ["| data | torch settings | seeds | fastText | torch best epoch | torch last epoch "
             "| gap best (pts) | gap last (pts) | best / run epochs | torch s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in args.datasets:
        ds, rows = DATASETS[name](), []
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for seed in args.seeds:
                write_split(ds, seed, folder)
                row = {"fasttext": fasttext_accuracy(seed, folder),
                       **torch_run(ds, seed, overrides, folder)}
                print(f"{name} seed {seed}: {row}", file=sys.stderr)
                rows.append(row)
        lines.append(report(name, rows, overrides))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
