"""Quantization-aware fitting: learned step sizes, straight-through rounding and a rate proxy.

Every coded tensor is stored as integer symbols ``q = round(w / step)`` with one float step per
tensor.  During fitting the distortion term sees the exact rounded values (straight-through
gradient), while the rate term sees ``w / step`` plus uniform noise under a zero-mean Laplace model
of the symbols (or of their residual against an anchor: the previous group's weights, expressed on
this tensor's grid).  The Laplace model is only a differentiable proxy: the file itself is coded
with measured integer histograms.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["TensorQuantizer", "round_ste", "laplace_bits", "MAX_SYMBOL"]

MAX_SYMBOL = (1 << 15) - 1
"""Largest symbol magnitude.  Symbols saturate here, so a tensor's symbols span at most 65,535
values and always fit the entropy coder's alphabet, even when a fit shrinks a step far below its
weights; the saturated values are what the fit sees and scores, so nothing is lost silently."""

_MIN_LOG_STEP = math.log(1e-6)
_MAX_LOG_STEP = math.log(1e3)


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, identity gradient in the backward pass."""
    return x + (torch.round(x) - x).detach()


def laplace_bits(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Bits of ``x`` under a unit-bin discretised zero-mean Laplace of the given scale.

    The distribution is symmetric, so the bin probability is computed on ``|x|`` with the two
    tails written as differences of survival functions (stable far from zero).
    """
    a = x.abs()
    upper = torch.exp(-(a + 0.5) / scale)
    outer = 0.5 * (torch.exp(-(a - 0.5).clamp(min=0.0) / scale) - upper)
    inner = 1.0 - 0.5 * torch.exp(-(0.5 - a).clamp(min=0.0) / scale) - 0.5 * upper
    prob = torch.where(a >= 0.5, outer, inner)
    return -torch.log2(prob.clamp(min=1e-9))


class TensorQuantizer(nn.Module):
    """One learned step size for one tensor.

    Args:
        init_step: starting step, usually ``max|w| / (2**(bits-1) - 1)``.
    """

    def __init__(self, init_step: float) -> None:
        super().__init__()
        self.log_step = nn.Parameter(torch.tensor(math.log(max(init_step, 1e-6)), dtype=torch.float32))
        self.pinned: torch.Tensor | None = None

    @property
    def step(self) -> torch.Tensor:
        """The step size, kept in a sane range so a diverging fit cannot produce 0 or inf."""
        if self.pinned is not None:
            return self.pinned
        return torch.exp(self.log_step.clamp(_MIN_LOG_STEP, _MAX_LOG_STEP))

    def pin(self, step: float) -> None:
        """Fix the step to exactly ``step`` (a float32 value), e.g. a reference group's step."""
        self.log_step.requires_grad_(False)
        self.pinned = torch.tensor(step, dtype=torch.float32)

    def fake_quantize(self, w: torch.Tensor) -> torch.Tensor:
        """Exact rounded (saturated) values forward, straight-through gradient for ``w`` and the step."""
        step = self.step
        return round_ste((w / step).clamp(-MAX_SYMBOL, MAX_SYMBOL)) * step

    def symbols(self, w: torch.Tensor) -> torch.Tensor:
        """Integer symbols (int64) of ``w`` on this quantizer's grid."""
        return torch.round((w.detach() / self.step.detach()).clamp(-MAX_SYMBOL, MAX_SYMBOL)).to(torch.int64)

    def rate_bits(self, w: torch.Tensor, anchor: torch.Tensor | None) -> torch.Tensor:
        """Differentiable estimate of the bits needed for ``w`` (or for its residual against ``anchor``)."""
        x = (w if anchor is None else w - anchor) / self.step
        x = x + torch.empty_like(x).uniform_(-0.5, 0.5)
        scale = x.detach().abs().mean().clamp(min=0.05)
        return laplace_bits(x, scale).sum()
