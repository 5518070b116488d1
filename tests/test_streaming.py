"""Streamed data sets: the memory-mapped corpus equals the in-memory one, whatever the format
or batch size; the hashed split is stable; preparing a file does not hold its rows."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.mapped import SplitConfig, hashed_validation, open_mapped, prepare
from core.data.streaming import StreamConfig
from core.data.text import Corpus, Vocab, VocabConfig, tokenize
from core.errors import DataError

REPO = Path(__file__).resolve().parents[1]

ROWS = [("Cats don't like water.", "pets"), ("", "pets"), ("Stocks fell 3,000 points", 2),
        ("The U.S. market rallied", 2), ("no label here", None), ("A dog's life", "pets"),
        ("well-known birds fly", "birds"), ("birds sing at dawn", "birds"),
        ("markets, markets, markets", 2), ("my cat sleeps", "pets"), ("hawks hunt", "birds")]


def _write(tmp_path: Path, fmt: str, rows=ROWS) -> Path:
    frame = pd.DataFrame(rows, columns=["body", "topic"])
    path = tmp_path / f"data.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps({"body": t, "topic": lab}) + "\n" for t, lab in rows))
    else:
        frame.astype({"topic": str}).replace({"None": None}).to_parquet(path, row_group_size=4)
    return path


def _prepared(path: Path, tmp_path: Path, batch_size: int, name: str = "out"):
    folder = tmp_path / f"{name}{batch_size}"
    folder.mkdir()
    prepare(path, folder, StreamConfig(batch_size=batch_size), SplitConfig(0.3, seed=5))
    return open_mapped(folder)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_mapped_corpus_equals_the_in_memory_corpus(tmp_path, fmt):
    path = _write(tmp_path, fmt)
    mapped = _prepared(path, tmp_path, batch_size=3)
    kept = [(t, str(lab)) for t, lab in ROWS if t and lab is not None]
    expected = Corpus.from_token_lists([tokenize(t) for t, _ in kept])
    assert mapped.corpus.types == expected.types
    assert np.array_equal(mapped.corpus.ids, expected.ids)
    assert np.array_equal(mapped.corpus.offsets, expected.offsets)
    assert mapped.classes == ("2", "birds", "pets")
    assert mapped.labels.tolist() == [mapped.classes.index(lab) for _, lab in kept]
    assert (mapped.meta["n_rows"], mapped.meta["n_rows_read"]) == (len(kept), len(ROWS))
    assert isinstance(mapped.corpus.ids, np.memmap)


def test_vocab_from_streamed_counts_equals_vocab_from_corpus(tmp_path):
    mapped = _prepared(_write(tmp_path, "csv"), tmp_path, batch_size=2)
    train = ~mapped.validation(np.arange(len(mapped.corpus)))
    assert 0 < train.sum() < len(train)
    config = VocabConfig(min_count=1, max_size=12)
    vocab, rows = mapped.vocab(config)
    expected, expected_rows = Vocab.from_corpus(mapped.corpus, train, np.asarray(mapped.labels),
                                                len(mapped.classes), config)
    assert vocab.itos == expected.itos
    assert np.array_equal(vocab.counts, expected.counts)
    assert np.array_equal(vocab.class_counts, expected.class_counts)
    assert np.array_equal(rows[mapped.corpus.ids], expected_rows)


def test_batch_size_changes_nothing(tmp_path):
    rows = [(f"text {i} with word{i % 7} and w{i % 3}", f"c{i % 3}") for i in range(500)]
    path = _write(tmp_path, "parquet", rows)
    small, large = (_prepared(path, tmp_path, b) for b in (7, 1000))
    for name in ("ids", "offsets"):
        assert np.array_equal(getattr(small.corpus, name), getattr(large.corpus, name))
    assert np.array_equal(small.class_counts, large.class_counts)
    assert np.array_equal(small.labels, large.labels)


def test_hashed_split_is_stable_seeded_and_near_its_fraction():
    rows = np.arange(200_000)
    split = SplitConfig(val_fraction=0.2, seed=3)
    val = hashed_validation(rows, split)
    assert abs(val.mean() - 0.2) < 0.005
    assert np.array_equal(hashed_validation(rows[1000:1010], split), val[1000:1010])
    other = hashed_validation(rows, SplitConfig(val_fraction=0.2, seed=4))
    assert 0.2 < (val != other).mean() < 0.5


def test_unstreamable_files_and_too_many_classes_are_refused(tmp_path):
    xlsx = tmp_path / "data.xlsx"
    xlsx.write_bytes(b"PK")
    with pytest.raises(DataError, match="cannot be streamed"):
        prepare(xlsx, tmp_path)
    many = _write(tmp_path, "csv", [(f"text {i}", f"class{i}") for i in range(40)])
    (tmp_path / "m").mkdir()
    with pytest.raises(DataError, match="more than 3 classes"):
        prepare(many, tmp_path / "m", StreamConfig(label_column="topic", max_classes=3))


_PEAK = """
import sys
from pathlib import Path
from core.data.mapped import prepare
from core.data.streaming import StreamConfig
source, out = map(Path, sys.argv[1:3])
out.mkdir()
prepare(source, out, StreamConfig(batch_size=4096))
# VmHWM: ru_maxrss would carry pytest's own size over exec
print(int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024)
"""


def _parquet(path: Path, n_rows: int) -> int:
    """A Parquet file of ``n_rows`` 12-word texts in 3 classes; returns its text bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    words = np.array([f"w{i}x" for i in range(5000)], dtype=object)
    text_bytes = 0
    with pq.ParquetWriter(path, pa.schema([("text", pa.string()), ("label", pa.string())])) as w:
        for start in range(0, n_rows, 50_000):
            texts = [" ".join(p) for p in words[rng.integers(0, 5000, size=(50_000, 12))]]
            text_bytes += sum(map(len, texts))
            labels = [f"c{(start + i) % 3}" for i in range(50_000)]
            w.write_table(pa.table({"text": texts, "label": labels}), row_group_size=50_000)
    return text_bytes


def _peak_rss(source: Path, out: Path) -> int:
    done = subprocess.run([sys.executable, "-c", _PEAK, str(source), str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


def test_peak_memory_grows_less_than_the_text_of_the_rows(tmp_path):
    """Preparing 6x the rows raises the peak RSS of a fresh process by less than holding
    the extra rows' strings would (the upload path holds them and their token lists too)."""
    small = _parquet(tmp_path / "small.parquet", 100_000)
    large = _parquet(tmp_path / "large.parquet", 600_000)
    growth = (_peak_rss(tmp_path / "large.parquet", tmp_path / "large")
              - _peak_rss(tmp_path / "small.parquet", tmp_path / "small"))
    extra_text = large - small
    assert extra_text > 25 * 2**20
    # holding the extra rows as Python strings costs their text plus each str object's
    # header and its list slot: streaming must stay under that
    held = extra_text + 500_000 * (sys.getsizeof("") + 8)
    assert growth < held, (f"peak RSS grew {growth / 2**20:.1f} MB; holding the "
                           f"{extra_text / 2**20:.1f} MB of extra text would take "
                           f"{held / 2**20:.1f} MB")
    assert open_mapped(tmp_path / "large").meta["n_rows"] == 600_000


def test_datasets_add_registers_a_server_file_once(tmp_path, capsys):
    from core.cli import main
    from core.errors import StoreError
    from core.store import streamed
    from core.store.runstore import RunStore

    path = _write(tmp_path, "csv")
    store = tmp_path / "store"
    assert main(["datasets", "add", str(path), "--store", str(store), "--name", "small"]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (record["name"], record["n_rows"], record["streamed"]) == ("small", 9, True)
    assert main(["datasets", "add", str(path), "--store", str(store)]) == 0
    again = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (again["dataset_id"], again["name"]) == (record["dataset_id"], "small")
    assert main(["datasets", "--store", str(store)]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["dataset_id"] for r in listed] == [record["dataset_id"]]
    mapped = streamed.open_corpus(RunStore(store), record["dataset_id"])
    assert len(mapped.corpus) == 9
    path.write_text(path.read_text() + "one more row,pets\n")
    with pytest.raises(StoreError, match="changed since it was added"):
        streamed.open_corpus(RunStore(store), record["dataset_id"])
    assert main(["datasets", "add", str(tmp_path / "missing.csv"), "--store", str(store)]) == 2
    assert "is not a file" in capsys.readouterr().err


@pytest.mark.parametrize("field, value", [("batch_size", 0), ("max_classes", 1),
                                          ("text_column", " "), ("max_text_tokens", 0)])
def test_stream_config_names_the_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        StreamConfig(**{field: value})


def test_split_config_names_the_bad_field():
    with pytest.raises(ValueError, match="val_fraction"):
        SplitConfig(val_fraction=0.9)
