"""Named decoder architectures, so the codec builds networks from a name and a config dict.

Adding an architecture means registering it here; the codec and the bitstream only ever see the
name and the config's fields.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple, Protocol

from torch import nn

from .hnerv import HNeRV, HNeRVConfig

__all__ = ["ArchitectureConfig", "Architecture", "ARCHITECTURES", "get_architecture", "config_from_dict",
           "config_to_dict"]


class ArchitectureConfig(Protocol):
    """What the codec asks of an architecture's config, from the header alone (nothing built).

    The decoder checks a file against these answers before it allocates or computes anything
    that the file's size does not pay for.
    """

    @property
    def total_stride(self) -> int:
        """Frame pixels per position of the network's input grid, per side."""
        ...

    def parameter_shapes(self, height: int, width: int, num_frames: int) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every parameter, in coding order."""
        ...

    def largest_feature_map(self, height: int, width: int, tile: int) -> int:
        """Values in the largest tensor rendering one frame makes."""
        ...

    def render_macs(self, height: int, width: int, tile: int) -> int:
        """Multiply-accumulates rendering one frame takes."""
        ...


class Architecture(NamedTuple):
    config_type: type[ArchitectureConfig]
    build: Callable[[Any, int, int, int], nn.Module]  # (config, height, width, num_frames)


ARCHITECTURES: dict[str, Architecture] = {"hnerv": Architecture(HNeRVConfig, HNeRV)}


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r} (known: {', '.join(sorted(ARCHITECTURES))})") from None


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain JSON-able dict of an architecture config (tuples become lists)."""
    return {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def config_from_dict(name: str, values: dict[str, Any]) -> Any:
    """Rebuild an architecture config from a dict, rejecting unknown, missing and mistyped fields."""
    config_type = get_architecture(name).config_type
    fields = {f.name: f for f in dataclasses.fields(config_type)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"unknown {name} config fields: {sorted(unknown)}")
    missing = set(fields) - set(values)
    if missing:
        raise ValueError(f"missing {name} config fields: {sorted(missing)}")
    kwargs = {key: _typed(key, fields[key].type, value) for key, value in values.items()}
    return config_type(**kwargs)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _typed(key: str, annotation: Any, value: Any) -> Any:
    """Check a JSON value against the field's annotation ('int', 'str', 'tuple[int, ...]')."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    if text.startswith("tuple"):
        if not isinstance(value, list) or not all(type(v) is int for v in value):
            raise ValueError(f"config field {key!r} must be a list of integers")
        return tuple(value)
    expected = {"int": int, "str": str, "float": float, "bool": bool}[text]
    if type(value) is not expected:
        raise ValueError(f"config field {key!r} must be {text}, got {type(value).__name__}")
    return value
