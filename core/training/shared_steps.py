"""One optimisation step of a run trained by several processes (``core.training.distributed``):
each rank computes the gradients of its part of the global batch, scaled to the global
batch's mean, the ranks sum them, and every rank applies the same step, so N processes take
the step one process takes on the whole batch (up to the order of float additions).

Everything a step exchanges travels in one flat buffer and one all-reduce: the gradients,
a mark per table row the rank's texts hold (their sum says which rows the global batch
touched: the lazy Adam moves exactly those), the rank's share of the loss and rank 0's
cancel flag. The table's gradient is exchanged dense (rows x dim): on a 20,000 x 50 table
4 MB a step, 3.5-4.4 ms through gloo on loopback, against 4.0-4.3 ms for an all_gather of
each rank's touched rows (3,000 a rank; bench/bench_row_exchange.py, under load): no gain
at these sizes for two more collectives. The dense exchange grows with the table, the
sparse one with the batch: for tables far larger than clickbait's the sparse one would win.
"""
from __future__ import annotations

import torch

from core.errors import CancelledError
from core.training.bag import bag_grads
from core.training.model import PAD


def _exchange(group, parts: list[torch.Tensor], loss_share: float, stop: bool
              ) -> tuple[list[torch.Tensor], float]:
    """``parts`` summed over the ranks (new tensors of the same shapes) and the global loss;
    CancelledError on every rank when rank 0 was asked to stop."""
    flat = torch.cat([p.reshape(-1) for p in parts]
                     + [torch.tensor([loss_share, 1.0 if stop else 0.0])])
    group.sum_(flat)
    if flat[-1] > 0:
        raise CancelledError("Training was cancelled.")
    out, at = [], 0
    for p in parts:
        out.append(flat[at:at + p.numel()].view(p.shape))
        at += p.numel()
    return out, float(flat[-2])


@torch.no_grad()
def shared_bag_update(trainer, group, epoch_input, lo: int, hi: int, stop: bool
                      ) -> torch.Tensor:
    """The bag's step on the global batch lo..hi-1 of the epoch (``bag.bag_update`` on
    several processes); returns the global batch's loss."""
    model, adam = trainer.model, trainer.adam
    table, out = model.embedding.weight, model.out
    a, b = group.shard(lo, hi)
    trains_table = table.requires_grad
    dense = torch.zeros(table.shape[0], table.shape[1] + 1) if trains_table else torch.zeros(0)
    weight, bias, loss_share = torch.zeros_like(out.weight), torch.zeros_like(out.bias), 0.0
    if b > a:
        grads = bag_grads(model, trainer.distinct, *epoch_input.batch(a, b), n_total=hi - lo)
        if trains_table:
            dense[grads.used, :-1] = grads.rows
            dense[grads.used, -1] = 1.0
        weight, bias = grads.weight, grads.bias
        loss_share = float(grads.loss) * (b - a) / (hi - lo)
    (dense, weight, bias), loss = _exchange(group, [dense, weight, bias], loss_share, stop)
    adam.tick()
    if trains_table:
        rows = dense[:, -1].nonzero().squeeze(1)
        adam.step_rows(table, rows, table.index_select(0, rows), dense[rows, :-1])
        trainer.updates[rows] += 1
    adam.step_dense(out.weight, weight)
    adam.step_dense(out.bias, bias)
    return torch.tensor(loss)


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
    grads = [torch.zeros_like(p) if p.grad is None else
             p.grad.to_dense() if p.grad.is_sparse else p.grad for p in params]
    summed, total = _exchange(group, grads + [mark], loss_share, stop)
    mark = summed.pop()
    with torch.no_grad():
        touched = mark.nonzero().squeeze(1)
        for p, g in zip(params, summed):
            p.grad = (torch.sparse_coo_tensor(touched.unsqueeze(0), g[touched], p.shape,
                                              check_invariants=False, is_coalesced=True)
                      if p is emb else g)
        for opt in trainer.optimizers:
            opt.step()
        trainer.updates[touched] += 1
    return torch.tensor(total)
