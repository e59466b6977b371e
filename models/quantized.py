"""A coded tensor (integer symbols and one step) and how it becomes weights again.

The one thing the decoder and the fitter share: the fitter produces :class:`QuantizedTensor`
values, the decoder reads them from the file, and both turn them into weights with
:func:`dequantize`, so the frames the encoder scores are the frames the decoder renders.
Kept apart from the fitting loop so that decoding never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["GroupSymbols", "QuantizedTensor", "dequantize", "load_symbols"]


@dataclass(frozen=True)
class QuantizedTensor:
    """A coded tensor: integer symbols and the step that dequantizes them (``w = q * step``)."""

    symbols: torch.Tensor  # int64
    step: float  # exactly representable as float32


GroupSymbols = dict[str, QuantizedTensor]
"""A group's coded tensors by parameter name, in coding order."""


def dequantize(coded: QuantizedTensor) -> torch.Tensor:
    """The float32 weights of a coded tensor (the product is formed in float32 on every machine)."""
    return coded.symbols.to(torch.float32) * torch.tensor(coded.step, dtype=torch.float32)


def load_symbols(model: nn.Module, symbols: Mapping[str, QuantizedTensor]) -> None:
    """Set the model's parameters to their dequantized values (what the decoder computes)."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, coded in symbols.items():
            params[name].copy_(dequantize(coded))
