"""The pieces of a training loop that are not the loop: the model built from the prepared
data, cnn/gru's optimisers and padded input, the intra-op thread count during training."""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

from core.training.config import ModelConfig, TrainConfig
from core.training.model import EmbeddingClassifier
from core.training.preparation import Prepared


@contextmanager
def threads(n: int | None):
    """Run with ``n`` intra-op threads (None: leave as is), then restore the previous count."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def padded(flat: np.ndarray, lengths: np.ndarray) -> torch.Tensor:
    """The texts as a (texts x longest) table, 0 (padding) after each text's ids."""
    table = np.zeros((len(lengths), max(int(lengths.max()), 1)), dtype=np.int64)
    text_of = np.repeat(np.arange(len(lengths)), lengths)
    table[text_of, np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)] = flat
    return torch.from_numpy(table)


def optimizers(model: EmbeddingClassifier, lr: float) -> list[torch.optim.Optimizer]:
    # The sparse embedding gradient needs SparseAdam; everything else uses plain Adam.
    emb = [p for p in model.embedding.parameters() if p.requires_grad]
    rest = [p for n, p in model.named_parameters() if not n.startswith("embedding.")]
    opts: list[torch.optim.Optimizer] = [torch.optim.Adam(rest, lr=lr)]
    if emb:
        opts.append(torch.optim.SparseAdam(emb, lr=lr))
    return opts


def build_model(prep: Prepared, config: TrainConfig, n_classes: int) -> EmbeddingClassifier:
    mconf = ModelConfig(arch=config.arch, vocab_size=len(prep.vocab), dim=prep.weights.shape[1],
                        n_classes=n_classes, hidden=config.hidden)
    return EmbeddingClassifier(mconf, prep.weights, freeze=config.freeze)
