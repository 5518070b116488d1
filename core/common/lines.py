"""Lines of a user's text file, each read only up to a width: a file holding one 200 MB line
must be refused after reading ``max_bytes`` of it, not after splitting all of it."""
from __future__ import annotations

from typing import BinaryIO, Callable, Iterator

MAX_LINE_BYTES = 64 * 1024  # 1,000 values of 25 characters and a 16 KB word fit easily


def bounded_lines(fh: BinaryIO, refuse: Callable[[str], Exception], first: int = 1,
                  max_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line with its end) for each line of ``fh``; ``refuse(why)`` is
    raised for the first line longer than ``max_bytes`` (its end not counted)."""
    line_no = first
    while raw := fh.readline(max_bytes + 1):
        if len(raw) > max_bytes and not (len(raw) == max_bytes + 1 and raw.endswith(b"\n")):
            raise refuse(f"line {line_no} is longer than {max_bytes:,} bytes (a row of at "
                         "most 1,000 values and one word is far shorter)")
        yield line_no, raw
        line_no += 1


def too_many_fields(raw: bytes, sep: bytes, most: int) -> bool:
    """Whether ``raw`` splits into more than ``most`` fields (counted before splitting)."""
    return raw.count(sep) >= most
