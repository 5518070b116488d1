"""Training from a streamed data set: batches come from the memory-mapped corpus, so the
run learns, and a run on 6x the rows does not hold their tokens (peak RSS of a fresh
process grows by less than the extra tokens would take as int64 ids)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import DataError
from core.store import streamed
from core.store.runstore import RunStore
from core.training.config import TrainConfig
from core.training.mapped_prep import MappedTexts, prepare_mapped, train_streamed

REPO = Path(__file__).resolve().parents[1]
WORDS = np.array([f"w{i}x" for i in range(3000)], dtype=object)


def _parquet(path: Path, n_rows: int, seed: int = 0) -> Path:
    """``n_rows`` 12-word texts in 3 classes, each class favouring its own third of the words."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    with pq.ParquetWriter(path, pa.schema([("text", pa.string()), ("label", pa.string())])) as w:
        for start in range(0, n_rows, 50_000):
            n = min(50_000, n_rows - start)
            labels = rng.integers(0, 3, n)
            own = labels[:, None] * 1000 + rng.integers(0, 1000, (n, 12))
            picks = np.where(rng.random((n, 12)) < 0.5, own, rng.integers(0, 3000, (n, 12)))
            w.write_table(pa.table({"text": [" ".join(p) for p in WORDS[picks]],
                                    "label": [f"c{x}" for x in labels]}),
                          row_group_size=50_000)
    return path


def test_a_streamed_data_set_trains_and_learns(tmp_path):
    store = RunStore(tmp_path / "runs")
    record = streamed.add(store, _parquet(tmp_path / "t.parquet", 3000))
    config = TrainConfig(epochs=3, dim=16, batch_size=64, doc_sample=40)
    summary = train_streamed(store, record.dataset_id, config)
    assert summary.status == "done" and summary.snapshots == 4
    assert summary.n_train + summary.n_val == 3000
    assert summary.val_accuracy[-1] > 0.8  # chance is 1/3
    run = store.get_run(summary.run_id)
    assert store.load_frame(run.run_id, "docs")["text"].str.count(" ").eq(11).all()
    assert not list((tmp_path / "runs").rglob("rows-*"))  # the run's row-id files are gone


def test_cli_trains_a_registered_file_or_id_from_its_mapped_corpus(tmp_path, capsys):
    from core.cli import main

    path = _parquet(tmp_path / "t.parquet", 1000)
    store = tmp_path / "store"
    assert main(["datasets", "add", str(path), "--store", str(store)]) == 0
    dataset_id = json.loads(capsys.readouterr().out.splitlines()[-1])["dataset_id"]
    for ref in (str(path), dataset_id):
        assert main(["train", ref, "--store", str(store), "--quiet", "--epochs", "1",
                     "--dim", "8"]) == 0
        summary = json.loads(capsys.readouterr().out.splitlines()[-1])
        assert summary["status"] == "done"
        run = RunStore(store).get_run(summary["run_id"])
        assert run.fingerprint == dataset_id  # trained from the streamed set, not the file
    assert main(["train", str(path), "--store", str(store), "--init", "glove"]) == 2
    assert "random init only" in capsys.readouterr().err


def test_gather_reads_the_rows_asked_in_their_order(tmp_path):
    store = RunStore(tmp_path / "runs")
    record = streamed.add(store, _parquet(tmp_path / "t.parquet", 2000))
    mapped = streamed.open_corpus(store, record.dataset_id)
    prep = prepare_mapped(mapped, TrainConfig(max_len=5), tmp_path / "work")
    vocab_rows = mapped.vocab()[1]
    rows = np.array([1999, 3, 1500, 4, 0])
    ids, offsets = MappedTexts(prep.folder, 8).gather(torch.from_numpy(rows))
    c = mapped.corpus
    expected = [vocab_rows[c.ids[c.offsets[r]: c.offsets[r] + 5]] for r in rows]
    assert ids.tolist() == np.concatenate(expected).tolist()
    assert offsets.tolist() == [0, 5, 10, 15, 20]
    prep.close()


def test_only_the_bag_from_random_init(tmp_path):
    store = RunStore(tmp_path / "runs")
    record = streamed.add(store, _parquet(tmp_path / "t.parquet", 500))
    with pytest.raises(DataError, match="init"):
        train_streamed(store, record.dataset_id, TrainConfig(init="glove"))


# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forked parent (pytest's
# own size), which would hide the child's peak.
_PEAK = """
import json, sys
from core.store.runstore import RunStore
from core.training.config import TrainConfig
from core.training.mapped_prep import train_streamed
summary = train_streamed(RunStore(sys.argv[1]), sys.argv[2],
                         TrainConfig(epochs=1, dim=16, doc_sample=50))
hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
print(json.dumps([summary.status, hwm]))
"""


def _peak(store: Path, dataset_id: str) -> int:
    done = subprocess.run([sys.executable, "-c", _PEAK, str(store), dataset_id], cwd=REPO,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    status, peak = json.loads(done.stdout.splitlines()[-1])
    assert status == "done"
    return peak


def test_peak_memory_of_training_grows_less_than_the_tokens(tmp_path):
    """6x the rows: the peak RSS of training grows by less than 16 bytes per extra token.
    The in-memory path holds every token's row id as int64 in ``prepare`` and again in the
    bag's input, plus the epoch's gathered copy (~22 bytes a token); what the streamed run
    keeps per row (split, labels, lengths: ~100 bytes a row of 12 tokens) stays below."""
    store = RunStore(tmp_path / "runs")
    small = streamed.add(store, _parquet(tmp_path / "small.parquet", 50_000))
    large = streamed.add(store, _parquet(tmp_path / "large.parquet", 300_000, seed=1))
    growth = _peak(store.root, large.dataset_id) - _peak(store.root, small.dataset_id)
    extra_tokens = large.n_tokens - small.n_tokens
    assert extra_tokens == 250_000 * 12
    assert growth < 16 * extra_tokens, (f"peak RSS grew {growth / 2**20:.1f} MB for "
                                       f"{extra_tokens:,} more tokens")
