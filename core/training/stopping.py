"""Early stopping and the snapshot schedule: which epoch is the best so far, how long since
the validation loss last improved, and whether an epoch's end is snapshotted."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.training.config import TrainConfig


@dataclass
class Best:
    """Early stopping's bookkeeping. ``epoch`` is the epoch with the lowest validation loss
    so far (ties: the earlier); ``waited`` counts epochs since the loss last improved by more
    than ``min_delta`` on ``last_improved_loss``, the loss of the epoch that last did so (it
    differs from ``loss`` only when min_delta > 0)."""

    min_delta: float
    epoch: int = 0
    step: int = 0
    loss: float = math.inf
    accuracy: float = math.nan
    predictions: np.ndarray | None = None
    last_improved_loss: float = math.inf
    waited: int = 0

    def record_epoch(self, epoch: int, step: int, loss: float, accuracy: float,
                     predictions: np.ndarray) -> bool:
        """Record an epoch's validation result; True when it is the new best."""
        if loss < self.last_improved_loss - self.min_delta:
            self.last_improved_loss, self.waited = loss, 0
        else:
            self.waited += 1
        if not loss < self.loss:  # NaN never becomes the best
            return False
        self.epoch, self.step, self.loss, self.accuracy = epoch, step, loss, accuracy
        self.predictions = predictions
        return True


def snapshot_due(config: TrainConfig, epoch: int, step: int, last: bool) -> bool:
    """Whether the end of ``epoch`` is snapshotted (``last``: training ends after it)."""
    if config.snapshot_every and step % config.snapshot_every == 0:
        return False  # the step snapshot was just taken
    return config.snapshots == "all" or last
