"""The tokenised-corpus cache: training the same data again skips tokenising.

One entry per data set and tokenizer version, under the run store's ``cache/tokens/`` folder,
through the one ``DiskCache``. The key is ``<dataset fingerprint>-t<TOKENIZER_VERSION>``: the
fingerprint covers the texts (after the loader's caps) and labels, the version covers the
tokenizer, so an entry is never stale. An entry holds the ``Corpus`` (types, flat ids,
offsets) and the bundled GloVe's vectors for the corpus's types: with them a run on cached
data needs neither the tokenizer nor the 400,000-word GloVe index (loading that index was
~0.45 s of every fresh worker process's run, measured in bench/README.md).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.common.files import DiskCache, atomic_write, npy
from core.data.text import TOKENIZER_VERSION, Corpus, tokenize
from core.store.runstore import RunStore

CACHE_PARTS = ("cache", "tokens")  # under the store's root


@dataclass(frozen=True, eq=False)
class TokenisedCorpus:
    """A data set's corpus and which of its types GloVe 6B has (``glove_found``, bool per
    type) with their vectors (``glove_vectors``, one row per found type, in type order).
    ``cached``: read from the cache rather than tokenised now."""

    corpus: Corpus
    glove_found: np.ndarray
    glove_vectors: np.ndarray
    cached: bool = False

    def glove_kv(self):
        """The GloVe vectors of this corpus's words as a small KeyedVectors: what every use
        in a run (init matrix, coverage, the in-GloVe flag) asks of the full GloVe."""
        from gensim.models import KeyedVectors

        words = [w for w, hit in zip(self.corpus.types, self.glove_found) if hit]
        kv = KeyedVectors(vector_size=int(self.glove_vectors.shape[1]), count=0,
                          dtype=np.float32)
        if words:
            kv.add_vectors(words, self.glove_vectors)
        return kv


def from_tokens(token_lists: list[list[str]], stage=None) -> TokenisedCorpus:
    """A ``TokenisedCorpus`` of tokens already at hand (experiments tokenise once per plan);
    ``stage(name)`` is told when the GloVe lookup begins."""
    from core.vectors.pretrained import glove

    corpus = Corpus.from_token_lists(token_lists)
    if stage is not None:
        stage("pretrained")
    kv = glove()
    index = kv.key_to_index
    found = np.array([t in index for t in corpus.types], dtype=bool)
    rows = np.array([index[t] for t, hit in zip(corpus.types, found) if hit], dtype=np.int64)
    vectors = np.asarray(kv.vectors[rows], dtype=np.float32).reshape(len(rows), kv.vector_size)
    return TokenisedCorpus(corpus, found, vectors)


def cache_key(dataset, fingerprint: str | None = None) -> str:
    """The entry's name; ``fingerprint``: the data set's, when the caller has it already
    (hashing 32,000 headlines is ~20 ms, measured)."""
    return f"{fingerprint or dataset.fingerprint()}-t{TOKENIZER_VERSION}"


def _write(value: TokenisedCorpus, folder: Path) -> None:
    c = value.corpus
    atomic_write(folder / "types.json", json.dumps(list(c.types), ensure_ascii=False))
    for name, arr in (("ids", c.ids), ("offsets", c.offsets),
                      ("glove_found", value.glove_found), ("glove_vectors", value.glove_vectors)):
        atomic_write(folder / f"{name}.npy", npy(arr))


def _read(folder: Path) -> TokenisedCorpus:
    def load(name: str) -> np.ndarray:
        return np.load(folder / f"{name}.npy", allow_pickle=False)

    types = tuple(json.loads((folder / "types.json").read_text(encoding="utf-8")))
    return TokenisedCorpus(Corpus(types, load("ids"), load("offsets")), load("glove_found"),
                           load("glove_vectors"), cached=True)


def _tokenize_all(texts, stage=None, chunk: int = 2000) -> list[list[str]]:
    """Every text's tokens; ``stage("tokenising", fraction)`` after each ``chunk`` texts."""
    out: list[list[str]] = []
    for start in range(0, len(texts), chunk):
        out.extend(tokenize(t) for t in texts[start:start + chunk])
        if stage is not None:
            stage("tokenising", len(out) / len(texts))
    return out


def tokenised(dataset, store: RunStore, fingerprint: str | None = None,
              stage=None) -> TokenisedCorpus:
    """The data set's tokenised corpus, from the store's cache or tokenised now and cached
    (``fingerprint``: the data set's, if known). An unreadable or mismatched entry (a disk
    problem, a hand-edited folder) is recomputed without the cache rather than failing the
    run. ``stage(name, fraction=None)`` hears the steps (tokenising, the GloVe lookup) when
    they happen (not on a cache hit)."""
    cache = DiskCache(store.root.joinpath(*CACHE_PARTS))
    key = cache_key(dataset, fingerprint)
    try:
        hit = cache.get(key, _read)
    except (OSError, ValueError):
        hit = None
    if hit is not None and len(hit.corpus) == len(dataset.texts):
        return hit
    if stage is not None:
        stage("tokenising", 0.0)
    value = from_tokens(_tokenize_all(dataset.texts, stage), stage)
    try:
        with store.disk_guard():  # put creates the cache folder with its temporary entry
            if hit is not None:  # a mismatched entry: replace it
                shutil.rmtree(cache.path(key), ignore_errors=True)
            cache.put(key, value, _write)
    except (OSError, ValueError):
        pass  # no room for the cache: this run still trains, the next one tokenises again
    return value
