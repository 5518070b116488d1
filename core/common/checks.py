"""Validation shared by the frozen config dataclasses: messages name the field and its range.

A config field declares its range once, with ``bounded(default, low, high)``; ``check_fields``
validates every such field in ``__post_init__``, and the CLI and the dashboard's widgets read
the same default and range with ``default_of`` / ``range_of`` instead of retyping them.
"""
from __future__ import annotations

import dataclasses
from typing import Any

_RANGE = "range"
_OPEN_LOW = "open_low"
_OPTIONAL = "optional"


def check_int(name: str, value: Any, low: int, high: int) -> None:
    """Raise ValueError unless ``value`` is an int in [low, high].

    bool is an int subclass; True as a size or a count is a caller bug, not a setting."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


def check_float(name: str, value: Any, low: float, high: float, *,
                open_low: bool = False) -> None:
    """Raise ValueError unless ``value`` is a real number in [low, high] ((low, high] with
    ``open_low``); bools are refused like in ``check_int``."""
    ok = (not isinstance(value, bool) and isinstance(value, (int, float))
          and (low < value if open_low else low <= value) and value <= high)
    if not ok:
        left = "(" if open_low else "["
        raise ValueError(f"{name} must be in {left}{low}, {high}], got {value!r}")


def check_choice(name: str, value: Any, choices: tuple) -> None:
    """Raise ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def bounded(default: Any, low: float, high: float, *, open_low: bool = False,
            optional: bool = False) -> Any:
    """A dataclass field with its allowed range; ``optional`` also allows None. The type of
    ``low`` says whether the field is an integer or a real number."""
    return dataclasses.field(default=default, metadata={
        _RANGE: (low, high), _OPEN_LOW: open_low, _OPTIONAL: optional})


def check_fields(config: Any) -> None:
    """Validate every ``bounded`` field of a dataclass instance."""
    for f in dataclasses.fields(config):
        if _RANGE not in f.metadata:
            continue
        value = getattr(config, f.name)
        if value is None and f.metadata[_OPTIONAL]:
            continue
        low, high = f.metadata[_RANGE]
        if isinstance(low, int) and isinstance(high, int):
            check_int(f.name, value, low, high)
        else:
            check_float(f.name, value, low, high, open_low=f.metadata[_OPEN_LOW])


def _field(cls: type, name: str) -> dataclasses.Field:
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f
    raise KeyError(f"{cls.__name__} has no field {name!r}")


def range_of(cls: type, name: str) -> tuple:
    """The (low, high) a ``bounded`` field of ``cls`` allows."""
    return _field(cls, name).metadata[_RANGE]


def default_of(cls: type, name: str) -> Any:
    """The default value of a field of ``cls``."""
    f = _field(cls, name)
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()  # type: ignore[misc]
