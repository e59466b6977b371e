"""nvc.cuda_ext: fused CUDA operations, with a PyTorch fallback for every op.

Operations only, public and model-agnostic (like torchvision.ops): no network lives here.  Each
architecture composes them into its own fused path (HNeRV's: models/hnerv_fused.py).

    >>> from nvc import cuda_ext
    >>> cuda_ext.describe()          # one line: which path serves the ops
    'PyTorch fallback: no GPU'
    >>> y = cuda_ext.shuffle_bias_act(conv_out_without_bias, bias, 2, "gelu")

The ops run the extension on CUDA tensors when it is available (a GPU is present and the
extension builds; it is JIT-compiled on first use and cached), and the equivalent PyTorch
composition everywhere else, so callers never choose.  Importing this package builds and imports
nothing: ``import nvc`` stays fast.  See ``build`` for the environment variables.
"""

from .build import ExtensionBuildError, arch_list, available, build_dir, describe, enabled, load, set_enabled
from .ops import (
    ACTIVATIONS,
    FrameMask,
    Placements,
    activation_name,
    active,
    bias_residual,
    bilinear_crop,
    compose_frames,
    depthwise_bias_act,
    shuffle_bias_act,
    to_uint8_frame,
)

__all__ = [
    "ACTIVATIONS",
    "ExtensionBuildError",
    "FrameMask",
    "Placements",
    "activation_name",
    "active",
    "arch_list",
    "available",
    "bias_residual",
    "bilinear_crop",
    "build_dir",
    "compose_frames",
    "depthwise_bias_act",
    "describe",
    "enabled",
    "load",
    "set_enabled",
    "shuffle_bias_act",
    "to_uint8_frame",
]

