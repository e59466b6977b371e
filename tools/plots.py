"""Rate-distortion plots (PNG): RGB PSNR, YUV PSNR and MS-SSIM against bpp on a log axis.

Drawn through matplotlib's object API on an Agg canvas, so no display and no global pyplot state
are involved. nvc is red, x264 blue, x265 green, SVT-AV1 purple; dashed lines have no B-frames
(low delay); published results are dotted lines on the RGB PSNR panel. A metric no point has
(MS-SSIM of frames under 161 pixels) gets no panel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .curves import Curve
from .published_uvg import PublishedCurve

__all__ = ["plot_rd"]

PANELS = (("psnr_rgb", "PSNR RGB (dB)"), ("psnr_yuv", "PSNR YUV 6:1:1 (dB)"), ("ms_ssim_rgb", "MS-SSIM RGB"))
COLOURS = {"nvc": "tab:red", "x264": "tab:blue", "x265": "tab:green", "svtav1": "tab:purple"}
REFERENCE_COLOURS = ("tab:brown", "tab:olive", "tab:cyan", "tab:pink", "tab:gray", "black")
MARKERS = "osD^v<>p*h"


def _linestyle(name: str) -> str:
    """Dashed for a baseline without B-frames (``-nob``), dotted for a superseded curve (``-old``)."""
    if "-nob" in name:
        return "--"
    return ":" if name.endswith("-old") else "-"


def plot_rd(curves: dict[str, Curve], title: str, dest: Path, references: tuple[PublishedCurve, ...] = ()) -> None:
    """Write one PNG with a panel per metric; ``references`` are drawn on the RGB PSNR panel."""
    panels = [(key, label) for key, label in PANELS
              if any(np.isfinite(curve.values(key)).any() for curve in curves.values())]
    figure = Figure(figsize=(6 * len(panels), 4.8), layout="constrained")
    figure.suptitle(title)
    seen: dict[str, int] = {}
    styles = {}
    for name, curve in curves.items():
        index = seen[curve.codec] = seen.get(curve.codec, -1) + 1
        styles[name] = {"color": COLOURS.get(curve.codec, "black"), "marker": MARKERS[index % len(MARKERS)],
                        "linestyle": _linestyle(name), "linewidth": 2 if curve.codec == "nvc" else 1}
    for position, (key, label) in enumerate(panels, 1):
        axes = figure.add_subplot(1, len(panels), position)
        for name, curve in curves.items():
            axes.plot(curve.values("bpp"), curve.values(key), label=name, markersize=4, **styles[name])
        if key == "psnr_rgb":
            for index, reference in enumerate(references):
                bpp, quality = zip(*reference.points, strict=True)
                axes.plot(bpp, quality, label=reference.name, color=REFERENCE_COLOURS[index % len(REFERENCE_COLOURS)],
                          linestyle=":", marker=MARKERS[index % len(MARKERS)], markersize=4)
        axes.set_xscale("log")
        axes.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.xaxis.set_minor_formatter(NullFormatter())
        axes.set_xlabel("bits per pixel")
        axes.set_ylabel(label)
        axes.grid(True, which="both", alpha=0.3)
    figure.axes[0].legend(fontsize="x-small")
    figure.savefig(dest, dpi=110)
