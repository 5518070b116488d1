"""Which epoch each imported file is: ``epoch_1/2/3.safetensors`` are epochs 1, 2 and 3, not
"start, epoch 1, epoch 2". When every file name holds a number (the last run of digits in
its name, before the suffixes) and no two share one, the files are put in that order and
labelled by it; otherwise they keep the order given and are numbered 0, 1, 2, ... (epoch 0
is shown as "start"). Both the CLI and the dashboard's form show the labels before importing.
"""
from __future__ import annotations

import re
from typing import Sequence

_DIGITS = re.compile(r"(\d+)")


def _number(name: str) -> int | None:
    stem = name.rsplit("/", 1)[-1].split(".", 1)[0]  # epoch_3.weights.h5 -> epoch_3
    found = _DIGITS.findall(stem)
    return int(found[-1]) if found else None


def epoch_order(names: Sequence[str]) -> list[tuple[int, int]]:
    """(index into ``names``, epoch) in import order (see the module doc)."""
    numbers = [_number(n) for n in names]
    if names and None not in numbers and len(set(numbers)) == len(numbers):
        return sorted(((i, n) for i, n in enumerate(numbers)), key=lambda p: p[1])
    return [(i, i) for i in range(len(names))]


def epoch_label(epoch: int) -> str:
    """How a snapshot of ``epoch`` is named on the pages ("start" for epoch 0)."""
    return "start" if epoch == 0 else f"epoch {epoch}"


def planned_labels(names: Sequence[str]) -> list[tuple[str, str]]:
    """(file name, label) in import order: what the import will make of ``names``."""
    return [(names[i], epoch_label(e)) for i, e in epoch_order(names)]
