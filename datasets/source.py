"""open_video: one entry point for every way frames come in, chosen by the path.

- a folder: its *.png files in natural order (pngdir)
- .y4m: YUV4MPEG2 (y4m)
- .yuv: raw 8-bit yuv420p, size and rate from the arguments or the name (rawyuv)
- anything else: whatever FFmpeg opens, first video stream (container)
"""

import os
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from .colour import ColourInfo
from .container import open_container
from .errors import VideoInputError
from .pngdir import open_png_folder
from .rawyuv import open_raw_yuv
from .request import ReadRequest
from .video import VideoInfo, VideoSource
from .y4m import open_y4m

__all__ = ["VideoInfo", "VideoSource", "VIDEO_SUFFIXES", "open_video", "read_clip"]

_READERS: dict[str, Callable[[Path, ReadRequest], VideoSource]] = {".y4m": open_y4m, ".yuv": open_raw_yuv}
VIDEO_SUFFIXES = frozenset({".y4m", ".yuv", ".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".ts", ".mts",
                            ".mpg", ".mpeg", ".flv", ".nut", ".ivf"})
"""The names a folder of videos is listed by (``nvc encode --batch``): open_video reads more (anything
FFmpeg opens), but a folder also holds notes, logs and outputs that are not videos."""


def open_video(
    path: str | os.PathLike[str],
    *,
    input_res: tuple[int, int] | None = None,
    fps: Fraction | None = None,
    pix_fmt: str | None = None,
    max_frames: int | None = None,
    seek: int = 0,
    colour: ColourInfo | None = None,
) -> VideoSource:
    """Open a video for reading; bad input raises VideoInputError here, before any frame is returned.

    input_res is (width, height): the size of a raw .yuv file, or the size any
    other file must have. fps is the rate of a raw file or an override of the
    file's own. pix_fmt is the FFmpeg pixel format the file must hold. colour
    overrides the file's (or the default BT.709 limited) Y'CbCr interpretation.
    seek skips that many frames; max_frames caps how many are read.
    """
    path = Path(path)
    request = ReadRequest(input_res, fps, pix_fmt, colour, max_frames, seek)
    try:
        if path.is_dir():
            return open_png_folder(path, request)
        if not path.is_file():
            raise VideoInputError(f"{path}: no such file")
        if path.stat().st_size == 0:
            raise VideoInputError(f"{path}: file is empty")
        return _READERS.get(path.suffix.lower(), open_container)(path, request)
    except OSError as error:
        raise VideoInputError(f"{path}: cannot read: {error.strerror or error}") from None


def read_clip(
    path: str | os.PathLike[str],
    *,
    input_res: tuple[int, int] | None = None,
    fps: Fraction | None = None,
    pix_fmt: str | None = None,
    max_frames: int | None = None,
    seek: int = 0,
    colour: ColourInfo | None = None,
) -> tuple[np.ndarray, VideoInfo]:
    """All selected frames as one T x H x W x 3 array (mind the memory), with their exact count in the info."""
    source = open_video(
        path, input_res=input_res, fps=fps, pix_fmt=pix_fmt, max_frames=max_frames, seek=seek, colour=colour
    )
    frames = list(source)
    return np.stack(frames), replace(source.info, frame_count=len(frames))
