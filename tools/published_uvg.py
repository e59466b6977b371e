"""Published rate-distortion results on UVG, drawn as reference lines next to nvc's UVG curves.

Copied from the project's shared/ANCHORS.md ("NeRV-family codecs on UVG" and "Classic codecs on
UVG 1080p"), which gathered them from the papers and the authors' published result files. All are
the mean over the 7 UVG sequences at full 1920x1080 (HiNeRV's convention: the plain mean of the
per-sequence bpp and of the per-sequence PSNR), PSNR in RGB, bpp from real file sizes where the
authors wrote files. The classic-codec lines are PSNR read at 0.02, 0.05 and 0.1 bpp. A run with
--crop 1920x960 (HNeRV's crop) is not strictly comparable to them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PublishedCurve", "PUBLISHED_UVG"]


@dataclass(frozen=True)
class PublishedCurve:
    """One method's published UVG points: (bpp, RGB PSNR in dB), by increasing rate."""

    name: str
    source: str
    points: tuple[tuple[float, float], ...]


_HINERV = "Kwan et al., HiNeRV: Video Compression with Hierarchical Encoding-based Neural Representation, NeurIPS 2023"
_CLASSIC = ("shared/ANCHORS.md, classic codecs on UVG 1080p: PSNR read at 0.02 / 0.05 / 0.1 bpp "
            "(the notes do not name the run)")
PUBLISHED_UVG: tuple[PublishedCurve, ...] = (
    PublishedCurve("NeRV", "Chen et al., NeRV: Neural Representations for Videos, NeurIPS 2021", ((0.112, 35.97),)),
    PublishedCurve(
        "HNeRV",
        "Chen et al., HNeRV, CVPR 2023; 1080p rerun by the HiNeRV authors (" + _HINERV + ")",
        ((0.0295, 33.68), (0.058, 34.94), (0.115, 36.15)),
    ),
    PublishedCurve(
        "HiNeRV", _HINERV, ((0.0149, 34.53), (0.0297, 36.01), (0.058, 37.45), (0.115, 38.60), (0.226, 39.63))
    ),
    PublishedCurve("x265 medium, no B-frames (published)", _CLASSIC, ((0.02, 33.11), (0.05, 35.53), (0.1, 37.01))),
    PublishedCurve("HM-18 RA (published)", _CLASSIC, ((0.02, 35.25), (0.05, 37.29), (0.1, 38.52))),
    PublishedCurve("VTM-17 RA (published)", _CLASSIC, ((0.02, 35.66), (0.05, 37.64), (0.1, 38.79))),
)
