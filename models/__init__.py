"""nvc.models: decoder architectures, quantization-aware fitting of one group, tiled rendering.

Knows tensors, nothing of files: the codec hands it frames and gets integer symbols back.
"""

from .fit import (FitEvent, FitResult, FitSettings, QuantizedTensor, best_start, fit_group, load_symbols,
                  native_bfloat16, psnr_from_mse)
from .hnerv import HNeRV, HNeRVConfig
from .quant import MAX_SYMBOL
from .registry import ARCHITECTURES, ArchitectureConfig, config_from_dict, config_to_dict, get_architecture

__all__ = [
    "ARCHITECTURES",
    "ArchitectureConfig",
    "FitEvent",
    "FitResult",
    "FitSettings",
    "HNeRV",
    "HNeRVConfig",
    "MAX_SYMBOL",
    "QuantizedTensor",
    "best_start",
    "config_from_dict",
    "config_to_dict",
    "fit_group",
    "get_architecture",
    "load_symbols",
    "native_bfloat16",
    "psnr_from_mse",
]
