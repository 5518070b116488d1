"""core.store.names: the one check of a display name, and duplicates told apart."""
from __future__ import annotations

import pytest

from core.store.names import MAX_NAME, check_free, check_name, unique_name
from core.errors import StoreError


def test_check_name_trims_and_keeps_unicode_letters():
    assert check_name("  Ünïcode näme 名前 ") == "Ünïcode näme 名前"
    assert check_name("x" * MAX_NAME) == "x" * MAX_NAME


@pytest.mark.parametrize("name, message", [
    ("", "cannot be empty"), ("   ", "cannot be empty"),
    ("x" * (MAX_NAME + 1), f"at most {MAX_NAME} characters \\(this one has 121\\)"),
    ("a\nb", "U\\+000A"), ("a\u202eb", "U\\+202E"), ("a\u200bb", "U\\+200B"),
    ("a\u2028b", "U\\+2028"), ("a\x1b[31mb", "U\\+001B")])
def test_check_name_refusals(name, message):
    with pytest.raises(StoreError, match=message):
        check_name(name, "run")


def test_unique_name_and_check_free():
    assert unique_name("sample.csv", ["other.csv"]) == "sample.csv"
    assert unique_name("sample.csv", ["Sample.CSV", "sample.csv (2)"]) == "sample.csv (3)"
    long = "y" * MAX_NAME
    assert unique_name(long, [long]) == "y" * (MAX_NAME - 4) + " (2)"
    assert check_free("a", ["b"]) == "a"
    with pytest.raises(StoreError, match="already called 'A'"):
        check_free("A", ["a"])
