"""nvc.models: decoder architectures (the registry), quantization-aware fitting of one group, rendering.

Knows tensors, nothing of files: the codec hands it frames and gets integer symbols back.  The
fitting loop loads on first use of its names (PEP 562), so decoding never imports it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .hnerv import HNeRV, HNeRVConfig
from .jsonfields import typed_value
from .psnr import psnr_from_mse
from .quant import MAX_SYMBOL
from .quantized import GroupSymbols, QuantizedTensor, dequantize, load_symbols
from .registry import (ARCHITECTURES, DEFAULT_ARCHITECTURE, Architecture, ArchitectureConfig, DecoderNetwork,
                       config_from_dict, config_to_dict, get_architecture)

if TYPE_CHECKING:
    from .fit import FitEvent, FitResult, FitSettings, best_start, fit_group, native_bfloat16

_LAZY = ("FitEvent", "FitResult", "FitSettings", "best_start", "fit_group", "native_bfloat16")

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "ArchitectureConfig",
    "DEFAULT_ARCHITECTURE",
    "DecoderNetwork",
    "FitEvent",
    "FitResult",
    "FitSettings",
    "GroupSymbols",
    "HNeRV",
    "HNeRVConfig",
    "MAX_SYMBOL",
    "QuantizedTensor",
    "best_start",
    "config_from_dict",
    "config_to_dict",
    "dequantize",
    "fit_group",
    "get_architecture",
    "load_symbols",
    "native_bfloat16",
    "psnr_from_mse",
    "typed_value",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(".fit", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
