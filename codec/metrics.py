"""Quality metrics of a decoded clip against its original, each labelled with its colour space.

One copy for ``nvc compare`` and the benchmark tools (tools/), so their numbers agree.

- PSNR RGB: per-frame PSNR over the three 8-bit RGB channels, averaged over frames (NeRV family).
- PSNR YUV: per-frame Y, Cb, Cr PSNR of the BT.709 limited-range 4:2:0 conversion
  (nvc.datasets.rgb_to_yuv420) of both clips, weighted 6:1:1 (JVET), averaged over frames.
- MS-SSIM RGB: Wang, Simoncelli & Bovik (2003), 5 scales, weights 0.0448, 0.2856, 0.3001,
  0.2363, 0.1333, 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, 'valid' filtering,
  2x2 mean downsampling with edge replication (as Wang's msssim.m); computed per RGB channel,
  averaged over channels, then over frames. Negative contrast terms are clipped to 0 (their
  fractional power is undefined). Frames must be at least 161 pixels on each side, so that the
  coarsest scale still holds a window; smaller clips get NaN.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from nvc.datasets import rgb_to_yuv420
from nvc.models.psnr import psnr_from_mse

__all__ = ["psnr", "psnr_yuv420", "ms_ssim", "frame_scores", "score", "FrameScores", "SCORES"]

PEAK = 255.0
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_WINDOW, _SIGMA = 11, 1.5
_C1, _C2 = (0.01 * PEAK) ** 2, (0.03 * PEAK) ** 2
YUV_WEIGHTS = (6.0, 1.0, 1.0)
SCORES = ("psnr_rgb", "psnr_yuv", "psnr_y", "ms_ssim_rgb")
"""The keys `score` returns, so callers can tell a fully scored result row."""


def psnr(a: np.ndarray, b: np.ndarray, peak: float = PEAK) -> float:
    """PSNR in dB of two uint8 arrays of equal shape (inf when identical)."""
    return psnr_from_mse(float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)), peak)


def psnr_yuv420(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(Y, Cb, Cr) PSNR of two RGB frames after BT.709 limited 4:2:0 conversion of both."""
    return tuple(psnr(pa, pb) for pa, pb in zip(rgb_to_yuv420(a), rgb_to_yuv420(b), strict=True))  # type: ignore[return-value]


def _gaussian_window() -> np.ndarray:
    offsets = np.arange(_WINDOW) - (_WINDOW - 1) / 2
    window = np.exp(-(offsets**2) / (2 * _SIGMA**2))
    return window / window.sum()


def _filter_valid(x: np.ndarray) -> np.ndarray:
    """Separable Gaussian filtering of C x H x W planes, keeping only positions where the window fits."""
    from scipy.ndimage import correlate1d  # scipy loads only when MS-SSIM is asked for

    window, half = _gaussian_window(), _WINDOW // 2
    for axis in (1, 2):
        x = correlate1d(x, window, axis=axis, mode="nearest")
    return x[:, half:-half, half:-half]


def _ssim_terms(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (mean SSIM, mean contrast-structure term) of C x H x W float planes."""
    mu_x, mu_y = _filter_valid(x), _filter_valid(y)
    var_x = _filter_valid(x * x) - mu_x**2
    var_y = _filter_valid(y * y) - mu_y**2
    cov = _filter_valid(x * y) - mu_x * mu_y
    cs = (2 * cov + _C2) / (var_x + var_y + _C2)
    luminance = (2 * mu_x * mu_y + _C1) / (mu_x**2 + mu_y**2 + _C1)
    return (luminance * cs).mean(axis=(1, 2)), cs.mean(axis=(1, 2))


def _downsample(x: np.ndarray) -> np.ndarray:
    """Mean over 2x2 blocks of C x H x W planes; an odd last row/column pairs with itself."""
    _, height, width = x.shape
    x = np.pad(x, ((0, 0), (0, height % 2), (0, width % 2)), mode="edge")
    return 0.25 * (x[:, 0::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 0::2] + x[:, 1::2, 1::2])


def _fits_all_scales(height: int, width: int) -> bool:
    side = min(height, width)
    for _ in MS_SSIM_WEIGHTS[1:]:
        side = (side + 1) // 2
    return side >= _WINDOW


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """5-scale MS-SSIM of two H x W x 3 uint8 RGB frames, averaged over channels (NaN if too small)."""
    if not _fits_all_scales(*a.shape[:2]):
        return float("nan")
    x = np.moveaxis(a, -1, 0).astype(np.float64)
    y = np.moveaxis(b, -1, 0).astype(np.float64)
    product = np.ones(x.shape[0])
    for scale, weight in enumerate(MS_SSIM_WEIGHTS):
        ssim, cs = _ssim_terms(x, y)
        last = scale == len(MS_SSIM_WEIGHTS) - 1
        product *= np.maximum(ssim if last else cs, 0.0) ** weight
        if not last:
            x, y = _downsample(x), _downsample(y)
    return float(product.mean())


@dataclass(frozen=True)
class FrameScores:
    """Every metric of one frame pair (the keys of ``SCORES``)."""

    psnr_rgb: float
    psnr_yuv: float
    psnr_y: float
    ms_ssim_rgb: float


def frame_scores(a: np.ndarray, b: np.ndarray) -> FrameScores:
    """Every metric of two H x W x 3 uint8 RGB frames; YUV PSNR weighs Y, Cb, Cr 6:1:1."""
    planes = psnr_yuv420(a, b)
    return FrameScores(psnr(a, b), float(np.dot(YUV_WEIGHTS, planes)) / sum(YUV_WEIGHTS), planes[0], ms_ssim(a, b))


def score(originals: Iterable[np.ndarray], decoded: Iterable[np.ndarray]) -> dict[str, float]:
    """Every metric of `SCORES`, each the mean over frames of its per-frame value."""
    frames = [frame_scores(a, b) for a, b in zip(originals, decoded, strict=True)]
    return {key: float(np.mean([getattr(scores, key) for scores in frames])) for key in SCORES}
