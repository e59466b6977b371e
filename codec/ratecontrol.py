"""Reach a target rate (bits per pixel or kbit/s) by searching the quality scale.

Each probe is a real encode of the first groups (at most ``PROBE_GROUPS``) with the requested
preset; bpp is measured on the probe's file.  The rate halves roughly every 6 quality steps, so
the search steps in (quality, log bpp) and converges in a few probes.  The quality chosen is the
lowest one whose probe stays at or under the target; the final file's bpp is what it reports.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from nvc.datasets import VideoInfo

from .encoder import EncodeOptions, encode_video
from .errors import UsageError
from .rate import QUALITY_RANGE

__all__ = ["target_bpp", "search_quality", "PROBE_GROUPS", "MAX_PROBES"]

PROBE_GROUPS = 2
MAX_PROBES = 4
_STEPS_PER_HALVING = 6


def target_bpp(bpp: float | None, kbps: float | None, width: int, height: int, fps: Fraction) -> float | None:
    """The target as bits per pixel (``kbps`` converted with the video's size and rate)."""
    if bpp is not None and kbps is not None:
        raise UsageError("give a bpp target or a kbit/s target, not both")
    if kbps is not None:
        if not (math.isfinite(kbps) and kbps > 0):
            raise UsageError(f"bitrate must be a positive number, got {kbps}")
        return kbps * 1000 / (width * height * float(fps))
    if bpp is not None and not (math.isfinite(bpp) and bpp > 0):
        raise UsageError(f"bpp target must be a positive number, got {bpp}")
    return bpp


def search_quality(frames: np.ndarray, video: VideoInfo, target: float, options: EncodeOptions,
                   log: Callable[[str], None] = lambda _: None) -> int:
    """The quality whose probe encode lands closest to, and not above, ``target`` bpp."""
    probe = frames[: PROBE_GROUPS * options.group_size]
    low, high = QUALITY_RANGE
    measured: dict[int, float] = {}
    quality = options.quality
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(MAX_PROBES):
            if quality in measured:
                break
            report = encode_video(iter(probe), video, Path(folder) / "probe.nvc", replace(options, quality=quality))
            measured[quality] = report.bpp
            log(f"nvc: rate search: quality {quality} -> {report.bpp:.4f} bpp (target {target:.4f})")
            quality = _next_quality(measured, target, low, high)
    fitting = [q for q, bpp in measured.items() if bpp <= target]
    return min(fitting) if fitting else max(measured)


def _next_quality(measured: dict[int, float], target: float, low: int, high: int) -> int:
    """Secant step in (quality, log2 bpp), or the default slope with a single measurement."""
    points = sorted(measured.items())
    if len(points) >= 2:
        below = [p for p in points if p[1] <= target]
        above = [p for p in points if p[1] > target]
        (q0, b0), (q1, b1) = (above[-1], below[0]) if below and above else (points[0], points[-1])
        slope = (math.log2(b1) - math.log2(b0)) / (q1 - q0) if q1 != q0 and b1 != b0 else -1 / _STEPS_PER_HALVING
        slope = min(slope, -1 / (4 * _STEPS_PER_HALVING))
        q, b = q1, b1
    else:
        (q, b), slope = points[0], -1 / _STEPS_PER_HALVING
    step = (math.log2(target) - math.log2(b)) / slope
    return int(min(high, max(low, round(q + step))))
