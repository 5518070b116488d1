"""The bag's optimiser: the plain Adam against torch.optim.Adam, the import-time check on the
private fused kernel (absent or wrong -> the plain path), both paths training alike, and the
bag's hand-written gradients against autograd on texts that repeat ids."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from core.training import adam
from core.training.config import TrainConfig


def test_plain_adam_matches_torch_optim_adam():
    gen = torch.Generator().manual_seed(1)
    start = [torch.randn(4, 3, generator=gen), torch.randn(3, generator=gen)]
    ref = [torch.nn.Parameter(p.clone()) for p in start]
    opt = torch.optim.Adam(ref, lr=0.05, betas=(0.8, 0.99), eps=1e-6, foreach=False)
    ours = [p.clone() for p in start]
    m, v = [torch.zeros_like(p) for p in start], [torch.zeros_like(p) for p in start]
    for step in range(1, 6):
        grads = [torch.randn(p.shape, generator=gen) for p in start]
        for p, g in zip(ref, grads):
            p.grad = g.clone()
        opt.step()
        adam.plain_adam_(ours, grads, m, v, step, lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b.detach(), rtol=1e-6, atol=1e-7)


def test_the_fused_kernel_is_used_only_if_present_and_right(monkeypatch):
    assert adam._fused_agrees() is hasattr(torch, "_fused_adam_")
    monkeypatch.setattr(torch, "_fused_adam_", lambda *a, **k: None, raising=False)
    assert not adam._fused_agrees()  # a kernel that does nothing is refused
    monkeypatch.delattr(torch, "_fused_adam_")
    assert not adam._fused_agrees()


@pytest.mark.parametrize("fused", [True, False])
def test_bag_adam_takes_either_path_to_the_same_rows(monkeypatch, fused):
    """BagAdam through the fused kernel and through the fallback: the same lazy Adam as
    torch's SparseAdam on the rows each step touches."""
    from core.training.bag import BagAdam

    if fused and not adam.FUSED:
        pytest.skip("this torch has no agreeing fused kernel")
    monkeypatch.setattr(adam, "FUSED", fused)
    rng = np.random.default_rng(0)
    start = torch.from_numpy(rng.normal(size=(12, 4)).astype(np.float32))
    ours, ref = start.clone(), torch.nn.Parameter(start.clone())
    opt, sparse = BagAdam(lr=0.05), torch.optim.SparseAdam([ref], lr=0.05)
    for rows in ([1, 3, 5], [3, 7], [0, 1, 3, 11]):
        rows = torch.tensor(rows)
        grad = torch.from_numpy(rng.normal(size=(len(rows), 4)).astype(np.float32))
        opt.tick()
        opt.step_rows(ours, rows, ours[rows].clone(), grad)
        ref.grad = torch.sparse_coo_tensor(rows.unsqueeze(0), grad, ref.shape,
                                           check_invariants=True)
        sparse.step()
    torch.testing.assert_close(ours, ref.detach(), rtol=1e-4, atol=1e-6)


def test_bag_update_gradients_equal_autograd_with_repeated_ids(tiny_dataset, monkeypatch):
    """Three texts, each repeating ids (2 three times in one; 7 in two texts): the gradients
    bag_update hands its optimiser equal autograd's through embedding_bag's mean, a linear
    layer and the cross-entropy."""
    from core.training.model import EmbeddingClassifier
    from core.training.config import ModelConfig
    from core.training.bag import BagAdam, DistinctRows, bag_update
    from core.training.preparation import prepare

    config = TrainConfig(epochs=1, batch_size=3, doc_sample=2)
    prep = prepare(tiny_dataset, config)
    model = EmbeddingClassifier(ModelConfig(arch="bag", vocab_size=len(prep.vocab), dim=50,
                                            n_classes=2), prep.weights)
    with torch.no_grad():
        model.out.weight.normal_(generator=torch.Generator().manual_seed(3))
    opt, distinct = BagAdam(config.lr), DistinctRows(len(prep.vocab))
    ids = torch.tensor([2, 3, 2, 2, 7, 7, 3, 7, 9, 7])
    offsets, labels = torch.tensor([0, 4, 6]), torch.tensor([0, 1, 1])
    lengths = torch.tensor([[4.0], [2.0], [4.0]])
    table = model.embedding.weight.detach().clone().requires_grad_(True)
    out_w = model.out.weight.detach().clone().requires_grad_(True)
    out_b = model.out.bias.detach().clone().requires_grad_(True)
    docs = F.embedding_bag(ids, table, offsets, mode="mean")
    F.cross_entropy(F.linear(docs, out_w, out_b), labels).backward()

    seen = {}
    monkeypatch.setattr(opt, "step_rows",
                        lambda tbl, rows, old, grad: seen.update(rows=rows, table=grad))
    monkeypatch.setattr(opt, "step_dense",
                        lambda p, grad=None: seen.setdefault("dense", []).append(grad))
    bag_update(model, opt, distinct, torch.zeros(len(prep.vocab), dtype=torch.int64), ids,
               offsets, lengths, labels, F.one_hot(labels, 2).to(torch.float32))
    assert seen["rows"].tolist() == [2, 3, 7, 9]
    torch.testing.assert_close(seen["table"], table.grad[seen["rows"]], rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(seen["dense"][0], out_w.grad, rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(seen["dense"][1], out_b.grad, rtol=1e-5, atol=1e-8)
    untouched = torch.ones(len(table), dtype=torch.bool)
    untouched[[2, 3, 7, 9]] = False
    assert not table.grad[untouched].any()  # autograd agrees no other row has a gradient
