"""The one PSNR rule, for fitting, the encoder's reports and ``nvc compare`` alike.

It lives in nvc.models, the lowest room that fits and scores frames, so that nvc.codec and the
tools reuse it instead of writing their own.
"""

from __future__ import annotations

import math

__all__ = ["psnr_from_mse"]


def psnr_from_mse(mse: float, peak: float = 1.0) -> float:
    """``10 log10(peak^2 / mse)`` in dB; infinite for identical signals (``mse == 0``)."""
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)
