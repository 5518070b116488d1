"""Watch a plain PyTorch training loop's nn.EmbeddingBag learn, in Embedding Explorer.

A bag-of-words sentiment classifier on the bundled sample, trained by an ordinary loop; the
``EmbeddingTracker`` snapshots the table at the start, every ``--every`` steps and at each
epoch's end, and counts which rows each step updated (it is given the batch's ids). If the
loop raises, the run is marked failed.

    python examples/pytorch_loop.py --store runs --epochs 8
    make run        # then open the Evolution page
"""
from __future__ import annotations

import argparse
import json
import os
import time

import _sample  # the bundled sample as token ids; puts the repo on sys.path
import torch
from torch import nn

from core.track import EmbeddingTracker


class Bag(nn.Module):
    def __init__(self, vocab_size: int, dim: int, n_classes: int) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, dim, mode="mean", padding_idx=0)
        self.out = nn.Linear(dim, n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(self.embedding(ids))  # 2-D ids: one bag per row, padding ignored


def accuracy(model: Bag, ids: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    with torch.no_grad():
        logits = model(ids)
        loss = nn.functional.cross_entropy(logits, labels)
        return float((logits.argmax(1) == labels).float().mean()), float(loss)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--store", default=os.environ.get("EXPLORER_STORE", "runs"))
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--every", type=int, default=None, help="also snapshot every N steps")
    p.add_argument("--pause", type=float, default=0.0, help="seconds to wait after each epoch")
    args = p.parse_args()
    torch.manual_seed(0)
    data = _sample.load()
    ids, labels = torch.from_numpy(data.ids), torch.from_numpy(data.labels)
    train, val = torch.from_numpy(data.train), torch.from_numpy(data.val)
    model = Bag(len(data.vocabulary), args.dim, len(data.classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    tracker = EmbeddingTracker(model.embedding, vocabulary=data.vocabulary, store=args.store,
                               every=args.every, epochs=args.epochs,
                               name="pytorch bag (sample)", counts=data.counts)
    with tracker:  # an exception inside marks the run failed
        for _ in range(args.epochs):
            for batch in train[torch.randperm(len(train))].split(32):
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(model(ids[batch]), labels[batch])
                loss.backward()
                optimizer.step()
                tracker.step(ids[batch])  # the ids let it count which rows were updated
            val_acc, val_loss = accuracy(model, ids[val], labels[val])
            tracker.epoch_end({"train_loss": loss.item(), "val_loss": val_loss,
                               "val_accuracy": val_acc})
            time.sleep(args.pause)
    print(json.dumps({"run_id": tracker.run_id, "snapshots": tracker.run.n_snapshots,
                      "store": args.store}))


if __name__ == "__main__":
    main()
