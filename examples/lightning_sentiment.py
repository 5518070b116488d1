"""Watch a PyTorch Lightning model's nn.EmbeddingBag learn, in Embedding Explorer.

A bag-of-words sentiment LightningModule on the bundled sample; one line,
``Trainer(callbacks=[EmbeddingExplorerCallback(vocabulary)])``, tracks its embedding: a
snapshot at the start and after each epoch with the validation numbers Lightning logged, and
which rows each step updated (``batch_ids``). Needs the optional extra:
``pip install -r requirements-lightning.txt``.

    python examples/lightning_sentiment.py --store runs --epochs 8
    make run        # then open the Evolution page
"""
from __future__ import annotations

import argparse
import json
import os

import _sample  # the bundled sample as token ids; puts the repo on sys.path
import lightning.pytorch as pl
import torch
from torch import nn

from core.track import EmbeddingExplorerCallback


class BagClassifier(pl.LightningModule):
    def __init__(self, vocab_size: int, dim: int, n_classes: int) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, dim, mode="mean", padding_idx=0)
        self.out = nn.Linear(dim, n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.embedding(ids))

    def training_step(self, batch, batch_idx):
        ids, labels = batch
        loss = nn.functional.cross_entropy(self(ids), labels)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        ids, labels = batch
        logits = self(ids)
        self.log("val_loss", nn.functional.cross_entropy(logits, labels))
        self.log("val_accuracy", (logits.argmax(1) == labels).float().mean())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=0.02)


def loader(data: _sample.Sample, rows, shuffle: bool) -> torch.utils.data.DataLoader:
    ids, labels = torch.from_numpy(data.ids[rows]), torch.from_numpy(data.labels[rows])
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(ids, labels),
                                       batch_size=32, shuffle=shuffle)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--store", default=os.environ.get("EXPLORER_STORE", "runs"))
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--dim", type=int, default=16)
    args = p.parse_args()
    pl.seed_everything(0, verbose=False)
    data = _sample.load()
    model = BagClassifier(len(data.vocabulary), args.dim, len(data.classes))
    explorer = EmbeddingExplorerCallback(
        data.vocabulary, embedding="embedding", store=args.store,
        name="lightning bag (sample)", batch_ids=lambda batch: batch[0],
        counts=data.counts, class_counts=data.class_counts, classes=data.classes,
        config={"lr": 0.02, "batch_size": 32})
    trainer = pl.Trainer(max_epochs=args.epochs, callbacks=[explorer], logger=False,
                         accelerator="cpu", enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         num_sanity_val_steps=0)
    trainer.fit(model, loader(data, data.train, True), loader(data, data.val, False))
    print(json.dumps({"run_id": explorer.run_id, "snapshots": explorer.tracker.run.n_snapshots,
                      "store": args.store}))


if __name__ == "__main__":
    main()
