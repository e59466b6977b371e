"""nvc.cuda_ext: fused CUDA kernels for the decoder, with a PyTorch fallback for every op.

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
    "build_dir",
    "compose_frames",
    "depthwise_bias_act",
    "describe",
    "enabled",
    "load",
    "render_batch",
    "render_uint8",
    "set_enabled",
    "shuffle_bias_act",
    "to_uint8_frame",
]


def render_batch(network, frame_indices, tile, out=None):
    """Render frames of an HNeRV network as one fused batch: (F, H, W, 3) uint8 (see ``tiled``)."""
    from .tiled import render_batch as _render_batch

    return _render_batch(network, frame_indices, tile, out)


def render_uint8(network, frame_indices, tile, batch=None):
    """Frames as (H, W, 3) uint8 numpy arrays, rendered ``batch`` frames at a time (see ``tiled``)."""
    from .tiled import render_uint8 as _render_uint8

    return _render_uint8(network, frame_indices, tile, batch)
