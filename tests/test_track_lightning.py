"""Lightning, in-process: the callback tracks a LightningModule's embedding with the
validation metrics, a cancel from the store ends fit cleanly, a failure marks the run failed
while the process lives (as the dashboard's store reader sees it); the example trains on the
bundled sample."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from core.errors import DataError
from core.store.runstore import RunStore
from tests.conftest import REPO, TEN_WORDS

pl = pytest.importorskip("lightning.pytorch")
from core.track import EmbeddingExplorerCallback  # noqa: E402  (needs lightning)

WORDS = ["<pad>", "<unk>"] + TEN_WORDS


class Bag(pl.LightningModule):
    def __init__(self, fail_in_epoch: int | None = None, rows: int = len(WORDS)) -> None:
        super().__init__()
        self.embedding = torch.nn.EmbeddingBag(rows, 4, mode="mean", padding_idx=0)
        self.out = torch.nn.Linear(4, 2)
        self.fail_in_epoch = fail_in_epoch

    def forward(self, ids):
        return self.out(self.embedding(ids))

    def training_step(self, batch, batch_idx):
        if self.current_epoch + 1 == self.fail_in_epoch:
            raise FloatingPointError("loss is NaN\nsecond line")
        ids, y = batch
        loss = torch.nn.functional.cross_entropy(self(ids), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch, batch_idx):
        ids, y = batch
        logits = self(ids)
        self.log("val_loss", torch.nn.functional.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=0.05)


def _loader():
    rng = np.random.default_rng(0)
    ids = torch.from_numpy(rng.integers(1, len(WORDS), size=(40, 3)))
    y = torch.from_numpy(rng.integers(0, 2, size=40))
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(ids, y), batch_size=10)


def _trainer(callbacks, epochs: int = 3) -> pl.Trainer:
    return pl.Trainer(max_epochs=epochs, callbacks=callbacks, logger=False, accelerator="cpu",
                      enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, num_sanity_val_steps=0)


def test_lightning_run_has_validation_metrics_and_update_counts(store):
    explorer = EmbeddingExplorerCallback(WORDS, store=store.root, name="lit",
                                         batch_ids=lambda batch: batch[0])
    _trainer([explorer]).fit(Bag(), _loader(), _loader())
    run = RunStore(store.root).get_run(explorer.run_id)
    assert run.status == "done" and run.config["source"] == "lightning"
    assert [s["epoch"] for s in run.snapshots] == [0, 1, 2, 3]
    assert all(0 <= e["val_accuracy"] <= 1 and "val_loss" in e and "train_loss" in e
               for e in run.epochs)
    assert store.load_array(run.run_id, "snapshots/updates_0001")[0] == 0  # padding row


def test_lightning_failure_marks_the_run_failed_while_the_process_lives(store):
    explorer = EmbeddingExplorerCallback(WORDS, store=store.root)
    with pytest.raises(FloatingPointError):
        _trainer([explorer]).fit(Bag(fail_in_epoch=2), _loader(), _loader())
    seen = {r.run_id: r for r in RunStore(store.root).list_runs()}[explorer.run_id]
    assert seen.status == "failed" and seen.error == "FloatingPointError: loss is NaN"
    assert not store.writer_alive(explorer.run_id)


def test_lightning_cancel_from_the_store_ends_fit_cleanly(store, monkeypatch):
    from core.track.run import TrackedRun

    monkeypatch.setattr(TrackedRun, "POLL_SECONDS", 0.0)
    explorer = EmbeddingExplorerCallback(WORDS, store=store.root)

    class CancelAfter(pl.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if trainer.global_step == 6:  # in the second epoch
                store.request_cancel(explorer.run_id)

    trainer = _trainer([CancelAfter(), explorer], epochs=5)
    trainer.fit(Bag(), _loader(), _loader())  # returns: no exception
    run = store.get_run(explorer.run_id)
    assert run.status == "cancelled" and run.error is None and trainer.current_epoch < 5
    assert [s["epoch"] for s in run.snapshots] == [0, 1]


def test_lightning_names_the_embeddings_when_none_fits(store):
    explorer = EmbeddingExplorerCallback(WORDS[:-1], store=store.root)
    with pytest.raises(DataError, match=r"no embeddings have 11 rows.*'embedding' \(12 x 4\)"):
        _trainer([explorer]).fit(Bag(), _loader(), _loader())
    assert store.list_runs() == []


@pytest.mark.slow
def test_lightning_example_trains_on_the_bundled_sample(tmp_path):
    env = {**os.environ, "EXPLORER_WARM_UP": "0"}
    res = subprocess.run([sys.executable, "examples/lightning_sentiment.py", "--store",
                          str(tmp_path / "runs"), "--epochs", "3"], cwd=REPO,
                         capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    run = RunStore(tmp_path / "runs").get_run(out["run_id"])
    assert run.status == "done" and run.n_snapshots == 4 and len(run.epochs) == 3
    assert {"val_accuracy", "val_loss", "train_loss"} <= set(run.epochs[-1])
    assert run.epochs[-1]["train_loss"] < run.epochs[0]["train_loss"]  # it learns
    assert run.info["counts_known"] and run.info["classes"] == ["negative", "positive"]
    assert run.config["lr"] == 0.02 and run.config["module"] == "EmbeddingBag"
    updates = RunStore(tmp_path / "runs").load_array(run.run_id, "snapshots/updates_0001")
    assert updates[0] == 0 and updates.max() > 0  # padding never updated, words are
