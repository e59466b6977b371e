"""HNeRV with frame-conditioned stages: a per-frame channel scale and shift after every upsampling.

In plain HNeRV a frame reaches the decoder only through its tiny embedding at the lowest
resolution; everything that differs between frames at a finer scale must be carried up through
every stage.  Boosting-NeRV conditions each stage on the frame instead (+1.2 dB on UVG, see
ANCHORS.md).  Here the condition is the simplest one that costs a few hundred numbers per frame:
a learned vector per frame holding, for every stage, a scale ``1 + a`` and a shift ``b`` per
output channel (FiLM), applied after the stage's activation and before its residual block.

It is pointwise, so tiles stay exact, and per frame, so a group that starts from its predecessor
starts every frame's vector from the predecessor's last frame, like the embeddings.  The fused
whole-batch CUDA path is HNeRV's alone: this network renders tile by tile on every device, with
the per-layer CUDA kernels where they are available.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nvc import cuda_ext

from .hnerv import HNeRV, HNeRVArchitecture, HNeRVConfig, Modulation
from .rendering import render_tile_by_tile

__all__ = ["HNERV_FILM", "HNeRVFiLM", "HNeRVFiLMConfig"]

_FREQUENCIES = 8
_INIT_SCALE = 0.01
_GAIN = 0.05
"""Spread of the starting modulation: near identity, and wide enough that the learned step of the
tensor's quantizer starts near where it ends (a zero start would give it a step of ~1e-6)."""


@dataclass(frozen=True)
class HNeRVFiLMConfig(HNeRVConfig):
    """HNeRV's architecture fields; the modulation's size follows from the channels."""

    def summary(self) -> str:
        return super().summary() + ", frame-modulated stages"

    @property
    def modulation_width(self) -> int:
        """Numbers per frame: a scale and a shift for every output channel of every stage."""
        return 2 * sum(self.channels)

    def parameter_shapes(self, height: int, width: int, num_frames: int) -> dict[str, tuple[int, ...]]:
        shapes = super().parameter_shapes(height, width, num_frames)
        embeddings = shapes.pop("embeddings")  # a module's own parameters come before its children's
        return {"embeddings": embeddings, "modulation": (self.modulation_width, 2 * _FREQUENCIES), **shapes}


class HNeRVFiLM(HNeRV):
    """The decoder network of one group, with a modulation vector per frame."""

    config: HNeRVFiLMConfig

    def __init__(self, config: HNeRVFiLMConfig, height: int, width: int, num_frames: int) -> None:
        super().__init__(config, height, width, num_frames)
        self.modulation = nn.Parameter(torch.randn(config.modulation_width, 2 * _FREQUENCIES) * _INIT_SCALE)
        t = (torch.arange(num_frames, dtype=torch.float32) + 0.5) / num_frames
        angles = torch.pi * t[:, None] * torch.arange(1, _FREQUENCIES + 1, dtype=torch.float32)
        self.register_buffer("time_features", torch.cat([angles.sin(), angles.cos()], dim=1), persistent=False)

    def stage_modulations(self, frame_indices: torch.Tensor | slice) -> list[Modulation | None]:
        vectors = (self.time_features[frame_indices] @ self.modulation.t()) * _GAIN
        modulations: list[Modulation | None] = []
        start = 0
        for channels in self.config.channels:
            scale = 1 + vectors[:, start : start + channels]
            shift = vectors[:, start + channels : start + 2 * channels]
            modulations.append((scale[:, :, None, None], shift[:, :, None, None]))
            start += 2 * channels
        return modulations

    def render_frames(self, frame_indices: Iterable[int], tile: int, batch: int | None = None) -> Iterator[np.ndarray]:
        yield from render_tile_by_tile(self, frame_indices, tile)


class HNeRVFiLMArchitecture(HNeRVArchitecture):
    """HNeRV's sizing, the frame-modulated network, rendered tile by tile."""

    name = "hnerv-film"
    config_type = HNeRVFiLMConfig

    def size(self, height: int, width: int, width_scale: float) -> HNeRVFiLMConfig:
        plain = super().size(height, width, width_scale)
        return HNeRVFiLMConfig(**{f.name: getattr(plain, f.name) for f in dataclasses.fields(plain)})

    def build(self, config: HNeRVFiLMConfig, height: int, width: int, num_frames: int) -> HNeRVFiLM:
        return HNeRVFiLM(config, height, width, num_frames)

    def render_path(self, device: torch.device) -> str:
        if device.type != "cuda":
            return "PyTorch on the CPU"
        return f"tile by tile in PyTorch with per-layer kernels ({cuda_ext.describe()}); no whole-batch fused path"


HNERV_FILM = HNeRVFiLMArchitecture()
