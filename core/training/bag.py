"""The bag's own step: its flat input, the batch's distinct rows, the mean's gradient and a
lazy Adam, written out instead of autograd + ``torch.optim`` (why: ``BagAdam``, ``bag_update``).
cnn/gru train through ``torch.optim`` in the loop (``trainer.py``)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch.nn import functional as F

from core.training.adam import adam_


class FlatTexts:
    """All texts as one 1-D id tensor (the input ``EmbeddingBag`` takes without padding)."""

    def __init__(self, flat: np.ndarray, lengths: np.ndarray) -> None:
        self.lens = torch.from_numpy(np.asarray(lengths, dtype=np.int64))
        self.ids = torch.from_numpy(np.asarray(flat, dtype=np.int64))
        self.starts = torch.cumsum(self.lens, 0) - self.lens

    def gather(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The texts ``rows``, in that order: their ids back to back and where each starts."""
        lens = self.lens[rows]
        offsets = torch.cumsum(lens, 0) - lens
        total = int(lens.sum())
        where = torch.repeat_interleave(self.starts[rows] - offsets, lens, output_size=total)
        return self.ids.index_select(0, where.add_(torch.arange(total))), offsets


class EpochInput:
    """An epoch's flat input, ``texts`` in ``order``, gathered a block at a time: the whole
    epoch for ``FlatTexts`` (one gather, then each batch is a slice), ``texts.block_rows``
    texts for a corpus read from disk (``mapped_prep.MappedTexts``)."""

    def __init__(self, texts, order: torch.Tensor, labels: torch.Tensor, n_classes: int) -> None:
        self.texts, self.order, self.all_labels, self.n_classes = texts, order, labels, n_classes
        self.block = getattr(texts, "block_rows", None) or max(len(order), 1)
        self.lo = self.hi = 0

    def _load(self, lo: int) -> None:
        self.lo, self.hi = lo, min(lo + self.block, len(self.order))
        rows = self.order[self.lo:self.hi]
        self.ids, self.offsets = self.texts.gather(rows)
        self.bounds = self.offsets.tolist() + [len(self.ids)]
        self.lengths = torch.diff(self.offsets, append=torch.tensor([len(self.ids)])
                                  ).to(torch.float32).unsqueeze(1)
        self.labels = self.all_labels[rows]
        self.onehot = F.one_hot(self.labels, self.n_classes).to(torch.float32)

    def batch(self, lo: int, hi: int) -> tuple[torch.Tensor, ...]:
        """``bag_update``'s input for the epoch's texts lo..hi-1 (never across a block)."""
        if not self.lo <= lo < self.hi:
            self._load(lo)
        a, b = lo - self.lo, hi - self.lo
        return (self.ids[self.bounds[a]:self.bounds[b]], self.offsets[a:b] - self.bounds[a],
                self.lengths[a:b], self.labels[a:b], self.onehot[a:b])


class DistinctRows:
    """A batch's distinct ids, sorted, and each id's place among them: what
    ``torch.unique(ids, return_inverse=True)`` returns, from a mark per vocabulary row
    instead of a sort (0.57 -> 0.11 ms a batch of 1,024 headlines, measured). ``mark`` then
    flags the batch's rows, which is what the update counts add."""

    def __init__(self, n_rows: int) -> None:
        self.mark = torch.zeros(n_rows, dtype=torch.bool)
        self.slot = torch.zeros(n_rows, dtype=torch.int64)

    def __call__(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.mark.zero_()
        self.mark.index_fill_(0, ids, True)
        used = self.mark.nonzero().squeeze(1)
        self.slot.index_copy_(0, used, torch.arange(len(used)))
        return used, self.slot.index_select(0, ids)


def mean_grad(inverse: torch.Tensor, offsets: torch.Tensor, d_docs: torch.Tensor,
               n_rows: int) -> torch.Tensor:
    """The gradient of the texts' means with respect to the ``n_rows`` distinct rows they
    read: row u gets ``d_docs[text]`` (already divided by the text's length) summed over the
    tokens holding u. That is (texts x rows matrix of ones, one per token)^T @ d_docs, which
    scipy's sparse product does in one pass over the tokens: 0.21 ms a batch, against 0.48
    for ``index_add_`` and ~0.9 for autograd's ``embedding_bag`` backward (which sorts the
    tokens), measured on clickbait batches of 1,024."""
    from scipy import sparse  # already imported with sklearn (the split)

    indptr = np.append(offsets.numpy(), len(inverse))
    ones = np.ones(len(inverse), dtype=np.float32)
    tokens = sparse.csr_matrix((ones, inverse.numpy(), indptr), shape=(len(offsets), n_rows))
    return torch.from_numpy(np.ascontiguousarray(tokens.T @ d_docs.numpy()))


class BagAdam:
    """Adam for the bag model, without ``torch.optim``, for two measured reasons
    (bench/README.md):

    - The table is updated lazily, as torch's ``SparseAdam`` does (rows outside the batch keep
      their moments and do not move), but from the batch's unique rows with a dense
      (rows x dim) gradient: no sparse tensor with one row per token to build, sort and mask
      at every step, which was most of an update's time.
    - The first ``torch.optim`` optimizer in a process imports ``torch._dynamo``: 3-7 s on
      these machines, in every fresh worker process - longer than the bag's whole training.

    The arithmetic is ``adam.adam_``: torch's own fused Adam kernel (``torch._fused_adam_``,
    what ``torch.optim.Adam(fused=True)`` calls) when an import-time check finds it and its
    numbers agree, else the same Adam in plain tensor operations: one pass over the rows
    instead of seven tensor operations (0.34 -> 0.13 ms a batch, measured). Moments are stored
    (2, rows, ...) so that each one of a gathered block is contiguous, as the kernel needs.
    """

    def __init__(self, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.lr, self.eps = lr, eps
        self.beta1, self.beta2 = betas
        self.moments: dict[int, torch.Tensor] = {}  # per parameter: first and second, stacked
        self.t = 0
        self.steps = torch.zeros(())  # the kernel reads the step count from a tensor

    def tick(self) -> None:
        """Start a step (the bias corrections count steps, shared by all parameters)."""
        self.t += 1
        self.steps.fill_(self.t)

    def _moments(self, param: torch.Tensor) -> torch.Tensor:
        if id(param) not in self.moments:
            self.moments[id(param)] = param.new_zeros((2,) + tuple(param.shape))
        return self.moments[id(param)]

    def _fused(self, params: list[torch.Tensor], grads: list[torch.Tensor],
               moments: list[torch.Tensor]) -> None:
        """One Adam step of ``params`` in place (each with its (2, ...) ``moments``)."""
        adam_(params, grads, [m[0] for m in moments], [m[1] for m in moments], self.t,
              self.steps, lr=self.lr, beta1=self.beta1, beta2=self.beta2, eps=self.eps)

    @torch.no_grad()
    def step_rows(self, table: torch.Tensor, rows: torch.Tensor, old: torch.Tensor,
                  grad: torch.Tensor) -> None:
        """Update the unique ``rows`` of ``table``, whose values were ``old`` (a copy, which
        is updated in place too), by ``grad``."""
        moments = self._moments(table)
        picked = moments.index_select(1, rows)
        self._fused([old], [grad.contiguous()], [picked])
        table.index_copy_(0, rows, old)
        moments.index_copy_(1, rows, picked)

    @torch.no_grad()
    def step_dense(self, param: torch.Tensor, grad: torch.Tensor | None = None) -> None:
        """Update the whole ``param`` by ``grad`` (default: its ``.grad``)."""
        grad = param.grad if grad is None else grad
        if grad is not None:
            self._fused([param], [grad], [self._moments(param)])


class BagGrads(NamedTuple):
    """One batch's gradients of the bag (``bag_grads``): ``used`` rows of the table, their
    values ``sub`` and gradient ``rows`` (None when the table is frozen), the output layer's
    ``weight`` and ``bias`` gradients, and the batch's mean ``loss``."""

    loss: torch.Tensor
    used: torch.Tensor
    sub: torch.Tensor
    rows: torch.Tensor | None
    weight: torch.Tensor
    bias: torch.Tensor


@torch.no_grad()
def bag_grads(model, distinct: DistinctRows, ids: torch.Tensor, offsets: torch.Tensor,
              lengths: torch.Tensor, labels: torch.Tensor, onehot: torch.Tensor,
              n_total: int | None = None) -> BagGrads:
    """The bag ``model``'s gradients on the texts ``ids``/``offsets`` (their ``lengths``,
    column; ``labels`` and as ``onehot`` rows), of the mean loss over ``n_total`` texts
    (default: these; a process's share of a larger batch passes the batch's size, so the
    shares' gradients add up to the batch's).

    The model is the bag's forward (mean of rows, linear, cross-entropy), computed here
    with its gradients written out: d loss/d logits = (softmax - onehot) / n, and the
    mean's gradient per distinct row (``mean_grad``). Autograd did the same at ~1.5x
    the time (it sorts the tokens in ``embedding_bag``'s backward). Flat ids never hold
    the padding index (every text has >= 1 real or <unk> id), so no padding_idx."""
    used, inverse = distinct(ids)
    table, out = model.embedding.weight, model.out
    sub = table.index_select(0, used)
    docs = F.embedding_bag(inverse, sub, offsets, mode="mean")
    log_p = F.log_softmax(F.linear(docs, out.weight, out.bias), dim=1)
    loss = F.nll_loss(log_p, labels)  # = the cross-entropy the model's loss_fn computes
    d_logits = log_p.exp_().sub_(onehot).div_(n_total or len(labels))
    rows = None
    if table.requires_grad:
        d_docs = (d_logits @ out.weight).div_(lengths)
        rows = mean_grad(inverse, offsets, d_docs, len(used))
    return BagGrads(loss, used, sub, rows, d_logits.t() @ docs, d_logits.sum(0))


@torch.no_grad()
def bag_update(model, adam: BagAdam, distinct: DistinctRows, updates: torch.Tensor,
               *batch: torch.Tensor) -> torch.Tensor:
    """One step of the bag ``model`` on a ``batch`` (``bag_grads``' texts), on a copy of
    just the rows the batch uses; adds one to ``updates`` for each distinct row the step
    moved. Returns the batch's loss."""
    grads = bag_grads(model, distinct, *batch)
    adam.tick()
    if grads.rows is not None:
        adam.step_rows(model.embedding.weight, grads.used, grads.sub, grads.rows)
        updates += distinct.mark  # once per distinct row, never padding
    adam.step_dense(model.out.weight, grads.weight)
    adam.step_dense(model.out.bias, grads.bias)
    return grads.loss
