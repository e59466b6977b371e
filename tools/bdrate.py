"""Bjontegaard deltas between two rate-distortion curves: BD-rate (%) and BD-PSNR (dB).

Both interpolate one curve's log-rate against quality (BD-rate) or quality against log-rate
(BD-PSNR) and average the gap between test and anchor over the interval where both curves have
points; curves that share no such interval give NaN, never an extrapolated number.

Interpolations:
- "pchip": piecewise cubic Hermite (PCHIP) through every point, integrated exactly; what the
  JCT-VC / JVET common-test-condition spreadsheets use.
- "cubic": least-squares cubic polynomial (Bjontegaard, VCEG-M33, 2001); exact through 4 points,
  a fit through more, and of degree n - 1 for n < 4 points. A fit that, over the shared interval,
  falls anywhere or leaves the range of its points by over a quarter of it gives NaN: rate and
  quality rise together, and a cubic through a nearly flat curve swings far outside its points.

Negative BD-rate means the test codec needs fewer bits than the anchor for the same quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy.interpolate import PchipInterpolator

__all__ = ["bd_rate", "bd_psnr", "METHODS", "Method"]

Method = Literal["pchip", "cubic"]
METHODS: tuple[Method, ...] = ("pchip", "cubic")


def _integral(x: np.ndarray, y: np.ndarray, low: float, high: float, method: Method) -> float:
    """Integral over [low, high] of the interpolation of y(x)."""
    if method == "pchip":
        order = np.argsort(x)
        if np.any(np.diff(x[order]) <= 0):
            raise ValueError(f"PCHIP needs distinct x values, got {sorted(x.tolist())}")
        return float(PchipInterpolator(x[order], y[order]).integrate(low, high))
    if method == "cubic":
        fit = np.polyfit(x, y, min(3, len(x) - 1))
        if not _stays_faithful(fit, y, low, high):
            return float("nan")
        antiderivative = np.polyint(fit)
        return float(np.polyval(antiderivative, high) - np.polyval(antiderivative, low))
    raise ValueError(f"unknown interpolation {method!r}; choose one of {', '.join(METHODS)}")


def _stays_faithful(polynomial: np.ndarray, y: np.ndarray, low: float, high: float) -> bool:
    """Whether the fit rises over [low, high] (on a dense grid) without leaving y's range by over a quarter of it."""
    values = np.polyval(polynomial, np.linspace(low, high, 257))
    margin = 0.25 * float(np.ptp(y))
    return bool(np.all(np.diff(values) >= -1e-9 * margin)
                and values.min() >= y.min() - margin and values.max() <= y.max() + margin)


def _mean_gap(x_anchor: np.ndarray, y_anchor: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
              method: Method) -> float:
    """Mean of (test - anchor) interpolated y over the shared x interval; NaN when there is none."""
    low = max(x_anchor.min(), x_test.min())
    high = min(x_anchor.max(), x_test.max())
    if not low < high:
        return float("nan")
    gap = _integral(x_test, y_test, low, high, method) - _integral(x_anchor, y_anchor, low, high, method)
    return gap / (high - low)


def _curve(rate: Sequence[float], quality: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(natural-log rate, quality) arrays, refusing curves that cannot be interpolated."""
    log_rate = np.log(np.asarray(rate, dtype=np.float64))
    values = np.asarray(quality, dtype=np.float64)
    if log_rate.shape != values.shape or log_rate.size < 2:
        raise ValueError(f"a curve needs at least 2 (rate, quality) pairs, got {len(rate)} rates and {len(quality)}")
    if not (np.all(np.isfinite(log_rate)) and np.all(np.isfinite(values))):
        raise ValueError("rates must be positive and finite and qualities finite")
    return log_rate, values


def bd_rate(rate_anchor: Sequence[float], quality_anchor: Sequence[float], rate_test: Sequence[float],
            quality_test: Sequence[float], method: Method = "pchip") -> float:
    """Average rate difference of test against anchor at equal quality, in percent (NaN: no overlap)."""
    log_a, q_a = _curve(rate_anchor, quality_anchor)
    log_t, q_t = _curve(rate_test, quality_test)
    return float(np.expm1(_mean_gap(q_a, log_a, q_t, log_t, method)) * 100.0)


def bd_psnr(rate_anchor: Sequence[float], quality_anchor: Sequence[float], rate_test: Sequence[float],
            quality_test: Sequence[float], method: Method = "pchip") -> float:
    """Average quality difference of test against anchor at equal rate, in dB (NaN: no overlap)."""
    log_a, q_a = _curve(rate_anchor, quality_anchor)
    log_t, q_t = _curve(rate_test, quality_test)
    return _mean_gap(log_a, q_a, log_t, q_t, method)
