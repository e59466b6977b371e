"""HNeRV with learned feature grids added after its low-resolution stages (HiNeRV-style local encodings).

Every untiled stage ``i`` with a divisor ``d > 0`` owns a grid ``(T, C_i, ceil(H_i / d), ceil(W_i / d))``
of ``T`` time slots over the group. A frame's grid is the linear blend of the two slots around its
time, upsampled bilinearly by ``d`` to the stage's output and added to it. Grids give every
position of a frame parameters of its own, reached by the gradient directly rather than through
the shared convolutions, so they learn fast: what a CPU fitting budget needs.

The grids start at zero (the network starts as plain HNeRV and pays no rate for them until they
help) and sit in the whole-frame stages only, so tiled decoding, its halo and the fused CUDA path
for the tiled stages are HNeRV's unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .hnerv import HNERV, HNeRV, HNeRVConfig
from .rendering import fallback_path, render_tile_by_tile

__all__ = ["HNERV_GRID", "HNeRVGrid", "HNeRVGridArchitecture", "HNeRVGridConfig"]

MAX_GRID_TIMES = 16
MAX_GRID_DIVISOR = 16


@dataclass(frozen=True)
class HNeRVGridConfig(HNeRVConfig):
    """HNeRV's fields, and the grids: time slots, and one divisor per untiled stage (0: no grid)."""

    grid_times: int = 2
    grid_divisors: tuple[int, ...] = (0, 0, 2)

    def __post_init__(self) -> None:
        super().__post_init__()
        untiled = len(self.strides) - self.tiled_stages
        if len(self.grid_divisors) != untiled:
            raise ValueError(f"grid_divisors: one per untiled stage ({untiled}) needed, got {len(self.grid_divisors)}")
        if not all(0 <= d <= MAX_GRID_DIVISOR for d in self.grid_divisors):
            raise ValueError(f"grid divisors must lie in 0..{MAX_GRID_DIVISOR}")
        if not 1 <= self.grid_times <= MAX_GRID_TIMES:
            raise ValueError(f"grid_times must lie in 1..{MAX_GRID_TIMES}")

    def summary(self) -> str:
        """HNeRV's line, and which stages have a grid at what fraction of their resolution."""
        grids = [f"stage {i + 1} at 1/{d}" for i, d in enumerate(self.grid_divisors) if d]
        return f"{super().summary()}, {self.grid_times}-slot grids: {', '.join(grids) or 'none'}"

    def stage_size(self, stage: int, height: int, width: int) -> tuple[int, int]:
        """Rows and columns of stage ``stage``'s output on the padded frame."""
        h0, w0 = self.embed_grid(height, width)
        scale = math.prod(self.strides[: stage + 1])
        return h0 * scale, w0 * scale

    def grid_shapes(self, height: int, width: int) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every grid, in stage order."""
        shapes: dict[str, tuple[int, ...]] = {}
        for i, d in enumerate(self.grid_divisors):
            if d:
                rows, cols = self.stage_size(i, height, width)
                shapes[f"grids.{i}"] = (self.grid_times, self.channels[i], -(-rows // d), -(-cols // d))
        return shapes

    def upsampled_grid_values(self, height: int, width: int) -> list[int]:
        """Values of each grid of one frame once upsampled (before the crop to its stage)."""
        divisors = [d for d in self.grid_divisors if d]
        return [c * rows * cols * d * d for (_, c, rows, cols), d in zip(self.grid_shapes(height, width).values(),
                                                                         divisors, strict=True)]

    def parameter_shapes(self, height: int, width: int, num_frames: int) -> dict[str, tuple[int, ...]]:
        return {**super().parameter_shapes(height, width, num_frames), **self.grid_shapes(height, width)}

    def largest_feature_map(self, height: int, width: int, tile: int) -> int:
        """HNeRV's bound, or an upsampled grid of one frame if that is larger."""
        return max([super().largest_feature_map(height, width, tile), *self.upsampled_grid_values(height, width)])

    def render_macs(self, height: int, width: int, tile: int) -> int:
        """HNeRV's count, plus blending two slots and four bilinear taps per grid value of a frame."""
        return super().render_macs(height, width, tile) + 6 * sum(self.upsampled_grid_values(height, width))


class HNeRVGrid(HNeRV):
    """:class:`HNeRV` with a learned grid added after each untiled stage that has one."""

    config: HNeRVGridConfig

    def __init__(self, config: HNeRVGridConfig, height: int, width: int, num_frames: int) -> None:
        super().__init__(config, height, width, num_frames)
        self.grids = nn.ParameterDict({name.split(".")[1]: nn.Parameter(torch.zeros(shape))
                                       for name, shape in config.grid_shapes(height, width).items()})

    @property
    def time_indexed_parameters(self) -> tuple[str, ...]:
        """The embeddings, and the grids (their first axis: time slots)."""
        return (*super().time_indexed_parameters, *self.config.grid_shapes(self.height, self.width))

    def after_untiled_stage(self, stage: int, x: torch.Tensor, frame_indices: torch.Tensor) -> torch.Tensor:
        """The stage's output plus its grid, where it has one."""
        return x + self.grid_at(stage, frame_indices, x.shape[-2:]) if str(stage) in self.grids else x

    def grid_at(self, stage: int, frame_indices: torch.Tensor, size: torch.Size) -> torch.Tensor:
        """Stage ``stage``'s grid for these frames: (N, C, rows, cols), blended in time, upsampled."""
        grid = self.grids[str(stage)]
        times = grid.shape[0]
        if times == 1:
            slots = grid.expand(len(frame_indices), *grid.shape[1:])
        else:
            position = frame_indices.to(torch.float32) * ((times - 1) / max(1, self.num_frames - 1))
            first = position.floor().to(torch.long).clamp(max=times - 2)
            weight = (position - first).to(grid.dtype).view(-1, 1, 1, 1)
            slots = grid[first] * (1 - weight) + grid[first + 1] * weight
        divisor = self.config.grid_divisors[stage]
        if divisor > 1:
            slots = F.interpolate(slots, scale_factor=divisor, mode="bilinear", align_corners=False)
        return slots[..., : size[0], : size[1]]

    def render_frames(self, frame_indices: Iterable[int], tile: int, batch: int | None = None) -> Iterator[np.ndarray]:
        """Tile by tile on every device: no fused path adds the grids (``batch`` is not used)."""
        return render_tile_by_tile(self, frame_indices, tile)


class HNeRVGridArchitecture:
    """HNeRV-grid as the model registry sees it."""

    name = "hnerv-grid"
    config_type = HNeRVGridConfig

    def size(self, height: int, width: int, width_scale: float) -> HNeRVGridConfig:
        """HNeRV's network for the frame, a grid at half resolution after its last untiled stage."""
        base = HNERV.size(height, width, width_scale)
        untiled = len(base.strides) - base.tiled_stages
        divisors = (0,) * (untiled - 1) + (2,) if untiled else ()
        return HNeRVGridConfig(**dataclasses.asdict(base), grid_divisors=divisors)

    def build(self, config: HNeRVGridConfig, height: int, width: int, num_frames: int) -> HNeRVGrid:
        return HNeRVGrid(config, height, width, num_frames)

    def render_path(self, device: torch.device) -> str:
        return fallback_path(self.name)


HNERV_GRID = HNeRVGridArchitecture()
