"""Our helpers against the library calls that do the same job (issue: call the library where
one does it; keep the faster on a hot path). Prints a markdown table of medians.

Inputs are real: the bundled GloVe (400k x 50) and the clickbait labels/vocabulary sizes.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def ours_normalize(X):
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)


def ours_restrict(kv, words):
    index = kv.key_to_index
    kept = list(dict.fromkeys(w for w in words if w in index))
    rows = np.array([index[w] for w in kept], dtype=np.int64)
    return np.array(kv.vectors[rows], dtype=np.float32)


def ours_encode(labels):
    classes = tuple(sorted(set(labels)))
    index = {c: i for i, c in enumerate(classes)}
    return np.fromiter((index[x] for x in labels), dtype=np.int64, count=len(labels))


def main() -> None:
    import pandas as pd
    from sklearn.preprocessing import normalize

    from shared_data import load_rows, median_time
    from core.vectors.pretrained import glove

    kv = glove()
    words = kv.index_to_key[:24_000]  # about a clickbait vocabulary
    X = np.asarray(kv.vectors[:24_000], dtype=np.float64)
    _, labels = load_rows()
    pairs = list(zip(words[:353], words[353:706]))
    rows = [
        ("row normalisation, 24,000 x 50", lambda: ours_normalize(X), lambda: normalize(X)),
        ("restrict GloVe to 24,000 words", lambda: ours_restrict(kv, words),
         lambda: kv.vectors_for_all(words, allow_inference=False)),
        ("encode 32,000 labels", lambda: ours_encode(labels),
         lambda: pd.factorize(np.asarray(labels, dtype=object), sort=True)),
        ("353 GloVe pair cosines", lambda: [float(np.dot(kv[a], kv[b]) / np.linalg.norm(kv[a])
                                                  / np.linalg.norm(kv[b])) for a, b in pairs],
         lambda: [float(kv.similarity(a, b)) for a, b in pairs]),
    ]
    print("| job | ours (s) | library (s) | library / ours |")
    print("|---|---|---|---|")
    for name, ours, lib in rows:
        a, b = median_time(ours, 7), median_time(lib, 7)
        print(f"| {name} | {a:.4f} | {b:.4f} | {b / a:.2f} |")


if __name__ == "__main__":
    main()
