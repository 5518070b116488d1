"""A user's vocabulary, however their framework holds it, as the token list of the run store.

Accepted: a sequence of tokens (row i = token i), an object with ``get_vocabulary()`` (Keras's
``TextVectorization`` / ``StringLookup``, by duck typing: importing Keras's text layers needs
TensorFlow) or a token -> row mapping (torchtext's ``get_stoi()``, a tokenizer's ``vocab``).

Decisions, tested: Keras writes its padding row as ``""`` and its out-of-vocabulary row as
``"[UNK]"``; at rows 0 and 1 they are stored as the product's own ``<pad>`` and ``<unk>``, so
every view knows them for special rows. Any other empty or repeated token is refused: a word
must name one row.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from core.data.text import PAD, UNK
from core.errors import DataError
from core.vectors.pretrained import DEFAULT_MAX_WORDS

# Framework spellings of the two special rows -> ours (only at rows 0 and 1 respectively).
_PADDING = ("", "<pad>", "[PAD]")
_UNKNOWN = ("[UNK]", "<unk>", "<UNK>")


def vocabulary_tokens(vocabulary: Any, max_words: int = DEFAULT_MAX_WORDS) -> list[str]:
    """The vocabulary as a list of unique tokens, row i first-to-last (see the module doc)."""
    if hasattr(vocabulary, "get_vocabulary"):
        tokens = list(vocabulary.get_vocabulary())
    elif isinstance(vocabulary, Mapping):
        tokens = _from_mapping(vocabulary)
    elif isinstance(vocabulary, (str, bytes)) or not isinstance(vocabulary, (Sequence, np.ndarray)):
        raise DataError("vocabulary must be a list of tokens, a token -> row mapping or an "
                        f"object with get_vocabulary(), got {type(vocabulary).__name__}")
    else:
        tokens = list(vocabulary)
    if not tokens:
        raise DataError("the vocabulary is empty")
    if len(tokens) > max_words:
        raise DataError(f"the vocabulary has {len(tokens):,} tokens; the limit is {max_words:,}")
    return _checked([_text(t) for t in tokens])


def _text(token: Any) -> str:
    if isinstance(token, bytes):  # Keras may hand back bytes from a tf-less lookup
        return token.decode("utf-8", errors="replace")
    if not isinstance(token, str):
        raise DataError(f"vocabulary tokens must be strings, got {type(token).__name__} "
                        f"({token!r})")
    return token


def _from_mapping(stoi: Mapping) -> list[str]:
    rows = sorted((int(i), t) for t, i in stoi.items())
    if [i for i, _ in rows] != list(range(len(rows))):
        missing = sorted(set(range(len(rows))) - {i for i, _ in rows})[:5]
        raise DataError(f"a token -> row mapping must use each row 0..{len(rows) - 1} once; "
                        f"rows {missing} have no token")
    return [t for _, t in rows]


def _checked(tokens: list[str]) -> list[str]:
    if tokens[0] in _PADDING:
        tokens[0] = PAD
    if len(tokens) > 1 and tokens[1] in _UNKNOWN:
        tokens[1] = UNK
    seen: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if not token.strip():
            raise DataError(f"vocabulary row {i} is an empty token; only row 0 (padding) may be")
        if token in seen:
            raise DataError(f"vocabulary rows {seen[token]} and {i} are both {token!r}; each "
                            "token must name one row")
        seen[token] = i
    return tokens


def counts_array(name: str, values: Any, n_rows: int, columns: int | None = None) -> np.ndarray:
    """Per-row counts as int64 (``columns`` given: n_rows x columns), refused when the shape
    does not match the vocabulary or a count is negative."""
    arr = np.asarray(values)
    shape = (n_rows,) if columns is None else (n_rows, columns)
    if arr.shape != shape:
        raise DataError(f"{name} has shape {arr.shape}; the vocabulary needs {shape}")
    if arr.size and (not np.all(np.isfinite(arr)) or arr.min() < 0):
        raise DataError(f"{name} must be finite counts >= 0")
    return arr.astype(np.int64)
