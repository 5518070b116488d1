"""Which words a run comparison holds and the space they are compared in: the pretrained
space (bundled GloVe, the run's step-0 vectors or a vectors file), the rows chosen, each word's
class association and texts as mean vectors. Used by ``core.runs.comparison`` (which also
offers these names) and the views."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.analysis import measures as compare
from core.data.text import SPECIALS
from core.store.runstore import RunStore


@dataclass(frozen=True)
class PretrainedSpace:
    """Which vocabulary rows the pretrained space has, and a token -> vector lookup."""

    label: str
    shared: np.ndarray  # bool per vocabulary row
    index: dict[str, int]  # token -> row of ``vectors``
    vectors: np.ndarray

    def rows_for(self, tokens: list[str]) -> np.ndarray:
        return np.asarray(self.vectors[[self.index[t] for t in tokens]], dtype=np.float64)


def pretrained_space(store: RunStore, run_id: str, against: str,
                     tokens: list[str]) -> PretrainedSpace:
    """The space to compare with: bundled GloVe, the run's step-0 vectors, or a file."""
    from core.vectors import pretrained
    if against == "init":
        start = store.load_snapshot(run_id, 0)
        shared = np.asarray(start).any(axis=1)
        shared &= ~np.isin(np.asarray(tokens, dtype=object), SPECIALS)
        index = {t: i for i, t in enumerate(tokens) if shared[i]}
        return PretrainedSpace("init", shared, index, start)
    kv = pretrained.load_pretrained(against if against == "glove" else Path(against))
    shared = np.array([t in kv.key_to_index and t not in SPECIALS for t in tokens], dtype=bool)
    return PretrainedSpace(against, shared, kv.key_to_index, kv.vectors)


def select_rows(vocab: pd.DataFrame, shared: np.ndarray, n_words: int,
                max_unseen: int) -> np.ndarray:
    """Vocabulary rows to compare: the ``n_words`` most frequent training words the pretrained
    space has, then up to ``max_unseen`` shared words seen only outside training."""
    from core.analysis.projection import select_words
    from core.runs.projections import ranking_counts

    # Zeroing the counts of words the pretrained space lacks keeps them out of both groups.
    counts, train = ranking_counts(vocab)
    train, counts = np.where(shared, train, 0), np.where(shared, counts, 0)
    specials = np.flatnonzero(vocab["token"].isin(SPECIALS).to_numpy())
    return select_words(counts, train, n_top=n_words, include_unseen=max_unseen > 0,
                        in_pretrained=shared, max_unseen=max_unseen, skip=specials)


def class_association(vocab: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Per-word log-odds z-scores (columns ``z_<class>``), one row per vocabulary row,
    from the training counts of the whole vocabulary (NaN for <pad>/<unk>)."""
    cols = [f"count_{c}" for c in range(len(classes))]
    out = pd.DataFrame(index=vocab.index)
    if len(classes) < 2 or not set(cols) <= set(vocab.columns):
        return out
    regular = ~vocab["token"].isin(SPECIALS).to_numpy()
    z = np.full((len(vocab), len(classes)), np.nan)
    z[regular] = compare.log_odds_z(vocab.loc[regular, cols].to_numpy(dtype=np.float64))
    for c, name in enumerate(classes):
        out[f"z_{name}"] = z[:, c]
    return out


def mean_vectors(texts: list[str], space: PretrainedSpace) -> np.ndarray:
    """Each text as the mean of the pretrained vectors of its tokens (zero if none found)."""
    from core.data.text import tokenize

    out = np.zeros((len(texts), space.vectors.shape[1]))
    for i, text in enumerate(texts):
        found = [t for t in tokenize(text) if t in space.index and t not in SPECIALS]
        if found:
            out[i] = space.rows_for(found).mean(axis=0)
    return out
