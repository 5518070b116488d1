"""Accuracy: the product's default model against fastText supervised, on real data sets.

    python bench/bench_accuracy.py                        # seeds 0-4, every data set
    python bench/bench_accuracy.py --set lr=0.05 --set epochs=5   # a candidate default
    python bench/bench_accuracy.py --datasets fortunes --ft-glove --ft-epochs 25  # fairer fastText
    pip install -r bench/requirements-bench.txt           # fastText, for the bench only

"Default model" = ``TrainConfig(init="glove", seed=s)`` and nothing else: the bag over GloVe
6B 50d, fine-tuned, with early stopping on (``--set`` overrides fields, to compare candidate
defaults). Its score is the accuracy of the model a run keeps (the best epoch's, by validation
loss: ``RunInfo.best``); the last epoch's accuracy is reported beside it. fastText:
``train_supervised(dim=50, epoch=5, lr=0.1, wordNgrams=1, minCount=1)`` (dim 100 where dim 50
ends in NaN, see ``fasttext_accuracy``) on the same tokens
(``core.data.text.tokenize``) and the same seeded 80/20 split (``split_indices``), in a fresh
subprocess per run (bench_training.py's worker). ``--ft-epochs`` changes fastText's epochs;
``--ft-glove`` starts it from the same GloVe 50d vectors as the torch model
(``pretrainedVectors``, a ``.vec`` of the data's words written to the temp folder), so the two
differ only in how they train. Data sets:

- clickbait: 32,000 headlines, ../shared/data/clickbait (6,400 validation rows per seed).
- pang_lee: the 200 movie-review sentences (100 pos / 100 neg, Pang & Lee's sentence
  polarity data) that gensim ships as test data, ``gensim/test/test_data/pang_lee_polarity.cor``
  - the only other labelled real text on this machine that can be read without unpickling
  (gensim's ``mini_newsgroup`` is a pickle). 40 validation sentences per seed: one sentence
  is 2.5 points, so read its medians over many seeds, and as a sanity check, not a 0.3-point
  comparison.
- fortunes: Debian's ``fortunes`` package (``apt-get install fortunes``;
  /usr/share/games/fortunes/), human-written quotations filed one category per file, entries
  separated by lines holding only ``%``. Six categories (``FORTUNE_CLASSES``): the six largest
  files after skipping ``cookie`` and ``miscellaneous``, which are catch-alls (``cookie`` is the
  original fortune-cookie file, every topic mixed; it shares the most entries with other files),
  so their label says where an entry was filed, not what it is about. An entry filed under two
  of the six is dropped (no label to learn). ~5,550 entries, ~1,110 validation rows per seed:
  one entry ~0.09 points. The text is read in place, never copied.
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
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
    from core.data.dataset import Dataset

    path = Path(gensim.__file__).parent / "test" / "test_data" / "pang_lee_polarity.cor"
    texts, labels = [], []
    for line in path.read_text(encoding="cp1252", errors="replace").splitlines():  # not UTF-8
        label, _, text = line.partition(" ")
        if text.strip():
            texts.append(text.strip())
            labels.append(label.removeprefix("__label__"))
    return Dataset.from_lists(texts, labels)


FORTUNES = Path("/usr/share/games/fortunes")
FORTUNE_CLASSES = ("people", "definitions", "computers", "songs-poems", "politics", "work")


def fortune_entries(path: Path) -> list[str]:
    """One fortune file's entries: the text between lines holding only ``%``."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return [e.strip() for e in re.split(r"^%[ \t]*$", text, flags=re.M) if e.strip()]


def fortunes():
    """Six categories of Debian's fortunes; an entry filed under two of them is dropped."""
    from core.data.dataset import Dataset

    if not FORTUNES.is_dir():
        raise SystemExit(f"{FORTUNES} not found: apt-get install fortunes")
    entries = {name: fortune_entries(FORTUNES / name) for name in FORTUNE_CLASSES}
    owners: dict[str, set] = {}
    for name, texts in entries.items():
        for text in texts:
            owners.setdefault(text, set()).add(name)
    pairs = [(t, n) for n, texts in entries.items() for t in texts if len(owners[t]) == 1]
    return Dataset.from_lists([t for t, _ in pairs], [n for _, n in pairs])


DATASETS = {"clickbait": clickbait, "fortunes": fortunes, "pang_lee": pang_lee}


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


def fasttext_accuracy(seed: int, folder: Path, epochs: int = 5, glove: bool = False) -> float:
    """fastText's accuracy. On the 160 training sentences of pang_lee, dim 50 at lr 0.1 ends
    in "Encountered NaN" (with 1 or 2 threads); such a run falls back to fastText's own
    default dim, 100. ``glove``: start from the same GloVe vectors as the torch model."""
    if glove:
        return glove_worker_run(seed, epochs, folder)
    try:
        return run_worker("fasttext", seed, epochs, folder, [])["val_accuracy"]
    except RuntimeError as exc:
        if "NaN" not in str(exc):
            raise
        print(f"fastText NaN at dim 50, seed {seed}: dim 100", file=sys.stderr)
        return run_worker("fasttext", seed, epochs, folder, ["--ft-dim=100"])["val_accuracy"]


def write_glove_vec(ds, folder: Path) -> None:
    """The GloVe 6B 50d rows of the data's words as a ``.vec`` text file, fastText's
    ``pretrainedVectors`` format (in the temp folder; nothing is kept)."""
    from core.data.text import tokenize
    from core.vectors.pretrained import glove

    kv = glove()
    words = sorted({w for t in ds.texts for w in tokenize(t)} & kv.key_to_index.keys())
    with open(folder / "glove.vec", "w", encoding="utf-8") as fh:
        fh.write(f"{len(words)} {kv.vector_size}\n")
        for w in words:
            fh.write(w + " " + " ".join(f"{x:.6f}" for x in kv[w]) + "\n")


def glove_worker_run(seed: int, epochs: int, folder: Path) -> float:
    """fastText from GloVe, in a fresh process like the other fastText runs."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--ft-glove-worker", str(seed),
           str(epochs), str(folder)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"fastText (GloVe) worker failed:\n{out.stderr[-3000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def glove_worker(seed: int, epochs: int, folder: Path) -> float:
    import fasttext

    model = fasttext.train_supervised(input=str(folder / f"train_{seed}.txt"), dim=50,
                                      epoch=epochs, lr=0.1, wordNgrams=1, minCount=1,
                                      thread=2, seed=seed, verbose=0,
                                      pretrainedVectors=str(folder / "glove.vec"))
    return model.test(str(folder / f"valid_{seed}.txt"))[1]


def parse_set(items: list[str]) -> dict:
    from core.training.config import TrainConfig

    types = {f: type(getattr(TrainConfig(), f)) for f in TrainConfig.__dataclass_fields__}
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        kind = types[name] if types[name] is not type(None) else int
        out[name] = (value.lower() in ("1", "true", "yes")) if kind is bool else kind(value)
    return out


def report(name: str, rows: list[dict], overrides: dict, ft: str) -> str:
    med = lambda key: statistics.median(r[key] for r in rows)  # noqa: E731
    gap = statistics.median(100 * (r["fasttext"] - r["best"]) for r in rows)
    gap_last = statistics.median(100 * (r["fasttext"] - r["last"]) for r in rows)
    per_seed = " ".join(f"{100 * (r['fasttext'] - r['best']):+.2f}" for r in rows)
    n_val = med("n_val")
    # one validation row is worth 100 / n_val points: what a gap of a few tenths amounts to
    return (f"| {name} | {overrides or 'defaults'} | {ft} | {len(rows)} | {n_val:.0f} "
            f"({100 / n_val:.2f}) | {med('fasttext'):.4f} | {med('best'):.4f} | "
            f"{med('last'):.4f} | {gap:+.2f} | {per_seed} | {gap_last:+.2f} | "
            f"{med('best_epoch'):.0f} / {med('epochs'):.0f} | {med('seconds'):.1f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a TrainConfig default (repeatable)")
    p.add_argument("--ft-epochs", type=int, default=5, help="fastText epochs (default 5)")
    p.add_argument("--ft-glove", action="store_true",
                   help="fastText starts from the same GloVe 50d vectors (pretrainedVectors)")
    p.add_argument("--ft-glove-worker", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.ft_glove_worker:
        seed, epochs, folder = args.ft_glove_worker
        print(glove_worker(int(seed), int(epochs), Path(folder)))
        return
    overrides = parse_set(args.set)
    ft = f"{args.ft_epochs} ep" + (", GloVe init" if args.ft_glove else "")
    lines = ["| data | torch settings | fastText settings | seeds | val rows (pts each) "
             "| fastText | torch best epoch | torch last epoch | gap best (pts) | per seed "
             "| gap last (pts) | best / run epochs | torch s |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
    for name in args.datasets:
        ds, rows = DATASETS[name](), []
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if args.ft_glove:
                write_glove_vec(ds, folder)
            for seed in args.seeds:
                split = write_split(ds, seed, folder)
                acc = fasttext_accuracy(seed, folder, args.ft_epochs, args.ft_glove)
                row = {"n_val": split["n_val"], "fasttext": acc,
                       **torch_run(ds, seed, overrides, folder)}
                print(f"{name} seed {seed}: {row}", file=sys.stderr)
                rows.append(row)
        lines.append(report(name, rows, overrides, ft))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
