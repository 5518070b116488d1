"""The shared foundation: bounded config fields, atomic writes, the read-through disk cache."""
from __future__ import annotations

import dataclasses

import pytest

from core.common.checks import bounded, check_fields, default_of, range_of
from core.common.files import DiskCache, atomic_write


@dataclasses.dataclass(frozen=True)
class _Config:
    size: int = bounded(5, 1, 10)
    rate: float = bounded(0.5, 0.0, 1.0, open_low=True)
    cap: int | None = bounded(None, 2, 9, optional=True)

    def __post_init__(self):
        check_fields(self)


@pytest.mark.parametrize("changes, message", [
    ({"size": 0}, r"size must be an integer in \[1, 10\]"),
    ({"size": True}, "size must be an integer"),
    ({"size": 2.0}, "size must be an integer"),
    ({"rate": 0.0}, r"rate must be in \(0.0, 1.0\]"),
    ({"rate": True}, "rate must be in"),
    ({"cap": 1}, "cap must be an integer in"),
], ids=["int-low", "int-bool", "int-float", "open-low", "float-bool", "optional-low"])
def test_bounded_fields_name_the_field_and_range(changes, message):
    with pytest.raises(ValueError, match=message):
        _Config(**changes)


def test_defaults_and_ranges_are_read_from_the_fields():
    assert _Config().cap is None and _Config(cap=9).cap == 9
    assert default_of(_Config, "size") == 5 and range_of(_Config, "rate") == (0.0, 1.0)


def test_atomic_write_replaces_whole_files_and_cleans_up_a_failed_write(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write(path, "one")
    atomic_write(path, b"two", fsync=True)
    assert path.read_text() == "two"

    def broken(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, broken)
    assert path.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_disk_cache_computes_once_and_leaves_nothing_after_a_failed_write(tmp_path):
    cache = DiskCache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return "value"

    def write(value, folder):
        (folder / "v.txt").write_text(value)

    def read(folder):
        return (folder / "v.txt").read_text()

    assert cache.get_or_compute("k1", compute, write, read) == "value"
    assert cache.get_or_compute("k1", compute, write, read) == "value"
    assert len(calls) == 1

    def failing(value, folder):
        (folder / "v.txt").write_text(value[:2])
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        cache.put("k2", "value", failing)
    assert cache.get("k2", read) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k1"]
