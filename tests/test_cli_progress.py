"""The CLI's training progress (core.cli.common.ProgressBar): a tqdm bar per epoch on the
given stream, one whole line per epoch's validation scores, the start and early stop said."""
from __future__ import annotations

import io

from core.cli.common import ProgressBar
from core.training.trainer import TrainEvent


def test_progress_draws_a_bar_per_epoch_and_a_line_per_validation():
    out = io.StringIO()
    bar = ProgressBar(out)
    bar(TrainEvent("start", "r1", 0, 0, {"n_train": 9, "n_val": 3, "vocab_size": 20}))
    for epoch in (1, 2):
        for b in (1, 2, 3):
            bar(TrainEvent("batch", "r1", epoch, b, {"loss": 0.5, "batch": b, "n_batches": 3}))
        bar(TrainEvent("epoch", "r1", epoch, 3, {"val_accuracy": 0.75, "val_loss": 0.4}))
    bar(TrainEvent("end", "r1", 2, 6, {"stopped_early": True, "best_epoch": 1}))
    text = out.getvalue()
    lines = [line.split("\r")[-1] for line in text.split("\n")]
    assert lines[0] == "run r1: 9 train / 3 val, vocab 20"
    assert lines[1:3] == ["epoch 1 val_acc 0.7500 val_loss 0.4000",
                          "epoch 2 val_acc 0.7500 val_loss 0.4000"]
    assert lines[3].startswith("stopped early after epoch 2")
    assert "epoch 2:" in text and "/3 [" in text and "batch" in text  # tqdm's bar was drawn
