"""HNeRV with frame-conditioned stages: a channel scale and shift after every upsampling, by time.

In plain HNeRV a frame reaches the decoder only through its tiny embedding at the lowest
resolution; everything that differs between frames at a finer scale must be carried up through
every stage.  Boosting-NeRV conditions each stage on the frame's time instead (+1.2 dB on UVG, see
ANCHORS.md).  Here the condition is a smooth function of the frame's time ``t`` in its group: a
Fourier basis (``sin`` and ``cos`` of ``pi k t``, k = 1..8) through one shared linear map gives,
for every stage, a scale ``1 + a`` and a shift ``b`` per output channel (FiLM), applied after the
stage's activation and before its residual block.  Shared, not per frame: every iteration trains
it (free per-frame vectors, trained only when their frame is in the batch, lost 4 dB; see
docs/design-notes.md), and it is one more coded tensor (2 x channels x 16 numbers).

It is pointwise, so tiles stay exact.  The fused whole-batch CUDA path is HNeRV's alone: this
network renders tile by tile on every device, with the per-layer CUDA kernels where available.
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
"""Spread of the map's starting weights: near identity, and wide enough that the learned step of
its quantizer starts near where it ends (a zero start would give it a step of ~1e-6)."""
_GAIN = 0.05
"""The map's output scale, which sets how far one optimizer step moves the modulation: on bikes at
176x144, 600 iterations, q22, a gain of 1 reached 23.6 dB, 0.2 27.8 dB, 0.05 33.4 dB (HNeRV 32.8)."""


@dataclass(frozen=True)
class HNeRVFiLMConfig(HNeRVConfig):
    """HNeRV's architecture fields; the modulation's size follows from the channels."""

    def summary(self) -> str:
        return super().summary() + ", frame-modulated stages"

    @property
    def modulation_width(self) -> int:
        """A scale and a shift for every output channel of every stage."""
        return 2 * sum(self.channels)

    def parameter_shapes(self, height: int, width: int, num_frames: int) -> dict[str, tuple[int, ...]]:
        shapes = super().parameter_shapes(height, width, num_frames)
        embeddings = shapes.pop("embeddings")  # a module's own parameters come before its children's
        return {"embeddings": embeddings, "modulation": (self.modulation_width, 2 * _FREQUENCIES), **shapes}


def time_features(num_frames: int) -> torch.Tensor:
    """(num_frames, 16) float32: ``sin`` then ``cos`` of ``pi k t``, k = 1..8, t = (i + 0.5) / num_frames.

    Computed in float64 and rounded once, so that machines whose float32 ``sin`` differ in the
    last bit still build the same features.
    """
    t = (torch.arange(num_frames, dtype=torch.float64) + 0.5) / num_frames
    angles = torch.pi * t[:, None] * torch.arange(1, _FREQUENCIES + 1, dtype=torch.float64)
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()


class HNeRVFiLM(HNeRV):
    """The decoder network of one group, its stages modulated by the frame's time."""

    config: HNeRVFiLMConfig

    def __init__(self, config: HNeRVFiLMConfig, height: int, width: int, num_frames: int) -> None:
        super().__init__(config, height, width, num_frames)
        self.modulation = nn.Parameter(torch.randn(config.modulation_width, 2 * _FREQUENCIES) * _INIT_SCALE)
        self.register_buffer("time_features", time_features(num_frames), persistent=False)

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
