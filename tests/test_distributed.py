"""One run on several processes (core.training.distributed): the summed gradients give the
1-process step (in memory and streamed), the CLI's 2-process run matches the 1-process run,
a failing rank fails the run with its message and a cancel stops every rank. Generated data
(two classes told apart by a few cue words among filler words): small enough for a few
seconds a run, and not trivially separable after one step, so a wrong gradient shows in the
tables."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import REPO

from core.data.loading import Dataset
from core.store.runstore import RunStore
from core.training import distributed
from core.training.config import DistributedConfig, TrainConfig
from core.training.trainer import train_run

TWO = DistributedConfig(processes=2, timeout=120)  # a hang would end at the timeout


def _texts(n: int = 600, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    cues = {"pos": ["good", "great", "fine", "nice"], "neg": ["bad", "awful", "poor", "sad"]}
    filler = [f"w{i}" for i in range(80)]
    texts, labels = [], []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = list(rng.choice(filler, 6)) + list(rng.choice(cues[label], 1))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def generated():
    return Dataset.from_lists(*_texts())


def _two_processes(dataset, config, store, **kw):
    with distributed.spawned(TWO, target=kw.pop("target", None)) as group:
        return train_run(dataset, config, store, group=group, **kw)


@pytest.mark.parametrize("arch", ["bag", "cnn"])
def test_one_update_on_two_processes_equals_the_one_process_update(generated, tmp_path, arch):
    """One update on the whole training set (batch >= rows): the summed shares must give
    the table one process computes (ranks that each step on their own half, without the
    all-reduce, end ~0.04 away: measured)."""
    config = TrainConfig(arch=arch, epochs=1, batch_size=4096, dim=8, hidden=8, doc_sample=10,
                         early_stopping=False)
    one, two = RunStore(tmp_path / "one"), RunStore(tmp_path / "two")
    r1 = train_run(generated, config, one)
    r2 = _two_processes(generated, config, two)
    assert r1.status == r2.status == "done"
    start = one.load_snapshot(r1.run_id, 0)
    a, b = one.load_snapshot(r1.run_id, 1), two.load_snapshot(r2.run_id, 1)
    assert np.abs(a - start).max() > 1e-3  # the update moved the table
    np.testing.assert_allclose(b, a, atol=1e-6, rtol=0)
    np.testing.assert_allclose(two.load_array(r2.run_id, "snapshots/out_0001"),
                               one.load_array(r1.run_id, "snapshots/out_0001"), atol=1e-6)


def test_a_streamed_data_set_on_two_processes_takes_the_one_process_update(tmp_path):
    """Rank 1 reads the same memory-mapped row-id file rank 0 prepared (the path travels
    in the shared preparation): one update equals 1 process's."""
    from core.store import streamed
    from core.training.mapped_prep import train_streamed

    data = tmp_path / "texts.csv"
    data.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in zip(*_texts())))
    store = RunStore(tmp_path / "store")
    dataset_id = streamed.add(store, data).dataset_id
    config = TrainConfig(epochs=1, batch_size=4096, dim=8, doc_sample=10, early_stopping=False)
    r1 = train_streamed(store, dataset_id, config)
    with distributed.spawned(TWO) as group:
        r2 = train_streamed(store, dataset_id, config, group=group)
    assert r1.status == r2.status == "done"
    a, b = store.load_snapshot(r1.run_id, 1), store.load_snapshot(r2.run_id, 1)
    assert np.abs(a - store.load_snapshot(r1.run_id, 0)).max() > 1e-3
    np.testing.assert_allclose(b, a, atol=1e-6, rtol=0)


def test_a_two_process_cli_run_matches_the_one_process_run(generated, tmp_path):
    """Through ``python -m core train --processes 2``: the same snapshots (every epoch and
    every 5 steps) at the same steps, one run in the store, and a validation accuracy
    within noise of 1 process's. The steps are the same up to float rounding, so "noise"
    is that rounding: 1 validation row in 120 (0.0084) either way is allowed."""
    texts, labels = _texts()
    data = tmp_path / "texts.csv"
    data.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in zip(texts, labels)))
    args = ["--epochs", "3", "--batch-size", "48", "--dim", "8", "--snapshot-every", "5",
            "--no-early-stopping"]
    res = subprocess.run([sys.executable, "-m", "core", "train", str(data), "--store",
                          str(tmp_path / "two"), "--processes", "2", "--quiet", *args],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    two = RunStore(tmp_path / "two")
    (run2,) = two.list_runs()
    config = TrainConfig(epochs=3, batch_size=48, dim=8, snapshot_every=5,
                         early_stopping=False)
    one = RunStore(tmp_path / "one")
    run1 = one.get_run(train_run(generated, config, one).run_id)
    assert run2.status == "done"
    assert [(s["epoch"], s["step"]) for s in run2.snapshots] == [
        (s["epoch"], s["step"]) for s in run1.snapshots]
    assert len(run2.snapshots) > 4  # step snapshots as well as the epochs'
    acc1, acc2 = run1.epochs[-1]["val_accuracy"], run2.epochs[-1]["val_accuracy"]
    assert acc1 > 0.7  # it learned something, so equal accuracies mean something
    assert abs(acc2 - acc1) <= 1 / 120 + 1e-9


@pytest.mark.parametrize("extra, message", [
    (["--processes", "0"], "processes must be"),
    (["--processes", "2", "--objective", "skipgram"], "several processes train the classifier"),
    pytest.param(["--device", "cuda"], "device: 'cuda'", marks=pytest.mark.skipif(
        torch.cuda.is_available(), reason="this host has CUDA")),
], ids=["no-processes", "word2vec", "no-cuda"])
def test_bad_distributed_options_exit_2_with_one_line(tmp_path, capsys, extra, message):
    from core.cli import main

    data = tmp_path / "texts.csv"
    data.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in zip(*_texts(40))))
    assert main(["train", str(data), "--store", str(tmp_path / "runs"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def broken_rank(group) -> None:
    """A rank 1 that receives the run and then fails (a spawn child imports this module)."""
    group.share()
    raise ValueError("rank one could not read its shard")


def test_a_rank_that_raises_ends_the_run_failed_with_its_message(generated, tmp_path):
    store = RunStore(tmp_path)
    config = TrainConfig(epochs=2, batch_size=64, dim=8, doc_sample=10)
    with pytest.raises(distributed.RankFailed, match="rank 1: ValueError: rank one could not"):
        _two_processes(generated, config, store, target=broken_rank)
    (run,) = store.list_runs()
    assert run.status == "failed"
    assert run.error == ("RankFailed: rank 1: ValueError: rank one could not read its shard")


def test_a_cancel_on_rank_0_stops_every_rank(generated, tmp_path):
    store = RunStore(tmp_path)
    config = TrainConfig(epochs=5, batch_size=16, dim=8, doc_sample=10)
    polls = []

    def stop_at_third_batch() -> bool:
        polls.append(1)
        return len(polls) >= 3

    summary = _two_processes(generated, config, store, should_stop=stop_at_third_batch)
    assert summary.status == "cancelled"
    assert summary.train_loss == []  # stopped inside the first epoch
