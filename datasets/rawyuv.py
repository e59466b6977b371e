"""Raw 8-bit yuv420p files (.yuv): planes only, no header.

Size comes from input_res or the file name ('Beauty_1920x1080_120fps_420_8bit_YUV.yuv',
'foo_352x288.yuv'); the rate from fps, else the name's 'NNfps', else DEFAULT_FPS (30).
Tokens are separated by '_', '-' or '.'; a name declaring another bit depth or
chroma format ('10bit', '422', '444') is refused rather than misread.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .colour import ColourInfo
from .errors import VideoInputError
from .limits import as_fps, check_size
from .planar import read_yuv420_frames, yuv420_frame_bytes, yuv420_payloads
from .request import ReadRequest
from .video import DEFAULT_FPS, VideoInfo

_TOKEN_START = r"(?:^|[_.\-])"
_TOKEN_END = r"(?=$|[_.\-])"
_SIZE = re.compile(_TOKEN_START + r"(\d+)x(\d+)" + _TOKEN_END, re.IGNORECASE)
_FPS = re.compile(_TOKEN_START + r"(\d+(?:\.\d+)?)fps" + _TOKEN_END, re.IGNORECASE)
_BITS = re.compile(_TOKEN_START + r"(\d+)bits?" + _TOKEN_END, re.IGNORECASE)
_CHROMA = re.compile(_TOKEN_START + r"(4[0-4][0-4])p?" + _TOKEN_END, re.IGNORECASE)


def parse_yuv_name(name: str) -> tuple[tuple[int, int] | None, Fraction | None]:
    """((width, height) or None, fps or None) declared by a raw file's name.

    '29.97fps' is read as the exact decimal 2997/100; pass fps=Fraction(30000, 1001) for NTSC.
    """
    stem = Path(name).stem
    bits = _BITS.search(stem)
    if bits and bits.group(1) != "8":
        raise VideoInputError(f"{name}: {bits.group(1)}-bit raw video is not supported (8-bit yuv420p only)")
    chroma = _CHROMA.search(stem)
    if chroma and chroma.group(1) != "420":
        raise VideoInputError(f"{name}: {chroma.group(1)} chroma is not supported (8-bit yuv420p only)")
    size = _SIZE.search(stem)
    fps = _FPS.search(stem)
    return (
        (int(size.group(1)), int(size.group(2))) if size else None,
        Fraction(fps.group(1)) if fps else None,
    )


@dataclass(frozen=True)
class RawYuvSource:
    """Frames of a raw yuv420p file, memory-mapped one at a time."""

    path: Path
    info: VideoInfo
    offsets: range

    def __iter__(self) -> Iterator[np.ndarray]:
        return read_yuv420_frames(self.path, self.offsets, self.info.width, self.info.height, self.info.colour)


def open_raw_yuv(path: Path, request: ReadRequest) -> RawYuvSource:
    """Describe a raw file from the request and its name; refuse a size that is not whole frames."""
    if request.pix_fmt not in (None, "yuv420p"):
        raise VideoInputError(f"{path}: raw .yuv must be 8-bit yuv420p, not {request.pix_fmt}")
    named_size, named_fps = parse_yuv_name(path.name)
    size = request.input_res or named_size
    if size is None:
        raise VideoInputError(f"{path}: frame size unknown; name it like clip_352x288.yuv or pass input_res")
    width, height = size
    check_size(width, height, path)
    frame_bytes = yuv420_frame_bytes(width, height)
    file_bytes = path.stat().st_size
    if file_bytes % frame_bytes:
        raise VideoInputError(
            f"{path}: {file_bytes} bytes is not a whole number of {width}x{height} "
            f"yuv420p frames ({frame_bytes} bytes each)"
        )
    window = request.window(path, file_bytes // frame_bytes)
    fps = request.fps or (DEFAULT_FPS if named_fps is None else as_fps(named_fps, path))
    info = VideoInfo(width, height, fps, len(window), request.colour or ColourInfo())
    return RawYuvSource(path, info, range(window.start * frame_bytes, window.stop * frame_bytes, frame_bytes))


def write_yuv(path: Path, frames: Iterable[np.ndarray], info: VideoInfo) -> None:
    """Raw yuv420p planes of each RGB frame, converted with info.colour."""
    with open(path, "wb") as out:
        for payload in yuv420_payloads(frames, info.colour):
            out.write(payload)
