"""write_video: one exit for frames, chosen by the path, always written atomically.

- an existing folder, or a path without extension: frame_000000.png, ... (lossless)
- .y4m / .yuv: 8-bit 4:2:0 converted by nvc.datasets.colour with info.colour (lossy in RGB)
- .mkv: FFV1, lossless in RGB
- .mp4: H.264, CRF 12 by default, or lossless in RGB (libx264rgb, qp 0) with lossless=True

A character device or FIFO with a known extension (a named pipe 'out.y4m') is written in place.
"""

import os
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

import numpy as np

from .atomic import check_target, output_file
from .encode import write_ffv1, write_h264
from .errors import VideoInputError
from .pngdir import write_png_folder
from .rawyuv import write_yuv
from .video import VideoInfo
from .y4m import write_y4m

_SUBSAMPLED = (".y4m", ".yuv")


def _checked(frames: Iterable[np.ndarray], info: VideoInfo, path: Path) -> Iterator[np.ndarray]:
    """The frames, each verified to be uint8 RGB of the info's size; at least one."""
    expected = (info.height, info.width, 3)
    count = 0
    for count, frame in enumerate(frames, 1):
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.shape != expected:
            found = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
            raise VideoInputError(f"{path}: frame {count - 1} is {found}, expected uint8 {expected}")
        yield np.ascontiguousarray(frame)
    if count == 0:
        raise VideoInputError(f"{path}: no frames to write")


def _writer(path: Path, lossless: bool) -> Callable[[Path, Iterable[np.ndarray], VideoInfo], None] | None:
    """The file writer for `path`, or None for a PNG folder; refuses what cannot be written."""
    suffix = path.suffix.lower()
    if path.is_dir() or not suffix:
        if path.exists() and not path.is_dir():
            raise VideoInputError(f"{path}: exists and is not a folder, cannot write PNG frames into it")
        return None
    if lossless and suffix in _SUBSAMPLED:
        raise VideoInputError(f"{path}: 4:2:0 {suffix} cannot hold RGB losslessly; use .mkv, .mp4 or a PNG folder")
    writers: dict[str, Callable[[Path, Iterable[np.ndarray], VideoInfo], None]] = {
        ".y4m": write_y4m, ".yuv": write_yuv, ".mkv": write_ffv1, ".mp4": partial(write_h264, lossless=lossless),
    }
    if suffix not in writers:
        raise VideoInputError(f"{path}: cannot write {suffix} files; use .mp4, .mkv, .y4m, .yuv or a folder")
    try:
        check_target(path)
    except OSError as error:
        raise VideoInputError(f"{path}: {error.strerror}") from None
    return writers[suffix]


def check_writable(path: str | os.PathLike[str], *, lossless: bool = False) -> None:
    """Refuse, before any frame exists, a path write_video would refuse (unknown extension, ...)."""
    _writer(Path(path), lossless)


def write_video(
    path: str | os.PathLike[str], frames: Iterable[np.ndarray], info: VideoInfo, *, lossless: bool = False
) -> None:
    """Write H x W x 3 uint8 RGB frames (or a T x H x W x 3 clip) described by `info`.

    Nothing appears under `path` unless every frame was written; info.frame_count is ignored.
    lossless=True is refused for .y4m/.yuv, whose 4:2:0 samples cannot hold RGB exactly.
    """
    path = Path(path)
    checked = _checked(frames, info, path)
    writer = _writer(path, lossless)
    if writer is None:
        write_png_folder(path, checked)
        return
    with output_file(path) as target:
        writer(target, checked, info)
