"""The one decompression-bomb rule: what a file may unpack to, given the bytes it stores.

A compressed part (a zip member, a Parquet page, an HDF5 chunk, a dataset left to its fill
value) may decode to at most ``EXPANSION`` times its stored size plus ``SLACK`` (so tiny
files are never refused for compressing well). Real spreadsheets and weight files compress
roughly 2-10x; a bomb claims hundreds or millions of times its size.
"""
from __future__ import annotations

EXPANSION = 20
SLACK = 10_000_000


def expansion_limit(stored_bytes: int) -> int:
    """The most bytes ``stored_bytes`` of a file may decode to."""
    return max(int(stored_bytes), 0) * EXPANSION + SLACK


def over_expansion(decoded_bytes: int, stored_bytes: int) -> int | None:
    """The limit ``decoded_bytes`` breaks (for the message), or None when within it."""
    limit = expansion_limit(stored_bytes)
    return limit if decoded_bytes > limit else None
