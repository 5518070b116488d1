"""Tokenising, the vocabulary and how well a set of word vectors covers a corpus.

The tokenizer follows the conventions of the corpus GloVe 6B was trained on (Stanford
tokenizer, lower-cased) so that as many tokens as possible find a pretrained vector.
"""
from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common.checks import bounded, check_fields

PAD = "<pad>"
UNK = "<unk>"
SPECIALS = (PAD, UNK)  # rows 0 and 1 of every vocabulary; never words
PAD_ID = 0
UNK_ID = 1
# Part of the key of every cached tokenised corpus (core.training.corpus.tokenised): bump it
# whenever ``tokenize`` can return other tokens for the same text, so stale caches are unused.
TOKENIZER_VERSION = 1

# Typographic quotes and the ellipsis character become the ASCII forms that dominate GloVe's
# training text ("'s" is far more frequent there than "’s").
_NORMALISE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2026": "..."})

_CLITIC = r"(?:s|m|d|re|ve|ll)"
_TOKEN = re.compile(
    "|".join(
        (
            r"(?:[^\W\d_]\.){2,}",  # acronyms kept whole: u.s. u.n. a.m.
            r"\w+?(?=n't\b)",  # the stem before n't: do|n't, ca|n't, wo|n't
            r"n't\b",
            r"'" + _CLITIC + r"\b",  # 's 'm 'd 're 've 'll as their own tokens
            r"'\d0s\b",  # '90s
            r"\d+(?:[.,:/]\d+)+(?:-\w+)*",  # 1.5  3,000  10:30  9/11  1.5-million
            # words, joined by hyphens, & (at&t) or an apostrophe that is not a clitic (o'clock)
            r"\w+(?:(?:-|&|'(?!" + _CLITIC + r"\b|t\b))\w+)*",
            r"\.\.\.|--|[^\w\s]",  # punctuation, one symbol per token
        )
    )
)
_ACRONYM = re.compile(r"(?:[^\W\d_]\.){2,}")

# Compound tokens (hyphenated words, dotted acronyms) are kept whole only when GloVe has them
# as one token; otherwise hyphenated words are split around "-" and acronyms lose their dots.
# Measured on the 32,000 clickbait headlines (share of tokens / of distinct types in GloVe 6B):
#   compounds always whole (Stanford-like)        0.9931 / 0.9380
#   hyphens always split                          0.9959 / 0.9652
#   acronyms split into letters and dots          0.9936 / 0.9395 (only by counting "." hits)
#   whole if in GloVe, else split / de-dotted     0.9962 / 0.9680  <- chosen
# A fixed list of abbreviations (mr., st., jan.) changed nothing measurable, so it is not used.


@functools.lru_cache(maxsize=1)
def _compound_lexicon() -> frozenset[str]:
    """GloVe 6B tokens that contain '-' or '.' (about 34k strings)."""
    from core.vectors.pretrained import glove_words  # lazy: only needed when a text has '-' or '.'

    return frozenset(w for w in glove_words() if "-" in w or "." in w)


def _split_compound(token: str, lexicon: frozenset[str]) -> list[str]:
    if len(token) < 2 or token in lexicon or ("-" not in token and "." not in token):
        return [token]
    if _ACRONYM.fullmatch(token):
        return [token.replace(".", "")]
    if "-" in token and "--" not in token and not token.startswith("-") and not token.endswith("-"):
        parts = token.split("-")
        out = [parts[0]]
        for part in parts[1:]:
            out += ["-", part]
        return out
    return [token]


def tokenize(text: str) -> list[str]:
    """Split ``text`` into lower-cased GloVe-6B-style tokens.

    Punctuation is split off, clitics follow the Stanford tokenizer (``don't`` -> ``do n't``,
    ``it's`` -> ``it 's``), numbers like ``3,000`` and ``1.5`` stay whole, and hyphenated words
    or acronyms stay whole when GloVe 6B has them as one token.
    """
    norm = text.lower().translate(_NORMALISE)
    tokens = _TOKEN.findall(norm)
    if "-" not in norm and "." not in norm:
        return tokens
    lexicon = _compound_lexicon()
    out: list[str] = []
    for token in tokens:
        out += _split_compound(token, lexicon)
    return out


@dataclass(frozen=True, eq=False)
class Corpus:
    """Every text's tokens, stored flat: ``types`` (distinct tokens, sorted), ``ids`` (int32,
    each token's index in ``types``, texts back to back) and ``offsets`` (n_texts + 1; text i
    is ``ids[offsets[i]:offsets[i + 1]]``). The form the tokenised-corpus cache keeps, and the
    one the vocabulary is built from without looking at a string per token."""

    types: tuple[str, ...]
    ids: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_token_lists(cls, token_lists: Sequence[Sequence[str]]) -> Corpus:
        types = sorted({token for tokens in token_lists for token in tokens})
        index = {token: i for i, token in enumerate(types)}
        lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
        offsets = np.zeros(len(token_lists) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.fromiter((index[t] for tokens in token_lists for t in tokens), dtype=np.int32,
                          count=int(offsets[-1]))
        return cls(tuple(types), ids, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def token_lists(self) -> list[list[str]]:
        """The texts' tokens as lists of strings (what ``tokenize`` returned)."""
        words = np.array(self.types, dtype=object)[self.ids].tolist()
        bounds = self.offsets.tolist()
        return [words[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def type_counts(self) -> np.ndarray:
        """Occurrences of each type over all texts."""
        return np.bincount(self.ids, minlength=len(self.types))


@dataclass(frozen=True)
class VocabConfig:
    """How the vocabulary is cut: ``min_count`` and ``max_size`` apply to counts over all texts.

    ``max_size`` includes the two special rows ``<pad>`` and ``<unk>``.
    """

    min_count: int = bounded(1, 1, 1_000_000_000)
    max_size: int = bounded(50_000, 2, 5_000_000)  # at least room for <pad> and <unk>

    def __post_init__(self) -> None:
        check_fields(self)


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _encode(stoi: dict[str, int], tokens: Iterable[str]) -> np.ndarray:
    get = stoi.get
    return np.fromiter((get(token, UNK_ID) for token in tokens), dtype=np.int64)


def _count_by_class(ids: list[np.ndarray], labels: np.ndarray, n_rows: int, n_classes: int) -> np.ndarray:
    """(n_rows x n_classes) occurrences of each row id in texts of each class."""
    if not ids:
        return np.zeros((n_rows, n_classes), dtype=np.int64)
    flat_ids = np.concatenate(ids)
    flat_labels = np.repeat(labels, [len(a) for a in ids])
    flat = np.bincount(flat_ids * n_classes + flat_labels, minlength=n_rows * n_classes)
    return flat.reshape(n_rows, n_classes)


def _drop_type(types: tuple[str, ...], counts: np.ndarray, token: str) -> None:
    """Zero the count of ``token`` (a sorted ``types`` entry) so no row is made for it."""
    at = bisect.bisect_left(types, token)
    if at < len(types) and types[at] == token:
        counts[at] = 0


def vocab_frame(tokens: Sequence[str], counts: Sequence[int] | np.ndarray,
                class_counts: Sequence[Sequence[int]] | np.ndarray | None = None,
                train_counts: Sequence[int] | np.ndarray | None = None) -> pd.DataFrame:
    """A run's vocabulary table, one row per token: ``token``, ``count`` (all texts),
    ``train_count`` and ``count_<c>`` per column of ``class_counts`` (counts as int64).

    ``train_count`` is the sum of ``class_counts`` when they are given (``train_counts``, if
    also given, must equal it), else ``train_counts``, else zeros. The one writer of these
    columns: ``Vocab.to_frame`` (the product's trainer) and ``core.track`` both use it, and
    ``Vocab.from_frame`` reads them back.
    """
    n = len(tokens)
    counts = np.asarray(counts, dtype=np.int64)
    per_class = None if class_counts is None else np.asarray(class_counts, dtype=np.int64)
    if counts.shape != (n,) or (per_class is not None
                                and (per_class.ndim != 2 or len(per_class) != n)):
        shape = None if per_class is None else per_class.shape
        raise ValueError(f"counts {counts.shape} / class_counts {shape} do not match {n} tokens")
    train = None if train_counts is None else np.asarray(train_counts, dtype=np.int64)
    if per_class is not None:
        if train is not None and not np.array_equal(train, per_class.sum(axis=1)):
            raise ValueError("train_counts must equal the sum of class_counts per token")
        train = per_class.sum(axis=1)
    elif train is None:
        train = np.zeros(n, dtype=np.int64)
    elif train.shape != (n,):
        raise ValueError(f"train_counts {train.shape} do not match {n} tokens")
    frame = pd.DataFrame({"token": list(tokens), "count": counts, "train_count": train})
    for c in range(0 if per_class is None else per_class.shape[1]):
        frame[f"count_{c}"] = per_class[:, c]
    return frame


class Vocab:
    """Token <-> row mapping of the embedding table, with the counts the dashboard shows.

    Row 0 is ``<pad>``, row 1 is ``<unk>`` (every token outside the vocabulary).
    ``counts`` are over all texts, ``train_counts`` and ``class_counts`` (V x C) over the
    training split only.
    """

    def __init__(self, itos: Sequence[str], counts: np.ndarray, class_counts: np.ndarray) -> None:
        itos = tuple(itos)
        if itos[:2] != (PAD, UNK):
            raise ValueError(f"a vocabulary must start with {PAD!r}, {UNK!r}")
        counts = np.array(counts, dtype=np.int64)
        class_counts = np.array(class_counts, dtype=np.int64)
        if counts.shape != (len(itos),) or class_counts.ndim != 2 or len(class_counts) != len(itos):
            raise ValueError(
                f"counts {counts.shape} / class_counts {class_counts.shape} do not match {len(itos)} tokens"
            )
        self.itos = itos
        self.stoi = {token: i for i, token in enumerate(itos)}
        if len(self.stoi) != len(itos):
            raise ValueError("vocabulary tokens must be unique")
        self.counts = _readonly(counts)
        self.class_counts = _readonly(class_counts)
        self.train_counts = _readonly(class_counts.sum(axis=1))

    def __len__(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens, {self.class_counts.shape[1]} classes)"

    @property
    def n_classes(self) -> int:
        return int(self.class_counts.shape[1])

    @property
    def seen_in_training(self) -> np.ndarray:
        """Bool mask: the row's token occurs in at least one training text."""
        return self.train_counts > 0

    @classmethod
    def build(
        cls,
        token_lists: Sequence[Sequence[str]],
        train_mask: Sequence[bool] | np.ndarray,
        labels: Sequence[int] | np.ndarray,
        n_classes: int,
        config: VocabConfig = VocabConfig(),
    ) -> Vocab:
        """Build from all texts; ``train_mask`` and ``labels`` select and label the training split.

        The cut uses counts over all texts, so words only seen in validation still get a row
        (pretrained initialisation can help them). Order: count descending, then alphabetical.
        """
        train_mask = np.asarray(train_mask, dtype=bool)
        labels = np.asarray(labels, dtype=np.int64)
        if not (len(token_lists) == len(train_mask) == len(labels)):
            raise ValueError(
                f"token_lists ({len(token_lists)}), train_mask ({len(train_mask)}) and labels "
                f"({len(labels)}) must have the same length"
            )
        train_labels = labels[train_mask]
        if n_classes < 1 or (train_labels.size and not 0 <= train_labels.min() <= train_labels.max() < n_classes):
            raise ValueError(f"n_classes must be >= 1 and training labels in 0..{n_classes - 1}")
        totals = Counter(token for tokens in token_lists for token in tokens)
        for special in (PAD, UNK):  # the special rows are ours, whatever the text says
            totals.pop(special, None)
        kept = [item for item in totals.items() if item[1] >= config.min_count]
        kept = sorted(kept, key=lambda item: (-item[1], item[0]))[: config.max_size - 2]
        itos = (PAD, UNK) + tuple(token for token, _ in kept)
        counts = np.zeros(len(itos), dtype=np.int64)
        counts[2:] = [count for _, count in kept]
        counts[UNK_ID] = sum(totals.values()) - int(counts.sum())
        stoi = {token: i for i, token in enumerate(itos)}
        train_idx = np.flatnonzero(train_mask)
        ids = [_encode(stoi, token_lists[i]) for i in train_idx]
        return cls(itos, counts, _count_by_class(ids, labels[train_idx], len(itos), n_classes))

    @classmethod
    def from_corpus(cls, corpus: Corpus, train_mask: Sequence[bool] | np.ndarray,
                    labels: Sequence[int] | np.ndarray, n_classes: int,
                    config: VocabConfig = VocabConfig()) -> tuple[Vocab, np.ndarray]:
        """``build`` on a ``Corpus``, with array operations instead of a string per token;
        returns the vocabulary and every token's row id (flat, aligned with ``corpus.ids``).
        Same vocabulary as ``build`` on ``corpus.token_lists()`` (tests check it)."""
        train_mask = np.asarray(train_mask, dtype=bool)
        labels = np.asarray(labels, dtype=np.int64)
        if not (len(corpus) == len(train_mask) == len(labels)):
            raise ValueError(f"corpus ({len(corpus)}), train_mask ({len(train_mask)}) and "
                             f"labels ({len(labels)}) must have the same length")
        train_labels = labels[train_mask]
        if n_classes < 1 or (train_labels.size and not 0 <= train_labels.min() <= train_labels.max() < n_classes):
            raise ValueError(f"n_classes must be >= 1 and training labels in 0..{n_classes - 1}")
        text_of_token = np.repeat(np.arange(len(corpus)), np.diff(corpus.offsets))
        in_train = train_mask[text_of_token]
        flat = corpus.ids[in_train].astype(np.int64) * n_classes + labels[text_of_token[in_train]]
        per_type = np.bincount(flat, minlength=len(corpus.types) * n_classes)
        vocab, row_of_type = cls.from_type_counts(
            corpus.types, corpus.type_counts(), per_type.reshape(len(corpus.types), n_classes),
            config)
        return vocab, row_of_type[corpus.ids]

    @classmethod
    def from_type_counts(cls, types: Sequence[str], totals: np.ndarray,
                         train_class_counts: np.ndarray, config: VocabConfig = VocabConfig()
                         ) -> tuple[Vocab, np.ndarray]:
        """The vocabulary of a corpus known by its counts alone: ``types`` (sorted),
        ``totals`` (occurrences of each type over all texts) and ``train_class_counts``
        (types x classes, over the training split). Returns it and each type's row id. What
        ``from_corpus`` cuts, and what a streamed corpus (``core.data.mapped``), which never
        holds its tokens in memory, counted in its one pass."""
        totals = np.array(totals, dtype=np.int64)
        for special in (PAD, UNK):  # the special rows are ours, whatever the text says
            _drop_type(tuple(types), totals, special)
        # types are sorted, so a stable sort on -count is "count descending, then alphabetical"
        order = np.argsort(-totals, kind="stable")
        order = order[totals[order] >= config.min_count][: config.max_size - 2]
        itos = (PAD, UNK) + tuple(types[i] for i in order)
        row_of_type = np.full(len(types), UNK_ID, dtype=np.int64)
        row_of_type[order] = np.arange(2, len(itos))
        counts = np.zeros(len(itos), dtype=np.int64)
        counts[2:] = totals[order]
        counts[UNK_ID] = int(totals.sum()) - int(counts.sum())
        train_class_counts = np.asarray(train_class_counts, dtype=np.int64)
        class_counts = np.zeros((len(itos), train_class_counts.shape[1]), dtype=np.int64)
        np.add.at(class_counts, row_of_type, train_class_counts)
        return cls(itos, counts, class_counts), row_of_type

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Row ids (int64) for ``tokens``; tokens outside the vocabulary map to ``<unk>`` (1)."""
        return _encode(self.stoi, tokens)

    def encode_all(self, token_lists: Iterable[Sequence[str]]) -> list[np.ndarray]:
        return [self.encode(tokens) for tokens in token_lists]

    def to_frame(self) -> pd.DataFrame:
        """One row per token: token, count, train_count, count_<class> per class."""
        return vocab_frame(self.itos, self.counts, self.class_counts)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Vocab:
        """Inverse of :meth:`to_frame`."""
        class_cols = [c for c in frame.columns if re.fullmatch(r"count_\d+", str(c))]
        class_cols.sort(key=lambda c: int(c[len("count_"):]))
        missing = sorted({"token", "count"} - set(frame.columns)) or ([] if class_cols else ["count_<i>"])
        if missing:
            raise ValueError(f"a vocabulary frame needs token, count and count_<i> columns; missing {missing}")
        class_counts = frame[class_cols].to_numpy(dtype=np.int64)
        vocab = cls(frame["token"].astype(str).tolist(), frame["count"].to_numpy(dtype=np.int64), class_counts)
        train_counts = frame["train_count"].to_numpy() if "train_count" in frame.columns else vocab.train_counts
        if not np.array_equal(vocab.train_counts, train_counts):
            raise ValueError("train_count does not equal the sum of the count_<i> columns")
        return vocab


@dataclass(frozen=True)
class Coverage:
    """How much of a corpus a set of vectors covers."""

    token_share: float  # share of running tokens that have a vector
    vocab_share: float  # share of distinct tokens that have a vector
    n_tokens: int
    n_types: int
    top_missing: tuple[str, ...]  # most frequent tokens without a vector (ties alphabetical)


def corpus_coverage(corpus: Corpus, known: np.ndarray, top: int = 20) -> Coverage:
    """``coverage`` of a ``Corpus`` whose types ``known`` (bool per type) have a vector."""
    counts = corpus.type_counts()
    known = np.asarray(known, dtype=bool)
    missing = np.flatnonzero(~known)
    # types are sorted: a stable sort on -count orders ties alphabetically, as ``coverage`` does
    missing = missing[np.argsort(-counts[missing], kind="stable")]
    n_tokens = int(counts.sum())
    n_missing = int(counts[missing].sum())
    n_types = len(corpus.types)
    return Coverage(
        token_share=(n_tokens - n_missing) / n_tokens if n_tokens else 0.0,
        vocab_share=(n_types - len(missing)) / n_types if n_types else 0.0,
        n_tokens=n_tokens, n_types=n_types,
        top_missing=tuple(corpus.types[i] for i in missing[:top]),
    )


def coverage(token_lists: Iterable[Sequence[str]], kv, top: int = 20) -> Coverage:
    """Coverage of ``token_lists`` by the KeyedVectors ``kv``."""
    counts = Counter(token for tokens in token_lists for token in tokens)
    known = kv.key_to_index
    missing = [(t, n) for t, n in counts.items() if t not in known]
    missing.sort(key=lambda tn: (-tn[1], tn[0]))
    n_tokens = sum(counts.values())
    n_missing = sum(n for _, n in missing)
    return Coverage(
        token_share=(n_tokens - n_missing) / n_tokens if n_tokens else 0.0,
        vocab_share=(len(counts) - len(missing)) / len(counts) if counts else 0.0,
        n_tokens=n_tokens,
        n_types=len(counts),
        top_missing=tuple(t for t, _ in missing[:top]),
    )


def token_stats(token_lists: Sequence[Sequence[str]]) -> dict:
    """Text-length statistics in tokens: n_texts, n_tokens, mean, median, p95, max, n_types."""
    lengths = np.array([len(tokens) for tokens in token_lists], dtype=np.int64)
    n_types = len({token for tokens in token_lists for token in tokens})
    if lengths.size == 0:
        return {"n_texts": 0, "n_tokens": 0, "mean": 0.0, "median": 0.0, "p95": 0.0, "max": 0,
                "n_types": 0}
    return {
        "n_texts": int(lengths.size),
        "n_tokens": int(lengths.sum()),
        "mean": float(lengths.mean()),
        "median": float(np.median(lengths)),
        "p95": float(np.percentile(lengths, 95)),
        "max": int(lengths.max()),
        "n_types": n_types,
    }
