"""The PyTorch render path every architecture has: frame by frame through ``render_tiled``.

An architecture without a fused path of its own renders through :func:`render_tile_by_tile` on
every device; :func:`to_uint8` is the one float-to-8-bit rule (the fused kernels round the same
way: nvc.cuda_ext.to_uint8_frame).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

import numpy as np
import torch

from nvc.cuda_ext import to_uint8_frame

__all__ = ["TiledRenderer", "fallback_path", "render_tile_by_tile", "to_uint8"]


class TiledRenderer(Protocol):
    def render_tiled(self, frame_index: int, tile: int) -> torch.Tensor:
        """(3, H, W) float32 in [0, 1] before rounding, memory bounded by the tile size."""
        ...


def to_uint8(frame: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) uint8, rounding to nearest."""
    return to_uint8_frame(frame, offset=0.0).cpu().numpy()


def render_tile_by_tile(network: TiledRenderer, frame_indices: Iterable[int], tile: int) -> Iterator[np.ndarray]:
    """Frames as (H, W, 3) uint8, one ``render_tiled`` call each."""
    for index in frame_indices:
        yield to_uint8(network.render_tiled(index, tile))


def fallback_path(architecture: str) -> str:
    """What ``-v`` says for an architecture that has no fused path: PyTorch renders it everywhere."""
    return f"PyTorch fallback: architecture {architecture!r} has no fused CUDA path"
