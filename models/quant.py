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
from typing import Any

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


_LN2 = math.log(2.0)
_MAX_BITS = math.log2(1e9)
"""Most bits one value is priced at (a bin probability of 1e-9); beyond it the rate has no gradient."""


def laplace_bits(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Bits of ``x`` under a unit-bin discretised zero-mean Laplace of the given (detached) scale.

    With ``k = 1/scale`` and ``a = |x|`` the bin probability has a closed form: outside the centre
    bin (``a >= 1/2``) it is ``exp(-a k) sinh(k/2)``, so the bits are linear in ``a``; inside it is
    ``1 - exp(-k/2) cosh(a k)``, computed without cancelling digits where the scale is wide.
    The gradient is written out too (:class:`_LaplaceBits`): the rate term of a fit runs in about
    60 % of the time autograd took through the generic expression (docs/design-notes.md).
    """
    return _LaplaceBits.apply(x, 1.0 / scale.detach())


class _LaplaceBits(torch.autograd.Function):
    """:func:`laplace_bits` with its derivative in ``x`` computed in the same pass."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        half_k = 0.5 * k
        log2_sinh = torch.log2(torch.sinh(half_k))
        a = x.abs()
        outer = a >= 0.5
        ak = a * k
        ak_max = (_MAX_BITS + log2_sinh) * _LN2  # where the outer bins reach _MAX_BITS
        # Inside the centre bin, with d = 2 sinh(t/2) and c = 2 cosh(t/2) (exp only: torch's sinh and
        # expm1 are several times slower on CPU): 1 - exp(-k/2) cosh(t) = -expm1(-k/2) - exp(-k/2) d^2/2.
        grow = ak.clamp(max=half_k).mul_(0.5).exp_()
        shrink = grow.reciprocal()
        d, c = grow - shrink, grow.add_(shrink)
        edge = torch.exp(-half_k)
        inner_prob = (d * d).mul_(-0.5 * edge).sub_(torch.expm1(-half_k))
        inner_slope = d.mul_(c).mul_(0.5 * edge * k / _LN2).div_(inner_prob)
        bits = torch.where(outer, torch.minimum(ak, ak_max).mul_(1 / _LN2).sub_(log2_sinh),
                           inner_prob.log2_().neg_())
        slope = torch.where(outer, k / _LN2, inner_slope).masked_fill_(ak > ak_max, 0.0)
        ctx.save_for_backward(slope.copysign_(x))
        return bits

    @staticmethod
    def backward(ctx: Any, grad_bits: torch.Tensor) -> tuple[torch.Tensor, None]:
        (slope,) = ctx.saved_tensors
        return grad_bits * slope, None


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
