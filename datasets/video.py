"""What a video is to nvc: its description, its size limits, and the reader interface.

Frames are numpy uint8 RGB arrays of shape H x W x 3; a clip is T x H x W x 3.
"""

import numbers
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol, runtime_checkable

import numpy as np

from .colour import ColourInfo
from .errors import VideoInputError

MAX_SIDE = 8192
"""Largest width or height accepted, checked before any frame is allocated."""
MIN_SIDE = 1
"""Smallest width or height accepted."""
DEFAULT_FPS = Fraction(30)
"""Frame rate assumed for inputs that carry none (a .yuv name without 'NNfps', a PNG folder)."""


def check_size(width: int, height: int, where: object) -> None:
    """Refuse sizes outside [MIN_SIDE, MAX_SIDE] before anything that size is allocated."""
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise VideoInputError(
            f"{where}: frame size {width}x{height} is outside the supported {MIN_SIDE}..{MAX_SIDE} per side"
        )


def as_fps(value: object, where: object) -> Fraction:
    """A positive exact frame rate; floats are refused because 29.97 is not 30000/1001."""
    if isinstance(value, bool) or not isinstance(value, numbers.Rational) or value <= 0:
        raise VideoInputError(f"{where}: frame rate must be a positive int or Fraction, got {value!r}")
    return Fraction(value)


@dataclass(frozen=True)
class VideoInfo:
    """Size, rate, length and colour of a video.

    frame_count is the number of frames the source will yield, or None when the
    container does not say (it is not used when writing).
    """

    width: int
    height: int
    fps: Fraction
    frame_count: int | None = None
    colour: ColourInfo = field(default_factory=ColourInfo)

    def __post_init__(self) -> None:
        check_size(self.width, self.height, "VideoInfo")
        object.__setattr__(self, "fps", as_fps(self.fps, "VideoInfo"))
        if self.frame_count is not None and self.frame_count < 1:
            raise VideoInputError(f"VideoInfo: frame_count must be None or >= 1, got {self.frame_count}")


@runtime_checkable
class VideoSource(Protocol):
    """A readable video: `info` describes it, iterating yields its RGB frames.

    Every iteration starts again from the first selected frame, so a source can
    be read more than once (the file is reopened each time).
    """

    @property
    def info(self) -> VideoInfo:
        """Description of the frames this source yields."""
        ...

    def __iter__(self) -> Iterator[np.ndarray]:
        """H x W x 3 uint8 RGB frames, in display order."""
        ...
