"""Folders of PNG frames: written as frame_000000.png, frame_000001.png, ...; read in natural name order.

A folder carries no rate, so reading uses fps or DEFAULT_FPS; colour is RGB.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_folder
from .colour import ColourInfo
from .container import read_image
from .encode import encode_png
from .errors import VideoInputError
from .request import ReadRequest
from .video import DEFAULT_FPS, VideoInfo

FRAME_NAME = "frame_{:06d}.png"
_FRAME_FILE = re.compile(r"frame_(\d+)\.png")
_DIGITS = re.compile(r"(\d+)")


def _natural_key(path: Path) -> list[object]:
    """Sort 'f2.png' before 'f10.png'."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(path.name)]


@dataclass(frozen=True)
class PngFolderSource:
    """Frames of a folder of PNG files, decoded one file at a time."""

    path: Path
    info: VideoInfo
    files: tuple[Path, ...]

    def __iter__(self) -> Iterator[np.ndarray]:
        expected = (self.info.height, self.info.width, 3)
        for file in self.files:
            frame = read_image(file)
            if frame.shape != expected:
                raise VideoInputError(
                    f"{file}: is {frame.shape[1]}x{frame.shape[0]}, the folder's first frame is "
                    f"{self.info.width}x{self.info.height}"
                )
            yield frame


def open_png_folder(path: Path, request: ReadRequest) -> PngFolderSource:
    """List the folder's *.png files and size them from the first requested one."""
    files = sorted((f for f in path.iterdir() if f.suffix.lower() == ".png" and f.is_file()), key=_natural_key)
    window = request.window(path, len(files))
    selected = tuple(files[window.start : window.stop])
    first = read_image(selected[0])
    request.expect(path, first.shape[1], first.shape[0], "rgb24")
    colour = request.colour or ColourInfo()
    info = VideoInfo(first.shape[1], first.shape[0], request.fps or DEFAULT_FPS, len(selected), colour)
    return PngFolderSource(path, info, selected)


def write_png_folder(path: Path, frames: Iterable[np.ndarray]) -> None:
    """Write frame_NNNNNN.png files; in an existing folder, older frame files beyond the new last one are removed."""
    count = 0
    with atomic_folder(path) as temporary:
        for count, frame in enumerate(frames, 1):
            (temporary / FRAME_NAME.format(count - 1)).write_bytes(encode_png(frame))
    for stale in path.iterdir():
        match = _FRAME_FILE.fullmatch(stale.name)
        if match and int(match.group(1)) >= count:
            stale.unlink()
