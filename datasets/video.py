"""What a video is to nvc: its description, its size limits, and the reader interface.

Frames are numpy uint8 RGB arrays of shape H x W x 3; a clip is T x H x W x 3.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol, runtime_checkable

import numpy as np

from .colour import ColourInfo
from .errors import VideoInputError
from .limits import MAX_SIDE, MIN_SIDE, as_fps, check_frame_count, check_size

__all__ = ["DEFAULT_FPS", "MAX_SIDE", "MIN_SIDE", "VideoInfo", "VideoSource", "as_fps", "check_size"]

DEFAULT_FPS = Fraction(30)
"""Frame rate assumed for inputs that carry none (a .yuv name without 'NNfps', a PNG folder)."""


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
        if self.frame_count is not None:
            check_frame_count(self.frame_count, "VideoInfo")


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
