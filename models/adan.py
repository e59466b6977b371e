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
            beta1, beta2, beta3 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(step=0, mean=torch.zeros_like(p), change=torch.zeros_like(p),
                                 square=torch.zeros_like(p), previous=p.grad.clone())
                state["step"] += 1
                step = state["step"]
                grad = p.grad
                change = grad - state["previous"]
                nesterov = grad + beta2 * change
                state["mean"].mul_(beta1).add_(grad, alpha=1 - beta1)
                state["change"].mul_(beta2).add_(change, alpha=1 - beta2)
                state["square"].mul_(beta3).addcmul_(nesterov, nesterov, value=1 - beta3)
                denominator = (state["square"].sqrt() / math.sqrt(1 - beta3**step)).add_(group["eps"])
                direction = state["mean"] / (1 - beta1**step) + beta2 * state["change"] / (1 - beta2**step)
                p.addcdiv_(direction, denominator, value=-group["lr"])
                state["previous"].copy_(grad)
