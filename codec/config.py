"""The frozen configuration stored in every file's header, and its strict JSON form.

Everything the decoder needs to rebuild the networks lives in :class:`CodecConfig`; how hard the
encoder worked (:class:`EncoderInfo`) is stored beside it for ``nvc info`` and reproducibility.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from typing import Any

from nvc.datasets.colour import Matrix
from nvc.datasets.limits import MAX_FPS, MAX_FPS_TERM, MAX_FRAMES, MAX_PIXELS, MAX_SIDE
from nvc.models import (
    DEFAULT_ARCHITECTURE,
    ArchitectureConfig,
    architecture_of,
    config_from_dict,
    config_to_dict,
    get_architecture,
    typed_value,
)

from .defaults import GROUP_SIZE, KEY_INTERVAL, TILE

__all__ = ["CodecConfig", "EncoderInfo", "VideoHeader", "config_to_json", "config_from_json", "MAX_SIDE",
           "MAX_PIXELS", "MAX_FRAMES", "MAX_GROUP_SIZE", "MAX_CONFIG_BYTES"]

MAX_GROUP_SIZE = 600
MAX_CONFIG_BYTES = 1 << 16
_MAX_NESTING = 4


@dataclass(frozen=True)
class CodecConfig:
    """What rebuilds the networks and renders the frames (the architecture is the model config's)."""

    model: ArchitectureConfig = field(default_factory=lambda: get_architecture(DEFAULT_ARCHITECTURE).config_type())
    group_size: int = GROUP_SIZE
    key_interval: int = KEY_INTERVAL
    tile: int = TILE

    def __post_init__(self) -> None:
        architecture_of(self.model)  # refuses a config no registered architecture takes
        if not 1 <= self.group_size <= MAX_GROUP_SIZE:
            raise ValueError(f"group_size must lie in 1..{MAX_GROUP_SIZE}, got {self.group_size}")
        if not 1 <= self.key_interval <= MAX_FRAMES:
            raise ValueError(f"key_interval must be at least 1, got {self.key_interval}")
        if not 16 <= self.tile <= 4096:
            raise ValueError(f"tile must lie in 16..4096, got {self.tile}")

    @property
    def arch(self) -> str:
        """The registered architecture that builds :attr:`model`."""
        return architecture_of(self.model)


@dataclass(frozen=True)
class EncoderInfo:
    """How the file was made (informative; the decoder does not need it)."""

    preset: str = "medium"
    quality: int = 28
    rate_lambda: float = 0.0
    seed: int = 0
    nvc_version: str = ""


@dataclass(frozen=True)
class VideoHeader:
    """The video's geometry and timing, checked against the documented limits (nvc.datasets.limits)."""

    width: int
    height: int
    fps: Fraction
    frame_count: int
    colour_matrix: Matrix = "bt709"
    full_range: bool = False

    def __post_init__(self) -> None:
        if not (1 <= self.width <= MAX_SIDE and 1 <= self.height <= MAX_SIDE):
            raise ValueError(f"frame size {self.width}x{self.height} outside 1..{MAX_SIDE} per side")
        if self.width * self.height > MAX_PIXELS:
            raise ValueError(f"frame size {self.width}x{self.height} above {MAX_PIXELS} pixels")
        if not 1 <= self.frame_count <= MAX_FRAMES:
            raise ValueError(f"frame count {self.frame_count} outside 1..{MAX_FRAMES}")
        if self.fps <= 0 or self.fps > MAX_FPS or max(self.fps.numerator, self.fps.denominator) > MAX_FPS_TERM:
            raise ValueError(f"fps {self.fps} outside (0, {MAX_FPS}] or with a term above {MAX_FPS_TERM}")
        if self.colour_matrix not in ("bt709", "bt601"):
            raise ValueError(f"colour matrix {self.colour_matrix!r} is not bt709 or bt601")


def config_to_json(config: CodecConfig, encoder: EncoderInfo) -> bytes:
    doc = {
        "arch": config.arch,
        "model": config_to_dict(config.model),
        "group_size": config.group_size,
        "key_interval": config.key_interval,
        "tile": config.tile,
        "encoder": asdict(encoder),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def config_from_json(data: bytes) -> tuple[CodecConfig, EncoderInfo]:
    """Parse the header config strictly: bounded size and nesting, no NaN/Inf, exact keys and types.

    Raises:
        ValueError: with a message naming the problem.
    """
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(f"config of {len(data)} bytes exceeds {MAX_CONFIG_BYTES}")
    _check_nesting(data)
    try:
        doc = json.loads(data.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"config is not valid JSON: {exc}") from None
    _require_keys(doc, {"arch", "model", "group_size", "key_interval", "tile", "encoder"}, "config")
    arch = typed_value("arch", str, doc["arch"])
    model_doc = doc["model"]
    if not isinstance(model_doc, dict):
        raise ValueError("config field 'model' must be an object")
    config = CodecConfig(
        model=config_from_dict(arch, model_doc),
        group_size=typed_value("group_size", int, doc["group_size"]),
        key_interval=typed_value("key_interval", int, doc["key_interval"]),
        tile=typed_value("tile", int, doc["tile"]),
    )
    enc_doc = doc["encoder"]
    if not isinstance(enc_doc, dict):
        raise ValueError("config field 'encoder' must be an object")
    _require_keys(enc_doc, {f.name for f in fields(EncoderInfo)}, "encoder")
    encoder = EncoderInfo(
        **{f.name: typed_value(f.name, f.type, enc_doc[f.name]) for f in fields(EncoderInfo)}
    )
    if not math.isfinite(encoder.rate_lambda):
        raise ValueError("config field 'rate_lambda' is not finite")
    return config, encoder


def _check_nesting(data: bytes) -> None:
    depth = 0
    for byte in data:
        if byte in b"[{":
            depth += 1
            if depth > _MAX_NESTING:
                raise ValueError(f"config nested deeper than {_MAX_NESTING} levels")
        elif byte in b"]}":
            depth -= 1


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys all differ (a repeated key would be read differently by other parsers)."""
    doc = dict(pairs)
    if len(doc) != len(pairs):
        counts = Counter(key for key, _ in pairs)
        repeated = next(key for key, _ in pairs if counts[key] > 1)
        raise ValueError(f"config repeats the key {repeated!r}")
    return doc


def _reject_constant(name: str) -> None:
    raise ValueError(f"config holds {name}, which is not a finite number")


def _require_keys(doc: Any, keys: set[str], where: str) -> None:
    if not isinstance(doc, dict):
        raise ValueError(f"{where} must be a JSON object")
    if set(doc) != keys:
        raise ValueError(f"{where} keys {sorted(doc)} differ from the expected {sorted(keys)}")

