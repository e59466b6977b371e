"""Rate knobs: the quality scale, the effort presets, and how they become fitting settings.

``quality`` works like x265's CRF: lower is better, and 6 steps double (or halve) the rate
weight lambda.  Above the default it also narrows the network, since a large lambda leaves a
large network's capacity unused.  Below the default the network keeps its width: measured on
bikes at preset medium, a 1.4x wider network (quality 16) fitted its first group 3.5x slower
per iteration and reached the same PSNR (32.6 dB) as the default width at 2.4x the bytes; the
presets' iteration counts cannot train the extra capacity.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # nvc.models pulls torch; the CLI reads this module's tables before it needs it
    from nvc.models import ArchitectureConfig, FitSettings

__all__ = ["PRESETS", "QUALITY_RANGE", "DEFAULT_QUALITY", "INTER_GROUP_FIT", "Preset", "Tuning", "rate_lambda",
           "model_for_video", "fit_settings", "iteration_scale"]

QUALITY_RANGE = (0, 51)
DEFAULT_QUALITY = 28
_LAMBDA_AT_DEFAULT = 4e-3


@dataclass(frozen=True)
class Preset:
    """Fitting effort: iterations for key groups and for groups that start from their predecessor."""

    key_iterations: int
    inter_iterations: int


PRESETS = {
    "ultrafast": Preset(key_iterations=84, inter_iterations=42),
    "fast": Preset(key_iterations=840, inter_iterations=420),
    "medium": Preset(key_iterations=2800, inter_iterations=1260),
    "slow": Preset(key_iterations=7000, inter_iterations=3360),
}
"""Iterations per group of 640x272 frames; smaller frames get a little more (:func:`iteration_scale`).
Convergence, not the quantizer, limits the fit at these budgets, so each preset spends what its
time allows: doubled (but ultrafast) when fitting moved to bfloat16 (medium 2000 against 1000 at
176x144: BD-rate -52.5 %, +2.30 dB), then 1.4x (but small frames) once the fitting step got
1.1-1.2x faster: on bikes' first 60 frames medium at 2800 against 2000 gave BD-rate -28.2 %,
+1.39 dB, its slowest point encoding in 987 s of the 20-minute budget (docs/design-notes.md)."""

PRESET_FRAME_PIXELS = 640 * 272
"""The frame size the presets' iteration counts are set for (bikes, where medium's 20-minute target
per 60-frame point is measured)."""
STEP_OVERHEAD_PIXELS = 44_000
"""A fitting step's cost that does not grow with the frame (optimizer, rate term, quantizers), in
pixels' worth of time: 15.05 iterations/s at 176x144 and 4.81 at 640x272 (tools.fit_bench, the
default network, 2 threads) fit ``seconds = (pixels + 44 000) * 0.95 us``."""
MAX_ITERATION_SCALE = 15 / 14
"""The most a small frame's iterations grow: medium gives 176x144 and the demo's 256x144 3000 key
and 1350 inter iterations, as before the presets grew 1.4x (their benchmarks were measured there).
Beyond it a small frame still gains (176x144, bikes frames 60-119 with a scene cut, medium, q28 and
q34: 3000 against 2000 key iterations BD-rate -25.2 %, 4000 against 3000 -12.2 % for 1.43x the
time, docs/design-notes.md), at a cost its presets' time budgets have not been weighed against."""


@cache
def _tunable_fit_fields() -> dict[str, str]:
    """FitSettings fields a Tuning may set, by type name (read on first use: nvc.models loads torch)."""
    from nvc.models import FitSettings

    return {f.name: f.type for f in dataclasses.fields(FitSettings) if f.type in ("int", "float", "str")}


@cache
def _tunable_model_fields(arch: str) -> dict[str, str]:
    """Fields of an architecture's config a Tuning may set, by type name."""
    from nvc.models import get_architecture

    config_type = get_architecture(arch).config_type
    return {f.name: str(f.type) for f in dataclasses.fields(config_type) if f.type != "str"}


def default_architecture() -> str:
    """The registry's default (imported here, not at module level: nvc.models loads torch)."""
    from nvc.models import DEFAULT_ARCHITECTURE

    return DEFAULT_ARCHITECTURE


@dataclass(frozen=True)
class Tuning:
    """Expert overrides of what the preset and quality derive: how design experiments are run.

    ``tools.ab`` compares two tunings on the same frames, so an experiment is a setting, not a
    patch. The bytes depend on it; the decoder does not need it (it reads the stored config).

    Attributes:
        fit: ``(FitSettings field, value)`` pairs replacing the derived settings of every group.
        inter_fit: pairs replacing them (after ``fit``) in groups that start from their predecessor
            (``inter.NAME=VALUE``): inter groups fine-tune a fitted network, key groups start cold.
        model: ``(config field, value)`` pairs replacing the derived network's fields.
        width: multiplier of the network's channel counts (before ``model``).
        arch: registered architecture to size and fit ("": the default).
    """

    fit: tuple[tuple[str, float | str], ...] = ()
    inter_fit: tuple[tuple[str, float | str], ...] = ()
    model: tuple[tuple[str, int | tuple[int, ...]], ...] = ()
    width: float = 1.0
    arch: str = ""

    @property
    def architecture(self) -> str:
        """The registered architecture this tuning sizes and fits."""
        return self.arch or default_architecture()

    def __post_init__(self) -> None:
        for name, value in self.fit + self.inter_fit:
            if name not in _tunable_fit_fields():
                raise ValueError(f"unknown fit setting {name!r} (tunable: {', '.join(sorted(_tunable_fit_fields()))})")
            if _tunable_fit_fields()[name] == "str":
                if not isinstance(value, str):
                    raise ValueError(f"fit setting {name!r} needs a string, got {value!r}")
            elif not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"fit setting {name!r} needs a finite number, got {value!r}")
        if self.arch or self.model:  # not for the default Tuning(): the registry loads torch
            model_fields = _tunable_model_fields(self.architecture)  # also refuses an unknown arch
            for name, _ in self.model:
                if name not in model_fields:
                    tunable = ", ".join(sorted(model_fields))
                    raise ValueError(f"unknown model field {name!r} (tunable: {tunable})")
        if not 0.125 <= self.width <= 4.0:
            raise ValueError(f"width multiplier {self.width} outside 0.125..4")

    @classmethod
    def parse(cls, items: Iterable[str]) -> Tuning:
        """From ``NAME=VALUE`` strings: ``lr=0.005``, ``width=0.75``, ``kernels=1,1,3,3,3``, ``arch=hnerv-grid``,
        ``inter.lr=0.01`` (inter groups only)."""
        pairs = []
        for item in items:
            name, sep, text = item.partition("=")
            if not sep:
                raise ValueError(f"expected NAME=VALUE, got {item!r}")
            pairs.append((name, text))
        arch = next((text for name, text in pairs if name == "arch"), "")
        model_fields = _tunable_model_fields(cls(arch=arch).architecture)  # refuses an unknown arch
        fit: list[tuple[str, float | str]] = []
        inter_fit: list[tuple[str, float | str]] = []
        model, width = [], 1.0
        for name, text in pairs:
            try:
                if name == "arch":
                    continue
                if name == "width":
                    width = float(text)
                elif name in model_fields:
                    values = tuple(int(v) for v in text.split(","))
                    model.append((name, values if model_fields[name].startswith("tuple") else values[0]))
                else:
                    field_name = name.removeprefix("inter.")
                    kind = {"int": int, "str": str}.get(_tunable_fit_fields().get(field_name, ""), float)
                    (fit if field_name == name else inter_fit).append((field_name, kind(text)))
            except ValueError:
                raise ValueError(f"{name}: {text!r} is not a valid value") from None
        return cls(tuple(fit), tuple(inter_fit), tuple(model), width, arch)

    def apply(self, settings: FitSettings, from_scratch: bool) -> FitSettings:
        """``settings`` with this tuning's overrides for a group fitted from scratch or not."""
        overrides: dict[str, Any] = dict(self.fit if from_scratch else self.fit + self.inter_fit)
        return dataclasses.replace(settings, **overrides)  # fields checked in __post_init__


def rate_lambda(quality: int) -> float:
    """Rate weight for a quality value (doubles every 6 steps, like a QP)."""
    return _LAMBDA_AT_DEFAULT * 2.0 ** ((quality - DEFAULT_QUALITY) / 6)


def model_for_video(quality: int, height: int, width: int, tuning: Tuning = Tuning()) -> ArchitectureConfig:
    """Network for a video: the architecture sizes it for the frame; its width follows the quality.

    Width is 1.0x at and below the default quality and narrows above it (about 0.5x at quality
    51), times ``tuning.width``; ``tuning.model`` then replaces fields.
    """
    from nvc.models import get_architecture

    scale = min(1.0, max(0.5, 2.0 ** ((DEFAULT_QUALITY - quality) / 24))) * tuning.width
    config = get_architecture(tuning.architecture).size(height, width, scale)
    overrides: dict[str, Any] = dict(tuning.model)  # checked against the config's fields in Tuning
    return dataclasses.replace(config, **overrides)


INTER_GROUP_FIT: Mapping[str, Any] = MappingProxyType({"optimizer": "adam", "lr": 1e-2})
"""What a group that starts from its predecessor's network fits with, in place of the defaults
(Adan at 0.02) that fit a network from scratch best.  Fine-tuning a fitted network, Adam at 0.01
gave +1.86 dB in the inter group for 16 % fewer of its bytes (bikes frames 90-119 at 176x144 after
a key group holding a scene cut, medium, q28, seeds 0-2), and +1.88 dB for 9 % more in one shot
(frames 107-136); Adan at 0.01 fell 1.1 dB below Adan at 0.02: the optimizer decides, not the
rate (docs/design-notes.md)."""


def iteration_scale(height: int, width: int) -> float:
    """How many times a preset's iterations a frame of this size gets: as many as fit in the time
    a 640x272 frame's take, by the step-cost model of :data:`STEP_OVERHEAD_PIXELS`, at most
    :data:`MAX_ITERATION_SCALE` and never fewer than the preset's.

    A preset is an effort per group; at these budgets convergence limits the fit, and a small
    frame's steps are cheap (3.1x as many per second at 176x144 as at 640x272).
    """
    equal_time = (PRESET_FRAME_PIXELS + STEP_OVERHEAD_PIXELS) / (height * width + STEP_OVERHEAD_PIXELS)
    return min(MAX_ITERATION_SCALE, max(1.0, equal_time))


def fit_settings(preset: str, quality: int, from_scratch: bool, frame_size: tuple[int, int],
                 tuning: Tuning = Tuning()) -> FitSettings:
    """Fitting settings for one group of ``frame_size`` (height, width) frames (a key group or a
    scene cut fits from scratch)."""
    from nvc.models import FitSettings

    effort = PRESETS[preset]
    base = effort.key_iterations if from_scratch else effort.inter_iterations
    iterations = round(base * iteration_scale(*frame_size))
    settings = FitSettings(iterations=iterations, rate_lambda=rate_lambda(quality),
                           eval_every=max(20, iterations // 16), **({} if from_scratch else INTER_GROUP_FIT))
    return tuning.apply(settings, from_scratch)

