"""One Adam step over lists of tensors, in place: torch's fused kernel when it is there and
agrees with the plain formula, else the plain formula in tensor operations.

``torch._fused_adam_`` (what ``torch.optim.Adam(fused=True)`` calls) is private: a torch
release may drop or change it. It is therefore used only if, at import, it exists and gives
the same numbers as ``plain_adam_`` on a tiny case (``FUSED``); otherwise every step takes
the plain path, which is slower (about seven tensor operations a parameter instead of one
pass; bench/README.md "Training throughput") but the same Adam.
"""
from __future__ import annotations

import torch


@torch.no_grad()
def plain_adam_(params: list[torch.Tensor], grads: list[torch.Tensor],
                exp_avgs: list[torch.Tensor], exp_avg_sqs: list[torch.Tensor], step: int, *,
                lr: float, beta1: float, beta2: float, eps: float) -> None:
    """Adam (Kingma & Ba; torch's bias-corrected form, no weight decay) at step ``step``
    (1-based): the moments, then the parameters, updated in place."""
    correction1 = 1 - beta1 ** step
    root_correction2 = (1 - beta2 ** step) ** 0.5
    for param, grad, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        m.mul_(beta1).add_(grad, alpha=1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = v.sqrt().div_(root_correction2).add_(eps)
        param.addcdiv_(m, denom, value=-lr / correction1)


def _fused_adam_(params, grads, exp_avgs, exp_avg_sqs, steps: torch.Tensor, *, lr, beta1,
                 beta2, eps) -> None:
    torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], [steps] * len(params),
                       lr=lr, beta1=beta1, beta2=beta2, weight_decay=0.0, eps=eps,
                       amsgrad=False, maximize=False)


def _fused_agrees() -> bool:
    """Whether the private fused kernel exists and matches ``plain_adam_`` over three steps
    of a tiny case (a 3 x 2 and a 2-vector parameter)."""
    if not hasattr(torch, "_fused_adam_"):
        return False
    gen = torch.Generator().manual_seed(0)
    shapes = [(3, 2), (2,)]
    start = [torch.randn(s, generator=gen) for s in shapes]
    grads = [[torch.randn(s, generator=gen) for s in shapes] for _ in range(3)]
    kw = dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    fused, plain = [p.clone() for p in start], [p.clone() for p in start]
    fm, fv = [torch.zeros(s) for s in shapes], [torch.zeros(s) for s in shapes]
    pm, pv = [torch.zeros(s) for s in shapes], [torch.zeros(s) for s in shapes]
    try:
        for t, g in enumerate(grads, start=1):
            _fused_adam_(fused, g, fm, fv, torch.tensor(float(t)), **kw)
            plain_adam_(plain, g, pm, pv, t, **kw)
    except (RuntimeError, TypeError):  # a changed signature or a missing kernel
        return False
    return all(torch.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(fused, plain))


FUSED = _fused_agrees()


def adam_(params: list[torch.Tensor], grads: list[torch.Tensor], exp_avgs: list[torch.Tensor],
          exp_avg_sqs: list[torch.Tensor], step: int, steps: torch.Tensor, *, lr: float,
          beta1: float, beta2: float, eps: float, fused: bool | None = None) -> None:
    """One Adam step at ``step`` (``steps``: the same count as a tensor, which the kernel
    reads); ``fused`` None follows the import-time check."""
    if FUSED if fused is None else fused:
        _fused_adam_(params, grads, exp_avgs, exp_avg_sqs, steps, lr=lr, beta1=beta1,
                     beta2=beta2, eps=eps)
    else:
        plain_adam_(params, grads, exp_avgs, exp_avg_sqs, step, lr=lr, beta1=beta1,
                    beta2=beta2, eps=eps)
