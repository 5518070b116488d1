"""The one check of a display name (runs, experiments, data sets), used wherever a name comes
in: ``open_run(name=...)`` (trackers, the import form, ``python -m core import``), renaming a
run or a data set, registering a data set.

A name is shown in the sidebar, tables, chart titles and JSON lines, so it is one line of
bounded length: trimmed, at most ``MAX_NAME`` characters, without control, format (bidi
overrides such as U+202E, zero-width marks) or line/paragraph separator characters.
Duplicates: ``unique_name`` gives a new name a free spelling ("sample.csv (2)") where a new
thing arrives; a rename to a name already taken is refused by its caller.
"""
from __future__ import annotations

import unicodedata
from typing import Iterable

from core.errors import StoreError

MAX_NAME = 120  # characters of a display name
# Cc control (newline, escape), Cf format (bidi overrides, zero-width), Zl/Zp separators.
_REFUSED = ("Cc", "Cf", "Zl", "Zp")


def check_name(name: object, what: str = "data set") -> str:
    """``name`` as typed, trimmed; ``StoreError`` naming the problem when it is empty, longer
    than ``MAX_NAME`` or holds a refused character (see the module doc)."""
    text = str(name).strip()
    if not text:
        raise StoreError(f"A {what}'s name cannot be empty.")
    if len(text) > MAX_NAME:
        raise StoreError(f"A {what}'s name can have at most {MAX_NAME} characters "
                         f"(this one has {len(text):,}).")
    bad = next((c for c in text if unicodedata.category(c) in _REFUSED), None)
    if bad is not None:
        raise StoreError(f"A {what}'s name cannot contain control characters, line breaks or "
                         f"text-direction marks (found U+{ord(bad):04X}).")
    return text


def unique_name(name: str, taken: Iterable[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``... the first spelling not in ``taken``
    (compared without case), kept within ``MAX_NAME``."""
    used = {t.casefold() for t in taken}
    if name.casefold() not in used:
        return name
    for n in range(2, len(used) + 2):
        suffix = f" ({n})"
        candidate = name[: MAX_NAME - len(suffix)] + suffix
        if candidate.casefold() not in used:
            return candidate
    raise AssertionError("unreachable: len(used) + 1 spellings cannot all be taken")


def check_free(name: str, taken: Iterable[str], what: str = "data set") -> str:
    """``name`` when no other ``what`` has it (without case); else ``StoreError``."""
    if name.casefold() in {t.casefold() for t in taken}:
        raise StoreError(f"Another {what} is already called '{name}'; choose another name.")
    return name
