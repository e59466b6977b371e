"""The UVG test set (Ultra Video Group, Tampere): seven 1920x1080 120 fps 8-bit 4:2:0 raw sequences.

Files keep the names they unpack with, '<Name>_1920x1080_120fps_420_8bit_YUV.yuv'
(ReadySetGo unpacks as ReadySteadyGo), anywhere below the folder given to
find_uvg. Frames are streamed from the raw file by memory map, read as BT.709
limited range. HNeRV and its successors train and score on a centre crop to
HNERV_CROP (1920x960).
"""

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .colour import ColourInfo
from .crop import centre_crop
from .errors import VideoInputError
from .planar import yuv420_frame_bytes
from .source import open_video
from .video import VideoSource

UVG_WIDTH, UVG_HEIGHT = 1920, 1080
UVG_FPS = Fraction(120)
HNERV_CROP = (1920, 960)
"""(width, height) of HNeRV's centre crop of UVG frames."""
UVG_FRAMES = {
    "Beauty": 600,
    "Bosphorus": 600,
    "HoneyBee": 600,
    "Jockey": 600,
    "ReadySetGo": 600,
    "ShakeNDry": 300,
    "YachtRide": 600,
}
"""Sequence name -> number of frames."""
_FILE_STEMS = {"ReadySetGo": "ReadySteadyGo"}


def uvg_filename(name: str) -> str:
    """The raw file a UVG sequence unpacks as."""
    return f"{_FILE_STEMS.get(name, name)}_{UVG_WIDTH}x{UVG_HEIGHT}_{UVG_FPS}fps_420_8bit_YUV.yuv"


@dataclass(frozen=True)
class UvgSequence:
    """One UVG sequence on disk. The size fields default to UVG's; tests may shrink them."""

    name: str
    path: Path
    frame_count: int
    width: int = UVG_WIDTH
    height: int = UVG_HEIGHT
    fps: Fraction = UVG_FPS

    def open(self, *, crop: tuple[int, int] | None = None, max_frames: int | None = None) -> VideoSource:
        """Stream RGB frames (BT.709 limited), optionally centre-cropped to crop=(width, height), e.g. HNERV_CROP."""
        source = open_video(
            self.path, input_res=(self.width, self.height), fps=self.fps, colour=ColourInfo(), max_frames=max_frames
        )
        return source if crop is None else centre_crop(source, *crop)


def find_uvg(folder: str | Path) -> list[UvgSequence]:
    """The UVG sequences present below `folder`, in registry order.

    A file with the right name but the wrong size (an interrupted download) raises VideoInputError.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise VideoInputError(f"{folder}: not a folder")
    found = []
    for name, frames in UVG_FRAMES.items():
        matches = sorted(folder.rglob(uvg_filename(name)))
        if not matches:
            continue
        expected = frames * yuv420_frame_bytes(UVG_WIDTH, UVG_HEIGHT)
        size = matches[0].stat().st_size
        if size != expected:
            raise VideoInputError(f"{matches[0]}: {size} bytes, expected {expected} ({frames} frames of 1920x1080)")
        found.append(UvgSequence(name, matches[0], frames))
    return found
