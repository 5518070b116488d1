"""Validation shared by the frozen config dataclasses: messages name the field and its range."""
from __future__ import annotations

from typing import Any


def check_int(name: str, value: Any, low: int, high: int) -> None:
    """Raise ValueError unless ``value`` is an int in [low, high].

    bool is an int subclass; True as a size or a count is a caller bug, not a setting."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
