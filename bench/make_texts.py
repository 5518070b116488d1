"""Write a synthetic multi-class labelled-text file of N rows, in batches (any N fits in
memory): each class draws most of its words from its own slice of a Zipf-weighted vocabulary
and the rest from a shared one, so a classifier can learn it and the vocabulary looks like
text (a few frequent words, a long tail).

    python bench/make_texts.py OUT.parquet --rows 1000000 [--classes 4] [--vocab 20000]

The format follows OUT's extension: .parquet (row groups of 65,536 rows), .csv, .jsonl.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

_BATCH = 65_536


def _words(n_vocab: int) -> np.ndarray:
    """Pronounceable distinct pseudo-words, ``w<k>`` spelled in letters."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    out, i = [], 0
    while len(out) < n_vocab:
        k, word = i, ""
        while True:
            word = letters[k % 26] + word
            k //= 26
            if k == 0:
                break
        out.append(word + "o")
        i += 1
    return np.array(out, dtype=object)


def texts_batch(rng: np.random.Generator, words: np.ndarray, labels: np.ndarray,
                n_classes: int, length: tuple[int, int] = (6, 16)) -> list[str]:
    """One text per label: words of the label's slice with p=0.4, else shared words."""
    n_vocab = len(words)
    ranks = np.arange(1, n_vocab + 1)
    weights = 1.0 / ranks
    weights /= weights.sum()
    lengths = rng.integers(length[0], length[1] + 1, size=len(labels))
    total = int(lengths.sum())
    shared = rng.choice(n_vocab, size=total, p=weights)
    own = (rng.choice(n_vocab // n_classes, size=total, p=_slice_weights(n_vocab, n_classes))
           * n_classes + np.repeat(labels, lengths))
    pick = np.where(rng.random(total) < 0.4, own, shared)
    tokens = words[pick]
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [" ".join(tokens[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _slice_weights(n_vocab: int, n_classes: int) -> np.ndarray:
    w = 1.0 / np.arange(1, n_vocab // n_classes + 1)
    return w / w.sum()


def write(out: Path, rows: int, n_classes: int = 4, n_vocab: int = 20_000, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    words = _words(n_vocab)
    names = np.array([f"class_{c}" for c in range(n_classes)], dtype=object)
    writer = None
    with open(out, "w", encoding="utf-8") if out.suffix != ".parquet" else _Null() as f:
        for start in range(0, rows, _BATCH):
            labels = rng.integers(0, n_classes, size=min(_BATCH, rows - start))
            texts = texts_batch(rng, words, labels, n_classes)
            if out.suffix == ".parquet":
                table = pa.table({"text": texts, "label": names[labels].tolist()})
                writer = writer or pq.ParquetWriter(out, table.schema)
                writer.write_table(table, row_group_size=_BATCH)
            elif out.suffix == ".jsonl":
                f.writelines(json.dumps({"text": t, "label": str(n)}) + "\n"
                             for t, n in zip(texts, names[labels]))
            else:
                if start == 0:
                    f.write("text,label\n")
                f.writelines(f"{t},{n}\n" for t, n in zip(texts, names[labels]))
    if writer is not None:
        writer.close()


class _Null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write(args.out, args.rows, args.classes, args.vocab, args.seed)


if __name__ == "__main__":
    main()
