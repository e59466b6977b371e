"""Encoding through PyAV: FFV1 in Matroska, H.264 in MP4, and single PNG images.

FFV1 stores the RGB frames as bgr0 and libx264rgb (lossless=True) as RGB with
qp 0; both decode to exactly the frames given. Lossy H.264 is CRF 12, yuv420p
converted by nvc.datasets.colour for even sizes, yuv444p for odd ones (4:2:0
H.264 needs even sides; 4:4:4 needs the High 4:4:4 profile, which fewer players
decode). Streams are tagged with the VideoInfo's matrix and range (RGB ones as
RGB) and matching primaries and transfer. FFmpeg holds a rate in signed 32-bit terms; a rate
whose terms are larger (valid in .nvc and .y4m) is written as the nearest one that fits, and a
rate below one frame per 18 hours as that rate.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .colour import ColourInfo, rgb_to_yuv420, rgb_to_yuv444
from .container import plane_pixels
from .video import VideoInfo

CRF = 12
"""x264 constant rate factor of lossy .mp4 output: visually transparent, still far smaller than lossless."""
_FROM_RGB = {"yuv420p": rgb_to_yuv420, "yuv444p": rgb_to_yuv444}
# AVColorSpace / AVColorPrimaries / AVColorTransferCharacteristic codes per matrix, and for RGB.
_TAGS = {"bt709": 1, "bt601": 6}
_RGB_COLORSPACE = 0
_RANGE_MPEG, _RANGE_JPEG = 1, 2
_MAX_RATIONAL_TERM = (1 << 31) - 1
_MIN_RATE = Fraction(1, 65535)
"""One frame per 18 hours: MP4's 32-bit durations overflow for slower rates (1/2^20 fps fails)."""


@dataclass(frozen=True)
class _Encoding:
    """A container format, an encoder and its settings."""

    container: str
    codec: str
    pix_fmt: str
    options: dict[str, str] = field(default_factory=dict)


def _tag(context: av.video.codeccontext.VideoCodecContext, colour: ColourInfo, yuv: bool) -> None:
    """Write the colour description into the stream (H.264 VUI, Matroska Colour, MP4 colr)."""
    context.color_primaries = context.color_trc = _TAGS[colour.matrix]
    context.colorspace = _TAGS[colour.matrix] if yuv else _RGB_COLORSPACE
    context.color_range = _RANGE_MPEG if yuv and not colour.full_range else _RANGE_JPEG


def ffmpeg_rate(fps: Fraction) -> Fraction:
    """`fps`, or the nearest rate the muxers take: 32-bit AVRational terms, at least _MIN_RATE."""
    if fps < _MIN_RATE:
        return _MIN_RATE
    if max(fps.numerator, fps.denominator) <= _MAX_RATIONAL_TERM:
        return fps
    return fps.limit_denominator(_MAX_RATIONAL_TERM // math.ceil(fps))


def _yuv_frame(rgb: np.ndarray, pix_fmt: str, colour: ColourInfo) -> av.VideoFrame:
    """A planar YUV frame holding nvc's own conversion of `rgb`."""
    frame = av.VideoFrame(rgb.shape[1], rgb.shape[0], pix_fmt)
    for plane, pixels in zip(frame.planes, _FROM_RGB[pix_fmt](rgb, colour)):
        plane_pixels(plane)[:] = pixels
    return frame


def _encode(path: Path, frames: Iterable[np.ndarray], info: VideoInfo, encoding: _Encoding) -> None:
    """Encode RGB frames into a new file at `path`."""
    yuv = encoding.pix_fmt in _FROM_RGB
    with av.open(str(path), "w", format=encoding.container) as output:
        stream = output.add_stream(encoding.codec, rate=ffmpeg_rate(info.fps))
        stream.width, stream.height, stream.pix_fmt = info.width, info.height, encoding.pix_fmt
        stream.options = dict(encoding.options)
        _tag(stream.codec_context, info.colour, yuv)
        for index, rgb in enumerate(frames):
            frame = _yuv_frame(rgb, encoding.pix_fmt, info.colour) if yuv else av.VideoFrame.from_ndarray(rgb, "rgb24")
            frame.pts = index
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))


def write_ffv1(path: Path, frames: Iterable[np.ndarray], info: VideoInfo) -> None:
    """Lossless FFV1 (bgr0) in Matroska."""
    _encode(path, frames, info, _Encoding("matroska", "ffv1", "bgr0"))


def write_h264(path: Path, frames: Iterable[np.ndarray], info: VideoInfo, lossless: bool) -> None:
    """H.264 in MP4: libx264rgb qp 0 when lossless, else libx264 at CRF."""
    if lossless:
        encoding = _Encoding("mp4", "libx264rgb", "rgb24", {"qp": "0"})
    else:
        pix_fmt = "yuv420p" if info.width % 2 == 0 and info.height % 2 == 0 else "yuv444p"
        encoding = _Encoding("mp4", "libx264", pix_fmt, {"crf": str(CRF)})
    _encode(path, frames, info, encoding)


def encode_png(rgb: np.ndarray) -> bytes:
    """One RGB frame as the bytes of an 8-bit RGB PNG file."""
    context = av.CodecContext.create("png", "w")
    context.width, context.height, context.pix_fmt = rgb.shape[1], rgb.shape[0], "rgb24"
    packets = context.encode(av.VideoFrame.from_ndarray(rgb, "rgb24")) + context.encode(None)
    return b"".join(bytes(packet) for packet in packets)
