"""Quality metrics of a decoded clip against its original, each labelled with its colour space."""

from __future__ import annotations

from typing import Iterable

import numpy as np

__all__ = ["psnr", "mean_psnr_rgb"]


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB of two uint8 arrays of equal shape (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak * peak / mse)


def mean_psnr_rgb(originals: Iterable[np.ndarray], decoded: Iterable[np.ndarray]) -> float:
    """Mean over frames of the per-frame RGB PSNR (the NeRV-family convention)."""
    values = [psnr(a, b) for a, b in zip(originals, decoded, strict=True)]
    return float(np.mean(values))
