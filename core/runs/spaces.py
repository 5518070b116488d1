"""Three spaces, one corpus: the task-trained table, the word2vec-trained table of the same
texts, and a pretrained space (GloVe or a vector file), compared on the same words.

Words: the most frequent training words (of the classifier run) that all three spaces hold,
at most ``n_words``; neighbours are found among those words only, so each space answers
the same question. Per pair of spaces: mean Jaccard@k of the neighbour sets and linear CKA;
per space: WordSim353 and SimLex999 with 95 % intervals on the same words. The words whose
neighbourhoods differ most are those with the lowest Jaccard@k between the two learned
spaces (task vs word2vec).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.analysis.measures import (jaccard_at_k, linear_cka, nearest_neighbors,
                                    word_similarity)
from core.data.text import SPECIALS
from core.store.chosen import best_or_last
from core.store.runstore import RunStore

SPACES = ("task", "word2vec", "pretrained")
PAIRS = (("task", "word2vec"), ("task", "pretrained"), ("word2vec", "pretrained"))
BENCHMARKS = ("wordsim353", "simlex999")


@dataclass(frozen=True, eq=False)
class ThreeSpaces:
    """``words``; ``vectors[space]`` (words x dim); ``neighbours[space]`` (words x k row
    indices); ``pairs`` (pair, jaccard, cka); ``scores`` (space, benchmark, rho, low, high,
    pairs); ``per_word`` (word, train_count, one Jaccard@k column per pair)."""

    words: list[str]
    vectors: dict[str, np.ndarray]
    neighbours: dict[str, np.ndarray]
    pairs: pd.DataFrame
    scores: pd.DataFrame
    per_word: pd.DataFrame

    def neighbours_of(self, word: str, n: int = 10) -> dict[str, list[str]]:
        """A word's nearest words in each space (KeyError for a word not compared)."""
        i = self.words.index(word)
        return {s: [self.words[j] for j in self.neighbours[s][i][:n]] for s in SPACES}


def is_word2vec(run) -> bool:
    return run.config.get("objective", "classify") != "classify"


def default_pair(store: RunStore, fingerprint: str) -> tuple[str | None, str | None]:
    """The newest finished classify run and word2vec run trained on this data set."""
    runs = [r for r in store.list_runs() if r.status == "done" and r.fingerprint == fingerprint
            and r.config.get("source") is None]
    newest = sorted(runs, key=lambda r: r.created, reverse=True)
    task = next((r.run_id for r in newest if not is_word2vec(r)), None)
    w2v = next((r.run_id for r in newest if is_word2vec(r)), None)
    return task, w2v


def _table(store: RunStore, run_id: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A run's tokens, its table (best epoch, else last) and its training counts."""
    vocab = store.load_vocab(run_id)
    table = store.load_snapshot(run_id, best_or_last(store.get_run(run_id)))
    counts = vocab["train_count"].to_numpy() if "train_count" in vocab else np.zeros(len(vocab))
    return vocab["token"].astype(str).tolist(), table, counts


def _shared_words(task_tokens, counts, w2v_index, kv, n_words: int) -> list[int]:
    """Rows of the task vocabulary in all three spaces, most frequent in training first."""
    rows = [i for i, t in enumerate(task_tokens) if t not in SPECIALS and t in w2v_index
            and t in kv.key_to_index and counts[i] > 0]
    rows.sort(key=lambda i: -counts[i])
    return rows[:n_words]


def _scores(words: list[str], vectors: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = []
    for space, X in vectors.items():
        for bench in BENCHMARKS:
            s = word_similarity(words, X, bench)
            rows.append({"space": space, "benchmark": bench, "rho": s.rho, "low": s.low,
                         "high": s.high, "pairs": s.n_found})
    return pd.DataFrame(rows)


def three_spaces(store: RunStore, task_id: str, w2v_id: str, against: str = "glove", *,
                 k: int = 10, n_words: int = 2000) -> ThreeSpaces:
    """Compare the three spaces on the words they share (see the module docstring)."""
    from core.vectors.pretrained import load_pretrained

    task_tokens, task_table, counts = _table(store, task_id)
    w2v_tokens, w2v_table, _ = _table(store, w2v_id)
    w2v_index = {t: i for i, t in enumerate(w2v_tokens)}
    kv = load_pretrained(against)
    rows = _shared_words(task_tokens, counts, w2v_index, kv, n_words)
    if len(rows) <= k:
        raise ValueError(f"the three spaces share {len(rows)} training words; more than "
                         f"k={k} are needed to compare neighbourhoods")
    words = [task_tokens[i] for i in rows]
    vectors = {"task": np.asarray(task_table[rows], dtype=np.float64),
               "word2vec": np.asarray(w2v_table[[w2v_index[w] for w in words]], dtype=np.float64),
               "pretrained": np.asarray(kv.vectors[[kv.key_to_index[w] for w in words]],
                                        dtype=np.float64)}
    neighbours = {s: nearest_neighbors(X, k) for s, X in vectors.items()}
    per_word = pd.DataFrame({"word": words, "train_count": counts[rows].astype(np.int64)})
    pairs = []
    for a, b in PAIRS:
        jac = jaccard_at_k(neighbours[a], neighbours[b])
        per_word[f"{a} vs {b}"] = jac
        pairs.append({"pair": f"{a} vs {b}", "jaccard": float(jac.mean()),
                      "cka": linear_cka(vectors[a], vectors[b])})
    return ThreeSpaces(words, vectors, neighbours, pd.DataFrame(pairs),
                       _scores(words, vectors), per_word)


def most_different(result: ThreeSpaces, n: int = 20) -> pd.DataFrame:
    """The words whose neighbours differ most between the two learned spaces (lowest
    Jaccard@k task vs word2vec; ties: the more frequent word first)."""
    table = result.per_word.sort_values(["task vs word2vec", "train_count"],
                                        ascending=[True, False])
    return table.head(n).reset_index(drop=True)


# ----------------------------------------------------------------------- typed sentences

def _cosines(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    unit = np.divide(X, norms, out=np.zeros_like(X, dtype=np.float64), where=norms > 0)
    return unit @ unit.T


def sentence_vectors(store: RunStore, task_id: str, w2v_id: str, texts: list[str],
                     against: str = "glove") -> dict[str, np.ndarray | None]:
    """Each text in each space: the classifier's pooled document vector (the mean of its
    rows, ``<unk>`` included as the model reads it; None for cnn/gru, whose next layer reads
    the sequence, not one vector), and the mean of the word2vec run's and the pretrained
    space's vectors of its words (words a space lacks are left out; zero if none)."""
    from core.analysis.lookup import pooled, token_ids
    from core.data.text import tokenize
    from core.runs.comparison import PretrainedSpace, mean_vectors, pretrained_space

    tokens, table, _ = _table(store, task_id)
    arch = store.get_run(task_id).config.get("arch", "bag")
    task = [pooled(ids, table[ids], arch) for ids in
            (token_ids(tokenize(t), tokens) for t in texts)]
    w2v_tokens, w2v_table, _ = _table(store, w2v_id)
    index = {t: i for i, t in enumerate(w2v_tokens) if t not in SPECIALS}
    w2v = PretrainedSpace("word2vec", np.ones(len(w2v_tokens), bool), index, w2v_table)
    return {"task": None if task[0] is None else np.stack(task),
            "word2vec": mean_vectors(texts, w2v),
            "pretrained": mean_vectors(texts, pretrained_space(store, task_id, against, tokens))}


def sentence_similarities(vectors: dict[str, np.ndarray | None]) -> pd.DataFrame:
    """Per pair of texts (1-based numbers), the cosine similarity in each space (NaN where a
    space has no vector for the texts)."""
    n = len(next(v for v in vectors.values() if v is not None))
    rows = []
    cos = {s: None if v is None else _cosines(v) for s, v in vectors.items()}
    for i in range(n):
        for j in range(i + 1, n):
            rows.append({"texts": f"{i + 1} & {j + 1}",
                         **{s: float("nan") if c is None else float(c[i, j])
                            for s, c in cos.items()}})
    return pd.DataFrame(rows)


def default_sentences(store: RunStore, task_id: str) -> list[str]:
    """Three of the run's validation texts: one, the text closest to it by the mean of its
    GloVe vectors (the nearest thing to a paraphrase the data has), and the text of another
    class farthest from it. Fewer when the run kept fewer texts."""
    from core.runs.comparison import mean_vectors, pretrained_space

    docs = store.load_docs(task_id)
    texts = docs["text"].astype(str).tolist()[:300]
    if len(texts) < 3:
        return texts
    tokens = store.load_vocab(task_id)["token"].astype(str).tolist()
    sims = _cosines(mean_vectors(texts, pretrained_space(store, task_id, "glove", tokens)))[0]
    sims[0] = -np.inf
    near = int(np.argmax(sims))
    labels = docs["label"].astype(str).tolist()[:300]
    other = [i for i in range(1, len(texts)) if labels[i] != labels[0] and i != near]
    far = min(other or [i for i in range(1, len(texts)) if i != near], key=lambda i: sims[i])
    return [texts[0], texts[near], texts[far]]
