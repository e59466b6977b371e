"""What the caller of open_video asked for, shared by every reader.

Raw .yuv files need the size and rate from here; self-describing files are
checked against what the caller expects, so a wrong assumption fails loudly.
"""

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .colour import ColourInfo
from .errors import VideoInputError
from .limits import as_fps, check_frame_count, check_size


@dataclass(frozen=True)
class ReadRequest:
    """open_video's keyword arguments, validated.

    input_res: (width, height) of a raw file, or the size a self-describing file must have.
    fps: rate of a raw file, or an override of the rate a file reports (frames are never dropped).
    pix_fmt: FFmpeg name of the pixel format the file must hold ('yuv420p' is the only raw one).
    colour: how to read Y'CbCr samples, overriding the file's tags or the BT.709 limited default.
    max_frames, seek: read at most max_frames frames, starting at frame index seek.
    """

    input_res: tuple[int, int] | None = None
    fps: Fraction | None = None
    pix_fmt: str | None = None
    colour: ColourInfo | None = None
    max_frames: int | None = None
    seek: int = 0

    def __post_init__(self) -> None:
        if self.input_res is not None:
            check_size(*self.input_res, "input_res")
        if self.fps is not None:
            object.__setattr__(self, "fps", as_fps(self.fps, "fps"))
        if self.max_frames is not None and self.max_frames < 1:
            raise VideoInputError(f"max_frames must be >= 1, got {self.max_frames}")
        if self.seek < 0:
            raise VideoInputError(f"seek must be >= 0, got {self.seek}")

    def expect(self, path: Path | str, width: int, height: int, pix_fmt: str) -> None:
        """Refuse a self-describing file whose size or format differs from what was asked for."""
        if self.input_res is not None and self.input_res != (width, height):
            raise VideoInputError(
                f"{path}: frames are {width}x{height}, not the requested {self.input_res[0]}x{self.input_res[1]}"
            )
        if self.pix_fmt is not None and self.pix_fmt != pix_fmt:
            raise VideoInputError(f"{path}: pixel format is {pix_fmt}, not the requested {self.pix_fmt}")

    def window(self, path: Path, available: int) -> range:
        """Indices of the frames to read out of `available`; refuses a seek past the end."""
        if available == 0:
            raise VideoInputError(f"{path}: contains no frames")
        if self.seek >= available:
            raise VideoInputError(f"{path}: seek to frame {self.seek} but the file has {available} frames")
        stop = available if self.max_frames is None else min(available, self.seek + self.max_frames)
        check_frame_count(stop - self.seek, path)
        return range(self.seek, stop)
