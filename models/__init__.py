"""nvc.models: decoder architectures (the registry), quantization-aware fitting of one group, rendering.

Knows tensors, nothing of files: the codec hands it frames and gets integer symbols back.  The
names below load on first use (PEP 562): decoding never imports the fitting loop, and
``nvc.models.psnr`` does not wait for torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nvc._lazy import lazy_names

if TYPE_CHECKING:
    from .fit import FitEvent, FitResult, FitSettings, fit_group, native_bfloat16
    from .hnerv import HNeRV, HNeRVConfig
    from .jsonfields import typed_value
    from .psnr import psnr_from_mse
    from .quant import MAX_SYMBOL
    from .quantized import GroupSymbols, QuantizedTensor, dequantize, load_symbols
    from .registry import (
        ARCHITECTURES,
        DEFAULT_ARCHITECTURE,
        Architecture,
        ArchitectureConfig,
        DecoderNetwork,
        architecture_of,
        config_from_dict,
        config_to_dict,
        get_architecture,
    )

_LAZY = {
    **dict.fromkeys(("FitEvent", "FitResult", "FitSettings", "fit_group", "native_bfloat16"), ".fit"),
    **dict.fromkeys(("HNeRV", "HNeRVConfig"), ".hnerv"),
    "typed_value": ".jsonfields",
    "psnr_from_mse": ".psnr",
    "MAX_SYMBOL": ".quant",
    **dict.fromkeys(("GroupSymbols", "QuantizedTensor", "dequantize", "load_symbols"), ".quantized"),
    **dict.fromkeys(("ARCHITECTURES", "DEFAULT_ARCHITECTURE", "Architecture", "ArchitectureConfig", "DecoderNetwork",
                     "architecture_of", "config_from_dict", "config_to_dict", "get_architecture"), ".registry"),
}

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
    "architecture_of",
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
assert sorted(__all__) == sorted(_LAZY)


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
