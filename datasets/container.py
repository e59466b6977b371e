"""Reading anything FFmpeg opens (.mp4, .mkv, .webm, .mov, .avi, PNG, ...) through PyAV.

The first video stream is decoded. yuv420p / yuv444p (and their yuvj full-range
twins) are converted by nvc.datasets.colour, so they agree bit for bit with the
raw readers; every other pixel format goes through FFmpeg's swscale with the
same matrix and range. The matrix and range come from the stream's tags:
BT.709 or unspecified -> BT.709, BT.470BG / SMPTE 170M -> BT.601, anything else
(BT.2020, ...) is refused unless open_video is given colour=. The rate is the
stream's average rate. Seeking decodes and drops the skipped frames, so it is
exact but costs their decoding time. A file that decodes to fewer frames than
its header declares (a frame count, or a duration) is read as far as it goes,
with a warning on the "nvc" logger that gives both counts.
"""

import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

from .colour import ColourInfo, yuv420_to_rgb, yuv444_to_rgb
from .errors import VideoInputError
from .limits import as_fps, check_size
from .request import ReadRequest
from .video import VideoInfo

_PLANAR_YUV: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray, ColourInfo], np.ndarray]] = {
    "yuv420p": yuv420_to_rgb,
    "yuvj420p": yuv420_to_rgb,
    "yuv444p": yuv444_to_rgb,
    "yuvj444p": yuv444_to_rgb,
}
# AVColorSpace codes: 0 RGB, 1 BT.709, 2 unspecified, 5 BT.470BG, 6 SMPTE 170M.
_MATRICES = {0: "bt709", 1: "bt709", 2: "bt709", 5: "bt601", 6: "bt601"}
_SWS_MATRICES = {"bt709": Colorspace.ITU709, "bt601": Colorspace.ITU601}
_LOG = logging.getLogger(__name__)


@contextmanager
def _reported(path: Path) -> Iterator[None]:
    """Turn FFmpeg's errors about a file into one-line VideoInputErrors."""
    try:
        yield
    except av.FFmpegError as error:
        raise VideoInputError(f"{path}: cannot decode: {error.strerror or error}") from None


def plane_pixels(plane: av.video.plane.VideoPlane) -> np.ndarray:
    """A plane's pixels without FFmpeg's row padding (a writable view for frames nvc allocates)."""
    # VideoPlane has the buffer protocol; PyAV's stubs do not declare it.
    rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)  # type: ignore[call-overload]
    return rows[:, : plane.width]


def _colour_of(frame: av.VideoFrame, path: Path) -> ColourInfo:
    """The matrix and range a decoded frame is tagged with."""
    if frame.format.is_rgb:
        return ColourInfo()
    matrix = _MATRICES.get(int(frame.colorspace))
    if matrix is None:
        raise VideoInputError(
            f"{path}: unsupported colour matrix (AVColorSpace {int(frame.colorspace)}); "
            "nvc reads BT.709 and BT.601, pass colour= to override"
        )
    full_range = frame.format.name.startswith("yuvj") or int(frame.color_range) == ColorRange.JPEG
    return ColourInfo(matrix, full_range)  # type: ignore[arg-type]


def _to_rgb(frame: av.VideoFrame, colour: ColourInfo) -> np.ndarray:
    """H x W x 3 uint8 RGB of a decoded frame, read with `colour`."""
    convert = _PLANAR_YUV.get(frame.format.name)
    if convert is not None:
        y, u, v = (plane_pixels(p) for p in frame.planes)  # the planar formats above have three planes
        return convert(y, u, v, colour)
    if frame.format.is_rgb:
        return frame.to_ndarray(format="rgb24")
    rgb = frame.reformat(
        format="rgb24",
        src_colorspace=_SWS_MATRICES[colour.matrix],
        src_color_range=ColorRange.JPEG if colour.full_range else ColorRange.MPEG,
        dst_color_range=ColorRange.JPEG,
    )
    return rgb.to_ndarray()


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    """The first video stream, its claimed size checked before anything is decoded."""
    if not container.streams.video:
        raise VideoInputError(f"{path}: has no video stream")
    stream = container.streams.video[0]
    check_size(stream.codec_context.width, stream.codec_context.height, path)
    stream.thread_type = "AUTO"
    return stream


@dataclass(frozen=True)
class AvSource:
    """Frames of a file's first video stream, decoded by FFmpeg."""

    path: Path
    info: VideoInfo
    seek: int
    max_frames: int | None
    declared: int | None = None
    """Frames the file's header declares (count, or duration x rate), when it says."""

    def __iter__(self) -> Iterator[np.ndarray]:
        stop = None if self.max_frames is None else self.seek + self.max_frames
        decoded = self.seek
        with _reported(self.path), av.open(str(self.path)) as container:
            stream = _video_stream(container, self.path)
            for decoded, frame in enumerate(islice(container.decode(stream), self.seek, stop), self.seek + 1):
                if (frame.width, frame.height) != (self.info.width, self.info.height):
                    raise VideoInputError(
                        f"{self.path}: frame {decoded - 1} is {frame.width}x{frame.height}, "
                        f"the stream started at {self.info.width}x{self.info.height}"
                    )
                yield _to_rgb(frame, self.info.colour)
        if self.declared is not None and decoded < min(self.declared, stop or self.declared):
            _LOG.warning("%s: the file declares %d frames but only %d decode (truncated or damaged?)",
                         self.path, self.declared, decoded)


def _declared_frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                     fps: Fraction) -> int | None:
    """The frame count the header claims: the stream's own, else its duration (or the file's, when the
    stream is the only one) times the rate, rounded down so that timestamp slack never over-claims."""
    if stream.frames:
        return stream.frames
    if stream.duration is not None and stream.time_base is not None:
        seconds = stream.duration * stream.time_base
    elif container.duration is not None and len(container.streams) == 1:
        seconds = Fraction(container.duration, av.time_base)
    else:
        return None
    return math.floor(seconds * fps) or None


def open_container(path: Path, request: ReadRequest) -> AvSource:
    """Probe the file and decode up to the first requested frame, so bad files fail here."""
    with _reported(path), av.open(str(path)) as container:
        stream = _video_stream(container, path)
        first = next(islice(container.decode(stream), request.seek, None), None)
        if first is None:
            missing = "no decodable video frames" if request.seek == 0 else f"fewer than {request.seek + 1} frames"
            raise VideoInputError(f"{path}: has {missing}")
        request.expect(path, first.width, first.height, first.format.name)
        fps = request.fps or stream.average_rate or stream.guessed_rate
        if not fps:
            raise VideoInputError(f"{path}: stream has no frame rate; pass fps")
        fps = as_fps(fps, path)
        frame_count = len(request.window(path, stream.frames)) if stream.frames else None
        colour = request.colour or _colour_of(first, path)
        info = VideoInfo(first.width, first.height, fps, frame_count, colour)
        declared = _declared_frames(container, stream, fps)
    return AvSource(path, info, request.seek, request.max_frames, declared)


def read_image(path: Path) -> np.ndarray:
    """The first frame of a still image (PNG, ...) as RGB, with the image's own colour tags."""
    with _reported(path), av.open(str(path)) as container:
        first = next(container.decode(_video_stream(container, path)), None)
        if first is None:
            raise VideoInputError(f"{path}: contains no decodable image")
        return _to_rgb(first, _colour_of(first, path))
