"""Property-based tests: any bytes, under any name the dashboard accepts, either load or raise
the product's own error type (never anything else), and the Python memory they cost stays
bounded (tracemalloc peak; pyarrow's own allocator is bounded by the subprocess tests)."""
from __future__ import annotations

import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.data.loading import LoadConfig, load_dataset, read_frame
from core.errors import ExplorerError
from core.vectors.pretrained import load_vectors_file
from core.data.text import tokenize
from tests.hostile import corpus

PEAK_LIMIT = 64 * 2**20  # Python-level bytes for inputs of at most a few kB
NAMES = ["f.csv", "f.tsv", "f.txt", "f.jsonl", "f.json", "f.parquet", "f.xlsx", "f.ft", "f",
         "f.xls", "f.bin"]
SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Bytes that look a little like the formats, so examples get past the first checks.
_PIECES = st.sampled_from([b"text", b"label", b",", b"\t", b";", b"\n", b"\r\n", b"\"", b"'",
                           b"__label__", b"{", b"}", b"[", b"]", b":", b"\"text\"", b"1e999",
                           b"NaN", b"9" * 50, b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"PK\x03\x04",
                           b"PAR1", b"\xe9", b" ", b"a", b"b", b"good", b"0.5", b"-1"])
ANY_BYTES = st.one_of(st.binary(max_size=3000),
                      st.lists(_PIECES, max_size=300).map(b"".join))
# Mutations of valid files in every format: truncated, a byte flipped, spliced.
VALID = [corpus.csv_bytes(), corpus.jsonl(), corpus.parquet_nested(),
         corpus.xlsx({"s": [("text", "label"), *corpus.ROWS]})]


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["cut", "flip", "insert"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "cut":
            del data[pos:]
        elif op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=20))
    return bytes(data)


def _bounded(fn, *args):
    """Run ``fn``; only ExplorerError may escape; returns the Python-level peak in bytes."""
    tracemalloc.start()
    try:
        fn(*args)
    except ExplorerError as exc:
        assert str(exc).strip(), "an error without a message"
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@SETTINGS
@given(data=st.one_of(ANY_BYTES, mutated()), name=st.sampled_from(NAMES))
def test_load_dataset_any_bytes(data, name):
    config = LoadConfig(min_rows=2)
    assert _bounded(load_dataset, data, name, config) < PEAK_LIMIT


@SETTINGS
@given(data=st.one_of(ANY_BYTES, mutated()), name=st.sampled_from(NAMES))
def test_read_frame_any_bytes(data, name):
    assert _bounded(read_frame, data, name) < PEAK_LIMIT


_VEC_PIECES = st.sampled_from([b"2 3\n", b"500000000 300\n", b"1 1\n", b"good", b"bad", b" ",
                               b"0.1", b"-1e9", b"nan", b"inf", b"1e400", b"\n", b"\r\n", b"\t",
                               b"\x80\x04", b"\x93NUMPY", b"\x00\x00\x80?", b"\xff"])


@SETTINGS
@given(data=st.one_of(st.binary(max_size=2000), st.lists(_VEC_PIECES, max_size=200).map(b"".join)),
       suffix=st.sampled_from([".txt", ".vec", ".bin", "", ".model", ".npy", ".gz"]))
def test_load_vectors_file_any_bytes(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("vec") / f"v{suffix}"
    path.write_bytes(data)
    assert _bounded(load_vectors_file, path) < PEAK_LIMIT


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_tokenize_any_text(text):
    tokens = tokenize(text)
    assert isinstance(tokens, list)
    assert all(isinstance(t, str) and t and not any(c.isspace() for c in t) for t in tokens)
    assert sum(map(len, tokens)) <= len(text) * 2  # clitic splits never blow text up


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_tokenize_any_decoded_bytes(data):
    for encoding in ("utf-8", "latin-1"):
        text = data.decode(encoding, errors="surrogateescape")
        assert _bounded(tokenize, text) < PEAK_LIMIT
