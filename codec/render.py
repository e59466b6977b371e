"""Rebuild a group's network from its symbols and render its frames.

The encoder measures its reconstruction through this module too, so the frames it scores are
the frames the decoder produces.  Which path renders (fused kernels or PyTorch) is the
architecture's choice (nvc.models.registry.DecoderNetwork.render_frames).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import cast

import numpy as np
import torch
from torch import nn

from nvc.models import DecoderNetwork, get_architecture
from nvc.models.quantized import QuantizedTensor, load_symbols

from .config import CodecConfig

__all__ = ["build_network", "describe_render", "expected_shapes", "render_frames"]


def build_network(config: CodecConfig, height: int, width: int, frame_count: int) -> nn.Module:
    """An untrained network of the configured architecture for a group of ``frame_count`` frames.

    Channels-last layout: oneDNN's convolutions run about 1.5x (fitting) to 2x (rendering)
    faster with it on the CPU.
    """
    network = get_architecture(config.arch).build(config.model, height, width, frame_count)
    return network.to(memory_format=torch.channels_last)


def expected_shapes(config: CodecConfig, height: int, width: int, frame_count: int) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape, in coding order, for a group of ``frame_count`` frames (nothing allocated)."""
    return config.model.parameter_shapes(height, width, frame_count)


def describe_render(config: CodecConfig, device: str | torch.device) -> str:
    """One line for ``-v``: which path renders this file's architecture on ``device``."""
    return get_architecture(config.arch).render_path(torch.device(device))


def render_frames(
    config: CodecConfig,
    height: int,
    width: int,
    symbols: Mapping[str, QuantizedTensor],
    frame_count: int,
    frames: range | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype | None = None,
    batch: int | None = None,
) -> Iterator[np.ndarray]:
    """Render (a range of) a group's frames from its decoded symbols, as (H, W, 3) uint8.

    ``batch`` frames (default: by a pixel budget) go through a fused path at once where the
    architecture has one.  ``dtype`` (torch.float16 / torch.bfloat16) renders in half precision;
    the final sum and rounding stay float32.
    """
    network = build_network(config, height, width, frame_count)
    load_symbols(network, symbols)
    network.eval().to(device)
    if dtype is not None:
        network.to(dtype)
    indices = frames if frames is not None else range(frame_count)
    yield from cast(DecoderNetwork, network).render_frames(indices, config.tile, batch)
