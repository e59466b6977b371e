"""Y'CbCr <-> R'G'B' conversion for 8-bit frames (BT.709 / BT.601, limited / full range).

Everything in nvc works on RGB; these functions are the only place where YUV
files (raw .yuv, .y4m, yuv420p/yuv444p streams) become RGB and back, so that
every reader and writer agrees bit for bit.

Equations (ITU-R BT.709 / BT.601), with R', G', B' in [0, 1] (8-bit value / 255)::

    Kr, Kb = 0.2126, 0.0722 (BT.709)   or   0.299, 0.114 (BT.601);   Kg = 1 - Kr - Kb
    Y'  = Kr R' + Kg G' + Kb B'
    Pb  = (B' - Y') / (2 (1 - Kb))                      in [-1/2, 1/2]
    Pr  = (R' - Y') / (2 (1 - Kr))
    limited range:  Y = 16 + 219 Y'    Cb = 128 + 224 Pb    Cr = 128 + 224 Pr
    full range:     Y =      255 Y'    Cb = 128 + 255 Pb    Cr = 128 + 255 Pr

and the exact inverse for YUV -> RGB. Results are rounded to nearest (halves up)
and clipped to [0, 255].

4:2:0 chroma planes are ceil(H/2) x ceil(W/2). Going down, chroma is averaged over
each 2x2 block (an odd last row/column averages with itself) before rounding;
going up, each chroma sample is repeated over its 2x2 block. Chroma siting
(centre, MPEG-2 left, DV) is not modelled. With this pair, YUV -> RGB -> YUV
returns the original samples except where RGB clipping or rounding intervenes.
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np

Matrix = Literal["bt709", "bt601"]

_KR_KB: dict[str, tuple[float, float]] = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}


@dataclass(frozen=True)
class ColourInfo:
    """How a file's Y'CbCr samples map to RGB.

    The default, BT.709 limited range, is what HD material uses and what nvc
    assumes when a stream does not say.
    """

    matrix: Matrix = "bt709"
    full_range: bool = False

    def __post_init__(self) -> None:
        if self.matrix not in _KR_KB:
            raise ValueError(f"unsupported colour matrix {self.matrix!r}; expected 'bt709' or 'bt601'")


def chroma_shape(height: int, width: int) -> tuple[int, int]:
    """(rows, columns) of a 4:2:0 chroma plane: odd sizes round up."""
    return (height + 1) // 2, (width + 1) // 2


def _scales(colour: ColourInfo) -> tuple[float, float, float]:
    """(luma offset, luma span, chroma span) of the 8-bit code values."""
    return (0.0, 255.0, 255.0) if colour.full_range else (16.0, 219.0, 224.0)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """Round half up and clip to 8 bits (truncating a clipped non-negative value is floor)."""
    return np.clip(x + 0.5, 0.0, 255.0).astype(np.uint8)


def _downsample(plane: np.ndarray) -> np.ndarray:
    """Mean over 2x2 blocks; an odd last row/column is paired with itself."""
    height, width = plane.shape
    padded = np.pad(plane, ((0, height % 2), (0, width % 2)), mode="edge")
    return 0.25 * (padded[0::2, 0::2] + padded[0::2, 1::2] + padded[1::2, 0::2] + padded[1::2, 1::2])


def _upsample(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """Repeat each chroma sample over its 2x2 block, cut to the luma size."""
    return plane.repeat(2, axis=0).repeat(2, axis=1)[:height, :width]


def _rgb_to_yuv(rgb: np.ndarray, colour: ColourInfo, subsample: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, Cb, Cr uint8 planes; chroma from 2x2 means when subsampling (it is linear in R'G'B')."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {rgb.dtype} {rgb.shape}")
    kr, kb = _KR_KB[colour.matrix]
    offset, luma_span, chroma_span = _scales(colour)
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    luma = kr * r + (1.0 - kr - kb) * g + kb * b  # Y' * 255
    y = offset + luma * (luma_span / 255.0)
    if subsample:
        r, b, luma = _downsample(r), _downsample(b), _downsample(luma)
    u = 128.0 + (b - luma) * (chroma_span / (255.0 * 2.0 * (1.0 - kb)))
    v = 128.0 + (r - luma) * (chroma_span / (255.0 * 2.0 * (1.0 - kr)))
    return _to_uint8(y), _to_uint8(u), _to_uint8(v)


def _yuv_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, colour: ColourInfo) -> np.ndarray:
    """HxWx3 RGB from Y and Cb/Cr at full or 4:2:0 resolution (chroma terms are upsampled, not Cb/Cr)."""
    kr, kb = _KR_KB[colour.matrix]
    kg = 1.0 - kr - kb
    offset, luma_span, chroma_span = _scales(colour)
    codes = np.arange(256, dtype=np.float32)
    luma = ((codes - offset) * (255.0 / luma_span) + 0.5)[y]  # Y' * 255, plus the rounding half
    pb = ((codes - 128.0) * (255.0 / chroma_span))[u]  # Pb * 255
    pr = ((codes - 128.0) * (255.0 / chroma_span))[v]
    terms = (
        2.0 * (1.0 - kr) * pr,  # R' - Y'
        -(2.0 * kr * (1.0 - kr) * pr + 2.0 * kb * (1.0 - kb) * pb) / kg,  # G' - Y'
        2.0 * (1.0 - kb) * pb,  # B' - Y'
    )
    height, width = y.shape
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    for channel, term in enumerate(terms):
        if term.shape != y.shape:
            term = _upsample(term, height, width)
        rgb[..., channel] = np.clip(luma + term, 0.0, 255.0)  # assignment truncates: floor
    return rgb


def rgb_to_yuv444(rgb: np.ndarray, colour: ColourInfo = ColourInfo()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HxWx3 uint8 RGB -> full-resolution (Y, Cb, Cr) uint8 planes."""
    return _rgb_to_yuv(rgb, colour, subsample=False)


def rgb_to_yuv420(rgb: np.ndarray, colour: ColourInfo = ColourInfo()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HxWx3 uint8 RGB -> (Y HxW, Cb, Cr ceil(H/2) x ceil(W/2)) uint8 planes."""
    return _rgb_to_yuv(rgb, colour, subsample=True)


def yuv444_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, colour: ColourInfo = ColourInfo()) -> np.ndarray:
    """Full-resolution (Y, Cb, Cr) uint8 planes -> HxWx3 uint8 RGB."""
    _check_planes(y, u, v, y.shape if y.ndim == 2 else None)
    return _yuv_to_rgb(y, u, v, colour)


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, colour: ColourInfo = ColourInfo()) -> np.ndarray:
    """(Y HxW, Cb, Cr ceil(H/2) x ceil(W/2)) uint8 planes -> HxWx3 uint8 RGB."""
    _check_planes(y, u, v, chroma_shape(*y.shape) if y.ndim == 2 else None)
    return _yuv_to_rgb(y, u, v, colour)


def _check_planes(y: np.ndarray, u: np.ndarray, v: np.ndarray, chroma: tuple[int, ...] | None) -> None:
    """Reject planes that are not uint8 or whose chroma does not fit the luma."""
    if any(p.dtype != np.uint8 for p in (y, u, v)) or chroma is None or not u.shape == v.shape == chroma:
        raise ValueError(f"Y'CbCr planes do not fit together: Y {y.shape}, Cb {u.shape}, Cr {v.shape} (uint8 expected)")
