"""Adan (Xie et al., arXiv 2208.06677): Adam's moments plus a Nesterov-style moment of the gradient's change.

HiNeRV and Boosting-NeRV fit their networks with it.  Bias-corrected as in the authors' PyTorch
implementation, without weight decay (a fit's weights are priced by the rate term instead).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

__all__ = ["Adan"]


class Adan(torch.optim.Optimizer):
    """``betas`` are the decays of the gradient's mean, of its change's mean, and of the squared
    Nesterov gradient ``g + beta2 * (g - g_prev)`` that normalises the step."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float, float] = (0.98, 0.92, 0.99),
                 eps: float = 1e-8) -> None:
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Adan's betas must lie in [0, 1), got {betas}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            by_step: dict[int, tuple[list[torch.Tensor], list[torch.Tensor]]] = {}
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(step=0, mean=torch.zeros_like(p), change=torch.zeros_like(p),
                                 square=torch.zeros_like(p), previous=grad.clone())
                state["step"] += 1
                params, grads = by_step.setdefault(state["step"], ([], []))
                params.append(p)
                grads.append(grad)
            for step, (params, grads) in by_step.items():
                self._update(params, grads, step, group)

    def _update(self, params: list[torch.Tensor], grads: list[torch.Tensor], step: int, group: dict[str, Any]) -> None:
        """One step of ``params`` that share a step count, as foreach operations.

        One call per operation instead of one per tensor and operation: a fit's 76 tensors took
        7.6 ms of a 210 ms step at 640x272 in per-tensor Python calls (torch.profiler).  On the CPU
        a foreach operation applies the per-tensor operation to each tensor, so the values are the
        same bit for bit.
        """
        beta1, beta2, beta3 = group["betas"]
        states = [self.state[p] for p in params]
        mean, change_mean, square, previous = ([s[k] for s in states] for k in ("mean", "change", "square", "previous"))
        change = torch._foreach_sub(grads, previous)
        nesterov = torch._foreach_add(grads, list(torch._foreach_mul(change, beta2)))
        torch._foreach_mul_(mean, beta1)
        torch._foreach_add_(mean, grads, alpha=1 - beta1)
        torch._foreach_mul_(change_mean, beta2)
        torch._foreach_add_(change_mean, change, alpha=1 - beta2)
        torch._foreach_mul_(square, beta3)
        torch._foreach_addcmul_(square, nesterov, nesterov, value=1 - beta3)
        denominator = torch._foreach_div(torch._foreach_sqrt(square), math.sqrt(1 - beta3**step))
        torch._foreach_add_(denominator, group["eps"])
        direction = torch._foreach_div(mean, 1 - beta1**step)
        momentum = torch._foreach_mul(change_mean, beta2)
        torch._foreach_div_(momentum, 1 - beta2**step)
        torch._foreach_add_(direction, momentum)
        torch._foreach_addcdiv_(params, direction, denominator, value=-group["lr"])
        torch._foreach_copy_(previous, grads)
