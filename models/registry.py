"""The model registry: every decoder architecture the codec can build, and what each must answer.

The codec sees an architecture only through the protocols below, reached by the name stored in
the file's header:

* :class:`ArchitectureConfig`, the config stored in the header: its parameter shapes and what
  decoding would cost (the decoder bounds a hostile header with these answers before it
  allocates anything), and a one-line summary for ``nvc info``;
* :class:`Architecture`: the config type, sizing a network for a video, building it, and which
  path renders on a device (said under ``-v``);
* :class:`DecoderNetwork`, the built network: a whole-frame render for fitting, a tiled render
  whose memory the tile size bounds, and uint8 frames by the architecture's own fastest path
  (fused CUDA kernels where it has them, :func:`.rendering.render_tile_by_tile` otherwise).

Adding an architecture means writing it in nvc.models and registering it in :data:`ARCHITECTURES`;
nothing in nvc.codec changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, Protocol

import numpy as np
import torch

from .hnerv import HNERV
from .hnerv_grid import HNERV_GRID
from .jsonfields import typed_value

__all__ = ["ARCHITECTURES", "Architecture", "ArchitectureConfig", "DEFAULT_ARCHITECTURE", "DecoderNetwork",
           "architecture_of", "config_from_dict", "config_to_dict", "get_architecture"]


class ArchitectureConfig(Protocol):
    """What the codec asks of an architecture's config, from the header alone (nothing built).

    A frozen dataclass whose fields are JSON scalars or tuples of integers (stored in the header).
    """

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def parameter_shapes(self, height: int, width: int, num_frames: int) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every parameter, in coding order."""
        ...

    def geometry_problem(self, height: int, width: int) -> str | None:
        """Why frames of this size make no sense for this network (e.g. mostly padding), or None."""
        ...

    def largest_feature_map(self, height: int, width: int, tile: int) -> int:
        """Values in the largest tensor rendering one frame makes."""
        ...

    def render_macs(self, height: int, width: int, tile: int) -> int:
        """Multiply-accumulates rendering one frame takes."""
        ...

    def summary(self) -> str:
        """One line describing the network (``nvc info``)."""
        ...


class DecoderNetwork(Protocol):
    """A built network of one group (an ``nn.Module``; its parameters are the coded tensors)."""

    height: int
    width: int

    @property
    def time_indexed_parameters(self) -> tuple[str, ...]:
        """Names of the parameters whose first axis is time within the group (per-frame embeddings,
        a grid's time slots): a group fitted from its predecessor starts every slice of them from
        the predecessor's last, the nearest in time."""
        ...

    def __call__(self, frame_indices: torch.Tensor) -> torch.Tensor:
        """Whole-frame render (N, 3, H, W) of these frames, differentiable: what fitting scores."""
        ...

    def render_tiled(self, frame_index: int, tile: int) -> torch.Tensor:
        """One frame (3, H, W) float32 before rounding, tile by tile: equal to the whole-frame render,
        memory bounded by the tile size."""
        ...

    def render_frames(self, frame_indices: Iterable[int], tile: int, batch: int | None = None) -> Iterator[np.ndarray]:
        """Frames as (H, W, 3) uint8 by the fastest path on the network's device."""
        ...


class Architecture(Protocol):
    """A registered architecture: its config type, how it sizes and builds a network, how it renders."""

    @property
    def name(self) -> str:
        """What the header's ``arch`` field stores."""
        ...

    @property
    def config_type(self) -> type[ArchitectureConfig]:
        ...

    def size(self, height: int, width: int, width_scale: float) -> ArchitectureConfig:
        """The network for frames of this size, its channels scaled by ``width_scale`` (the codec's
        quality narrows it)."""
        ...

    def build(self, config: Any, height: int, width: int, num_frames: int) -> torch.nn.Module:
        """An untrained :class:`DecoderNetwork` for a group of ``num_frames`` frames."""
        ...

    def render_path(self, device: torch.device) -> str:
        """One line: which path renders on ``device`` (fused kernels, or the PyTorch fallback and why)."""
        ...


ARCHITECTURES: dict[str, Architecture] = {HNERV.name: HNERV, HNERV_GRID.name: HNERV_GRID}
DEFAULT_ARCHITECTURE: str = HNERV_GRID.name
"""What the encoder builds unless told otherwise: HNeRV with a learned feature grid, which beat
plain HNeRV at every point of the bikes benchmark curve (docs/benchmarks.md, design-notes.md)."""


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r} (known: {', '.join(sorted(ARCHITECTURES))})") from None


def architecture_of(config: ArchitectureConfig) -> str:
    """The registered name whose config type ``config`` is exactly (a subclass is another architecture)."""
    for name, architecture in ARCHITECTURES.items():
        if type(config) is architecture.config_type:
            return name
    raise ValueError(f"{type(config).__name__} is the config of no registered architecture")


def config_to_dict(config: ArchitectureConfig) -> dict[str, Any]:
    """Plain JSON-able dict of an architecture config (tuples become lists)."""
    return {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def config_from_dict(name: str, values: Mapping[str, Any]) -> ArchitectureConfig:
    """Rebuild an architecture config from a dict, rejecting unknown, missing and mistyped fields."""
    config_type = get_architecture(name).config_type
    fields = {f.name: f for f in dataclasses.fields(config_type)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"unknown {name} config fields: {sorted(unknown)}")
    missing = set(fields) - set(values)
    if missing:
        raise ValueError(f"missing {name} config fields: {sorted(missing)}")
    kwargs = {key: typed_value(key, fields[key].type, value) for key, value in values.items()}
    return config_type(**kwargs)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
