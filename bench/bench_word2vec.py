"""word2vec runs (``objective`` skipgram|cbow) against plain gensim and a task-trained run.

    .venv/bin/python bench/bench_word2vec.py --data sample|clickbait [--epochs 10]
    .venv/bin/python bench/bench_word2vec.py --sizes 500,2000,8000,32000   # too-little-text sweep

Per objective: snapshots, the run's training time against plain gensim (same texts, same
settings, one call) as a ratio, WordSim353 at step 0 and at the end with 95 % intervals, and
Jaccard@10 against GloVe (the 5,000 most frequent training words GloVe has) at the end,
beside a classify run (bag, defaults) on the same data. Prints markdown rows.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.shared_data import load_dataset  # noqa: E402
from core.analysis.measures import mean_jaccard, word_similarity  # noqa: E402
from core.data.loading import load_dataset as load_file  # noqa: E402
from core.runs.comparison import pretrained_space, select_rows  # noqa: E402
from core.store.runstore import RunStore  # noqa: E402
from core.training.config import TrainConfig  # noqa: E402
from core.training.trainer import train_run  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "sample.csv"


def _dataset(name: str):
    return load_file(SAMPLE) if name == "sample" else load_dataset()


def _ws(words, table) -> str:
    s = word_similarity(words, table, "wordsim353")
    return f"{s.rho:.3f} [{s.low:.3f}, {s.high:.3f}] ({s.n_found} pairs)"


def _jaccard_glove(store: RunStore, run_id: str, idx: int) -> float:
    vocab = store.load_vocab(run_id)
    tokens = vocab["token"].tolist()
    space = pretrained_space(store, run_id, "glove", tokens)
    rows = select_rows(vocab, space.shared, 5000, 0)
    table = store.load_snapshot(run_id, idx)[rows]
    return mean_jaccard(table, space.rows_for([tokens[r] for r in rows]), k=10)


def _plain_gensim(store: RunStore, run_id: str, dataset, config: TrainConfig) -> float:
    """Seconds of one plain gensim call on the run's own training sentences."""
    from core.training.trainer import prepare
    from core.training.word2vec import _sentences
    from core.vectors.pretrained import new_word2vec

    prep = prepare(dataset, config)
    sentences, _ = _sentences(prep)
    t0 = time.perf_counter()
    model = new_word2vec(dim=config.dim, algorithm=config.objective, seed=config.seed,
                         epochs=config.epochs, alpha=config.lr)
    model.build_vocab(sentences)
    model.train(sentences, total_examples=model.corpus_count,
                total_words=model.corpus_total_words, epochs=config.epochs)
    return time.perf_counter() - t0


def compare(name: str, epochs: int, every: int, lr: float, objectives: list[str]) -> None:
    dataset = _dataset(name)
    with tempfile.TemporaryDirectory() as root:
        store = RunStore(root)
        from core.training.corpus import tokenised

        tokenised(dataset, store)  # warm: every run below reads the cached corpus
        print("| run | snapshots | seconds | in gensim s | plain gensim s | run / in gensim | "
              "run / plain | WordSim353 step 0 | WordSim353 end | Jaccard@10 vs GloVe end |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for objective in objectives:
            config = TrainConfig(objective=objective, epochs=epochs, snapshot_every=every,
                                 lr=lr if objective != "classify" else TrainConfig.lr)
            t0 = time.perf_counter()
            s = train_run(dataset, config, store)
            seconds = time.perf_counter() - t0
            words = store.load_vocab(s.run_id)["token"].tolist()
            last = s.snapshots - 1
            plain = (_plain_gensim(store, s.run_id, dataset, config)
                     if objective != "classify" else float("nan"))
            inside = (sum(e.get("gensim_seconds", 0.0) for e in store.get_run(s.run_id).epochs)
                      if objective != "classify" else float("nan"))
            print(f"| {objective} | {s.snapshots} | {seconds:.1f} | {inside:.1f} | {plain:.1f} | "
                  f"{seconds / inside:.2f} | {seconds / plain:.2f} | {_ws(words, store.load_snapshot(s.run_id, 0))} | "
                  f"{_ws(words, store.load_snapshot(s.run_id, last))} | "
                  f"{_jaccard_glove(store, s.run_id, last):.3f} |", flush=True)


def sweep(sizes: list[int], epochs: int, lr: float) -> None:
    """WordSim353 of skip-gram runs on the first n clickbait headlines of a shuffle."""
    from core.data.loading import Dataset

    full = load_dataset()
    order = np.random.default_rng(0).permutation(len(full.texts))
    print("| texts | training tokens | WordSim353 end [95 %] | SimLex999 end [95 %] |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as root:
        store = RunStore(root)
        for n in sizes:
            pick = order[:n]
            ds = Dataset.from_lists([full.texts[i] for i in pick],
                                    [full.classes[full.labels[i]] for i in pick])
            s = train_run(ds, TrainConfig(objective="skipgram", epochs=epochs, lr=lr,
                                          snapshots="ends"), store)
            q = store.get_run(s.run_id).info["word2vec_quality"]
            print(f"| {n} | {q['n_tokens']:,} | {q['wordsim353']:.3f} [{q['wordsim353_low']:.3f}, "
                  f"{q['wordsim353_high']:.3f}] ({q['wordsim353_pairs']} pairs) | "
                  f"{q['simlex999']:.3f} [{q['simlex999_low']:.3f}, {q['simlex999_high']:.3f}] |",
                  flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="sample", choices=("sample", "clickbait"))
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--every", type=int, default=0, help="snapshot_every (steps)")
    p.add_argument("--lr", type=float, default=0.025, help="word2vec's starting alpha")
    p.add_argument("--objectives", default="skipgram,cbow,classify")
    p.add_argument("--sizes", help="comma-separated text counts: the too-little-text sweep")
    args = p.parse_args()
    if args.sizes:
        sweep([int(x) for x in args.sizes.split(",")], args.epochs, args.lr)
    else:
        compare(args.data, args.epochs, args.every, args.lr, args.objectives.split(","))


if __name__ == "__main__":
    main()
