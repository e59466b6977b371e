"""Centre crops of a video source, e.g. UVG's 1920x1080 to HNeRV's 1920x960."""

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from .errors import VideoInputError
from .video import VideoInfo, VideoSource


@dataclass(frozen=True)
class CentreCrop:
    """`source` cut to the middle width x height (offsets rounded down)."""

    source: VideoSource
    info: VideoInfo

    def __iter__(self) -> Iterator[np.ndarray]:
        top = (self.source.info.height - self.info.height) // 2
        left = (self.source.info.width - self.info.width) // 2
        for frame in self.source:
            yield np.ascontiguousarray(frame[top : top + self.info.height, left : left + self.info.width])


def centre_crop(source: VideoSource, width: int, height: int) -> CentreCrop:
    """Crop every frame of `source` to its centre width x height; refuses a crop larger than the frames."""
    if not (0 < width <= source.info.width and 0 < height <= source.info.height):
        raise VideoInputError(
            f"cannot crop {source.info.width}x{source.info.height} frames to {width}x{height}"
        )
    return CentreCrop(source, replace(source.info, width=width, height=height))
