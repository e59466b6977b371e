"""Video through pipes: frames from a binary stream (y4m, or raw yuv420p of a given size), y4m to one.

A pipe can be neither memory-mapped nor read twice, so a stream source reads one frame at a time
as it arrives and can be iterated once; its frame count is unknown until the end.  This is what
``ffmpeg -i in.mkv -f yuv4mpegpipe - | nvc encode - out.nvc`` feeds nvc.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from .colour import ColourInfo
from .errors import VideoInputError
from .planar import yuv420_frame_bytes, yuv420_to_rgb_frame
from .request import ReadRequest
from .video import DEFAULT_FPS, VideoInfo, check_size
from .y4m import FRAME, MAGIC, MAX_HEADER_BYTES, parse_stream_header, write_y4m_stream

__all__ = ["StreamSource", "open_stream", "write_y4m_stream"]


@dataclass
class StreamSource:
    """Frames read from a stream: ``info`` is known from the start, the frames arrive once."""

    info: VideoInfo
    _frames: Iterator[np.ndarray]

    def __iter__(self) -> Iterator[np.ndarray]:
        return self._frames


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes, fewer only at the end of the stream (pipes deliver in pieces)."""
    parts, left = [], size
    while left:
        part = stream.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _read_line(stream: BinaryIO, name: str, what: str, start: bytes = b"") -> bytes:
    """A header line without its newline; ``start`` holds bytes of it already read."""
    line = bytearray(start)
    while len(line) <= MAX_HEADER_BYTES:
        byte = stream.read(1)
        if not byte:
            raise VideoInputError(f"{name}: {what} ends before its newline")
        if byte == b"\n":
            return bytes(line)
        line += byte
    raise VideoInputError(f"{name}: {what} has no newline within {MAX_HEADER_BYTES} bytes")


def _y4m_payloads(stream: BinaryIO, name: str, frame_bytes: int) -> Iterator[bytes]:
    index = 0
    while True:
        start = stream.read(1)
        if not start:
            return
        line = _read_line(stream, name, f"frame {index} header", start)
        if not (line == FRAME or line.startswith(FRAME + b" ")):
            raise VideoInputError(f"{name}: frame {index} does not start with FRAME")
        payload = _read_exact(stream, frame_bytes)
        if len(payload) < frame_bytes:
            raise VideoInputError(f"{name}: frame {index} is truncated")
        yield payload
        index += 1


def _raw_payloads(stream: BinaryIO, name: str, frame_bytes: int, head: bytes) -> Iterator[bytes]:
    index = 0
    while True:
        payload = head + _read_exact(stream, frame_bytes - len(head))
        head = b""
        if not payload:
            return
        if len(payload) < frame_bytes:
            raise VideoInputError(f"{name}: the stream ends inside frame {index} "
                                  f"({len(payload)} of its {frame_bytes} bytes)")
        yield payload
        index += 1


def _frames(payloads: Iterator[bytes], info: VideoInfo, request: ReadRequest, name: str) -> Iterator[np.ndarray]:
    """Decode the requested window (seek, max_frames) of the payloads to RGB."""
    count = 0
    for index, payload in enumerate(payloads):
        if index < request.seek:
            continue
        yield yuv420_to_rgb_frame(np.frombuffer(payload, np.uint8), info.width, info.height, info.colour)
        count += 1
        if request.max_frames is not None and count == request.max_frames:
            return
    if count == 0:
        raise VideoInputError(f"{name}: holds no frames" if request.seek == 0
                              else f"{name}: seek to frame {request.seek} past the end of the stream")


def open_stream(stream: BinaryIO, request: ReadRequest | None = None, name: str = "stdin") -> StreamSource:
    """A y4m stream, or raw yuv420p frames of ``request.input_res`` when the stream is not y4m.

    The header is read and checked here; a bad frame raises VideoInputError while iterating.
    """
    request = request or ReadRequest()
    head = _read_exact(stream, len(MAGIC))
    if head == MAGIC:
        width, height, fps, full_range = parse_stream_header(_read_line(stream, name, "stream header", head), name)
        check_size(width, height, name)
        request.expect(name, width, height, "yuv420p")
        fps = request.fps or fps
        if fps is None:
            raise VideoInputError(f"{name}: y4m header has no frame rate F; pass fps")
        payloads = _y4m_payloads(stream, name, yuv420_frame_bytes(width, height))
    else:
        if request.input_res is None:
            raise VideoInputError(f"{name}: not a YUV4MPEG2 stream; for raw yuv420p give its size (--input-res WxH)")
        if request.pix_fmt not in (None, "yuv420p"):
            raise VideoInputError(f"{name}: raw video must be 8-bit yuv420p, not {request.pix_fmt}")
        (width, height), fps, full_range = request.input_res, request.fps or DEFAULT_FPS, False
        payloads = _raw_payloads(stream, name, yuv420_frame_bytes(width, height), head)
    info = VideoInfo(width, height, fps, None, request.colour or ColourInfo(full_range=full_range))
    return StreamSource(info, _frames(payloads, info, request, name))
