"""Rate knobs: the quality scale, the effort presets, and how they become fitting settings.

``quality`` works like x265's CRF: lower is better, and 6 steps double (or halve) the rate
weight lambda.  Above the default it also narrows the network, since a large lambda leaves a
large network's capacity unused.  Below the default the network keeps its width: measured on
bikes at preset medium, a 1.4x wider network (quality 16) fitted its first group 3.5x slower
per iteration and reached the same PSNR (32.6 dB) as the default width at 2.4x the bytes; the
presets' iteration counts cannot train the extra capacity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nvc.models import FitSettings, HNeRVConfig

__all__ = ["PRESETS", "QUALITY_RANGE", "DEFAULT_QUALITY", "Preset", "rate_lambda", "model_for_video",
           "fit_settings"]

QUALITY_RANGE = (0, 51)
DEFAULT_QUALITY = 28
_LAMBDA_AT_DEFAULT = 4e-3
_BASE_CHANNELS = (64, 48, 32, 24, 16)
_STRIDE_LADDER = ((5, 4, 2, 2, 2), (4, 4, 2, 2, 2), (4, 2, 2, 2, 2), (4, 2, 2, 2), (2, 2, 2, 2), (2, 2, 2), (2, 2))


@dataclass(frozen=True)
class Preset:
    """Fitting effort: iterations for key groups and for groups that start from their predecessor."""

    key_iterations: int
    inter_iterations: int


PRESETS = {
    "ultrafast": Preset(key_iterations=60, inter_iterations=30),
    "fast": Preset(key_iterations=300, inter_iterations=150),
    "medium": Preset(key_iterations=1000, inter_iterations=450),
    "slow": Preset(key_iterations=2500, inter_iterations=1200),
}


def rate_lambda(quality: int) -> float:
    """Rate weight for a quality value (doubles every 6 steps, like a QP)."""
    return _LAMBDA_AT_DEFAULT * 2.0 ** ((quality - DEFAULT_QUALITY) / 6)


def model_for_video(quality: int, height: int, width: int) -> HNeRVConfig:
    """Network for a video: strides from the frame size, width from the quality.

    The total stride is the largest of the ladder that keeps the embedding grid at least about
    1.6 positions on the short side, so small frames are not mostly padding.  Width is 1.0x at and
    below the default quality and narrows above it (about 0.5x at quality 51).
    """
    short = min(height, width)
    strides = next((s for s in _STRIDE_LADDER if math.prod(s) * 1.6 <= short), _STRIDE_LADDER[-1])
    scale = min(1.0, max(0.5, 2.0 ** ((DEFAULT_QUALITY - quality) / 24)))
    channels = tuple(max(8, int(round(c * scale / 4)) * 4) for c in _BASE_CHANNELS[-len(strides):])
    kernels = (1,) + (3,) * (len(strides) - 1)
    return HNeRVConfig(stem_channels=channels[0], channels=channels, strides=strides, kernels=kernels,
                       tiled_stages=min(2, len(strides)))


def fit_settings(preset: str, quality: int, from_scratch: bool) -> FitSettings:
    """Fitting settings for one group (a key group or a scene cut fits from scratch)."""
    effort = PRESETS[preset]
    iterations = effort.key_iterations if from_scratch else effort.inter_iterations
    return FitSettings(iterations=iterations, rate_lambda=rate_lambda(quality),
                       eval_every=max(20, iterations // 16))

