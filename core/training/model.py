"""The classifier whose first layer is an embedding layer.

Every architecture is ``embedding -> pool -> linear``. ``pool`` is "the layer after the
embedding": its output is the document vector the Documents view shows.
- ``bag``: mean of the word vectors (``EmbeddingBag``), so the document vector lives in the
  same space as the words and the output layer's weights are directions in that space.
- ``cnn``: 1-D convolution over the word vectors, ReLU, max-pool over time.
- ``gru``: a small bidirectional GRU; the two final hidden states concatenated.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from core.training.config import ModelConfig

PAD = 0


class EmbeddingClassifier(nn.Module):
    """``embedding`` (the lookup table) -> ``pool`` (document vector) -> ``out`` (logits).

    Batches are padded ``LongTensor``s of shape (batch, length) with 0 as padding. The bag
    also takes the flat form ``EmbeddingBag`` knows: 1-D ids plus ``offsets`` (start of each
    text), which skips the padding work.
    """

    def __init__(self, config: ModelConfig, weights: np.ndarray | None = None,
                 freeze: bool = False, sparse: bool = True) -> None:
        super().__init__()
        self.config = config
        # Sparse gradients: each step only touches the rows of the words in the batch,
        # which is what makes a 20k x 50 table cheap to train on 2 cores.
        if config.arch == "bag":
            self.embedding = nn.EmbeddingBag(config.vocab_size, config.dim, mode="mean",
                                             padding_idx=PAD, sparse=sparse)
            pooled = config.dim
        else:
            self.embedding = nn.Embedding(config.vocab_size, config.dim, padding_idx=PAD,
                                          sparse=sparse)
            pooled = config.hidden if config.arch == "cnn" else 2 * config.hidden
        if config.arch == "cnn":
            self.conv = nn.Conv1d(config.dim, config.hidden, config.kernel_size,
                                  padding=config.kernel_size // 2)
        if config.arch == "gru":
            self.gru = nn.GRU(config.dim, config.hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(pooled, config.n_classes)
        if weights is not None:
            self.set_embedding(weights)
        self.embedding.weight.requires_grad_(not freeze)

    @property
    def pooled_dim(self) -> int:
        return self.out.in_features

    def set_embedding(self, weights: np.ndarray) -> None:
        expected = (self.config.vocab_size, self.config.dim)
        if weights.shape != expected:
            raise ValueError(f"embedding weights must have shape {expected}, got {weights.shape}")
        with torch.no_grad():
            self.embedding.weight.copy_(torch.from_numpy(np.asarray(weights, dtype=np.float32)))

    def embedding_matrix(self) -> np.ndarray:
        """A copy of the lookup table; without the copy the array would alias live weights."""
        return self.embedding.weight.detach().cpu().numpy().copy()

    def pool(self, ids: torch.Tensor, offsets: torch.Tensor | None = None) -> torch.Tensor:
        """Document vectors: the output of the layer after the embedding."""
        if self.config.arch == "bag":
            return self.embedding(ids, offsets)
        if offsets is not None:
            raise ValueError(f"offsets (flat input) work with arch 'bag' only, not "
                             f"{self.config.arch!r}")
        mask = ids != PAD
        vectors = self.embedding(ids)
        if self.config.arch == "cnn":
            feats = torch.relu(self.conv(vectors.transpose(1, 2))).transpose(1, 2)
            feats = feats.masked_fill(~mask.unsqueeze(-1), float("-inf"))
            pooled = feats.max(dim=1).values
            return torch.where(torch.isinf(pooled), torch.zeros_like(pooled), pooled)
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(vectors, lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, hidden = self.gru(packed)
        return torch.cat([hidden[0], hidden[1]], dim=1)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.pool(ids, offsets))
