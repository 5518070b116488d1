"""One optimisation step of a run trained by several processes (``core.training.distributed``):
each rank computes the gradients of its part of the global batch, scaled to the global
batch's mean, the ranks sum them, and every rank applies the same step, so N processes take
the step one process takes on the whole batch (up to the order of float additions).

The bag (``shared_bag_update``) gathers each rank's touched rows and their gradients and
sums them per row (the rows any rank touched are exactly the rows the 1-process lazy Adam
moves): on a 20,000 x 50 table that took 3.0-4.3 ms a step against 3.5-7.6 ms for a dense
all-reduce of the whole table gradient, as fast or faster in 6 runs of 7
(bench/bench_row_exchange.py, 2 processes, under load), and it grows with the batch rather
than with the table. cnn/gru (autograd,
``shared_autograd_update``) sum every gradient in one all-reduce of a flat buffer
(``Exchange``), with a mark per table row the rank's texts hold, the rank's share of the loss
and rank 0's cancel flag.
"""
from __future__ import annotations

import torch

from core.errors import CancelledError
from core.training.bag import bag_grads
from core.training.model import PAD


class Exchange:
    """The step's flat buffer for cnn/gru, allocated once and zeroed each step, with a view
    per part and two last slots: the rank's share of the loss and rank 0's cancel flag."""

    def __init__(self, shapes: list[tuple[int, ...]]) -> None:
        sizes = [int(torch.Size(shape).numel()) for shape in shapes]
        self.flat = torch.zeros(sum(sizes) + 2)
        pieces = self.flat.split(sizes + [2])
        self.parts = [piece.view(shape) for piece, shape in zip(pieces, shapes)]

    def zero(self) -> list[torch.Tensor]:
        """The parts, zeroed, to fill with this rank's gradients."""
        self.flat.zero_()
        return self.parts

    def sum(self, group, loss_share: float, stop: bool) -> float:
        """The parts summed over the ranks (in place); returns the global loss. Raises
        CancelledError on every rank when rank 0 was asked to stop."""
        self.flat[-2], self.flat[-1] = loss_share, 1.0 if stop else 0.0
        group.sum_(self.flat)
        if self.flat[-1] > 0:
            raise CancelledError("Training was cancelled.")
        return float(self.flat[-2])


def _exchange(trainer, shapes: list[tuple[int, ...]]) -> Exchange:
    """The trainer's ``Exchange`` (made at its first shared step)."""
    if trainer.exchange is None:
        trainer.exchange = Exchange(shapes)
    return trainer.exchange


@torch.no_grad()
def shared_bag_update(trainer, group, epoch_input, lo: int, hi: int, stop: bool
                      ) -> torch.Tensor:
    """The bag's step on the global batch lo..hi-1 of the epoch (``bag.bag_update`` on
    several processes); returns the global batch's loss. Two all_gathers: each rank's
    head (``_head``), then its touched rows, ids and gradients, which every rank sums per
    row in rank order (so every rank gets the same sums)."""
    model, adam, table = trainer.model, trainer.adam, trainer.model.embedding.weight
    a, b = group.shard(lo, hi)
    grads = (bag_grads(model, trainer.distinct, *epoch_input.batch(a, b), n_total=hi - lo)
             if b > a else None)
    heads = group.gather(_head(model, grads, (b - a) / (hi - lo), stop))
    if heads[0][1] > 0:
        raise CancelledError("Training was cancelled.")
    total = torch.stack(heads).sum(0)
    adam.tick()
    if table.requires_grad:
        rows, summed = _summed_rows(group, grads, [int(h[0]) for h in heads], table.shape[1])
        adam.step_rows(table, rows, table.index_select(0, rows), summed)
        trainer.updates[rows] += 1
    weight = model.out.weight
    adam.step_dense(weight, total[3:3 + weight.numel()].view(weight.shape))
    adam.step_dense(model.out.bias, total[3 + weight.numel():])
    return total[2].clone()


def _head(model, grads, share: float, stop: bool) -> torch.Tensor:
    """A rank's head: its touched-row count, rank 0's cancel flag, its share of the loss,
    the output layer's weight and bias gradients (all but the first two are summed)."""
    weight, bias = model.out.weight, model.out.bias
    head = torch.zeros(3 + weight.numel() + bias.numel())
    head[1] = 1.0 if stop else 0.0
    if grads is not None:
        head[0] = len(grads.used) if grads.rows is not None else 0
        head[2] = float(grads.loss) * share
        head[3:3 + weight.numel()] = grads.weight.reshape(-1)
        head[3 + weight.numel():] = grads.bias
    return head


def _summed_rows(group, grads, counts: list[int], dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows any rank touched (sorted, as ``DistinctRows`` gives them) and their summed
    gradients. Ids travel as float32 beside the gradients: exact below 2**24 rows, above
    ``ModelConfig``'s 5,000,000."""
    mine = torch.zeros(max(counts), dim + 1)
    if grads is not None and grads.rows is not None:
        mine[:len(grads.used), 0] = grads.used.to(torch.float32)
        mine[:len(grads.used), 1:] = grads.rows
    every = torch.cat([part[:n] for part, n in zip(group.gather(mine), counts)])
    rows, where = torch.unique(every[:, 0].to(torch.int64), return_inverse=True)
    return rows, torch.zeros(len(rows), dim).index_add_(0, where, every[:, 1:])


def shared_autograd_update(trainer, group, rows: torch.Tensor, stop: bool) -> torch.Tensor:
    """cnn/gru's step on the global batch ``rows`` through autograd and ``torch.optim``: each
    rank's loss is scaled by its share of the batch, the gradients summed (the embedding's
    sparse one densified, then handed back sparse on the rows the batch touched, as
    ``SparseAdam`` wants); returns the global batch's loss."""
    model = trainer.model
    for opt in trainer.optimizers:
        opt.zero_grad()
    a, b = group.shard(0, len(rows))
    emb = model.embedding.weight
    mark = torch.zeros(emb.shape[0] if emb.requires_grad else 0)
    loss_share = 0.0
    if b > a:
        batch = trainer.batch(rows[a:b])
        loss = trainer.loss_fn(model(batch), trainer.labels[rows[a:b]]) * ((b - a) / len(rows))
        loss.backward()
        loss_share = float(loss.detach())
        if emb.requires_grad:
            mark[torch.unique(batch)] = 1.0
            mark[PAD] = 0.0  # padding is never a word
    params = [p for p in model.parameters() if p.requires_grad]
    exchange = _exchange(trainer, [tuple(p.shape) for p in params] + [tuple(mark.shape)])
    *summed, mark_sum = exchange.zero()
    with torch.no_grad():
        for p, part in zip(params, summed):
            if p.grad is not None:
                part.copy_(p.grad.to_dense() if p.grad.is_sparse else p.grad)
        mark_sum.copy_(mark)
    total = exchange.sum(group, loss_share, stop)
    with torch.no_grad():
        touched = mark_sum.nonzero().squeeze(1)
        for p, g in zip(params, summed):
            p.grad = (torch.sparse_coo_tensor(touched.unsqueeze(0), g[touched], p.shape,
                                              check_invariants=False, is_coalesced=True)
                      if p is emb else g)
        for opt in trainer.optimizers:
            opt.step()
        trainer.updates[touched] += 1
    return torch.tensor(total)
