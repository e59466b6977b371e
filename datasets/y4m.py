"""YUV4MPEG2 (.y4m): a one-line header, then 'FRAME' lines each followed by a raw frame.

Read: W, H, F are required; C must be a 4:2:0 variant (420jpeg, 420paldv,
420mpeg2, 420; absent means 420jpeg) and all are read alike (siting ignored);
I and A are ignored; of the X extensions only FFmpeg's XCOLORRANGE=FULL|LIMITED
is honoured. The file carries no colour matrix, so BT.709 is assumed unless
open_video gets colour=. Every frame header is checked and a truncated last
frame is refused when the file is opened.
Write: 'C420jpeg', XCOLORRANGE from the VideoInfo, square pixels, progressive.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .colour import ColourInfo
from .errors import VideoInputError
from .limits import as_fps, check_size
from .planar import read_yuv420_frames, yuv420_frame_bytes, yuv420_payloads
from .request import ReadRequest
from .video import VideoInfo

MAGIC = b"YUV4MPEG2"
FRAME = b"FRAME"
MAX_HEADER_BYTES = 4096
"""Longest stream or frame header line accepted."""
_CHROMA_420 = ("420jpeg", "420paldv", "420mpeg2", "420")
_RANGES = {"FULL": True, "LIMITED": False}


@dataclass(frozen=True)
class Y4mSource:
    """Frames of a .y4m file, memory-mapped one at a time from their checked offsets."""

    path: Path
    info: VideoInfo
    offsets: tuple[int, ...]

    def __iter__(self) -> Iterator[np.ndarray]:
        return read_yuv420_frames(self.path, self.offsets, self.info.width, self.info.height, self.info.colour)


def _line(data: np.ndarray, start: int, path: Path, what: str) -> tuple[bytes, int]:
    """The header line at `start` (without its newline) and the offset just past it."""
    chunk = bytes(data[start : start + MAX_HEADER_BYTES])
    end = chunk.find(b"\n")
    if end < 0:
        raise VideoInputError(f"{path}: {what} at byte {start} has no newline within {MAX_HEADER_BYTES} bytes")
    return chunk[:end], start + end + 1


def _positive_int(text: str, path: Path | str, field: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise VideoInputError(f"{path}: y4m header field {field}{text} is not a positive integer")
    return int(text)


def parse_stream_header(line: bytes, path: Path | str) -> tuple[int, int, Fraction | None, bool]:
    """(width, height, fps or None, full_range) from the stream header line."""
    try:
        tokens = line.decode("ascii").split()
    except UnicodeDecodeError:
        raise VideoInputError(f"{path}: y4m header is not ASCII") from None
    if not tokens or tokens[0] != MAGIC.decode():
        raise VideoInputError(f"{path}: not a YUV4MPEG2 file (bad magic)")
    fields: dict[str, str] = {}
    full_range = False
    for token in tokens[1:]:
        key, value = token[:1], token[1:]
        if key in ("W", "H", "F", "C"):
            if key in fields:
                raise VideoInputError(f"{path}: y4m header repeats field {key}")
            fields[key] = value
        elif key == "X":
            name, _, setting = value.partition("=")
            if name == "COLORRANGE" and setting in _RANGES:
                full_range = _RANGES[setting]
        elif key not in ("I", "A"):
            raise VideoInputError(f"{path}: unexpected y4m header field {token!r}")
    if "W" not in fields or "H" not in fields:
        raise VideoInputError(f"{path}: y4m header lacks W or H")
    chroma = fields.get("C", "420jpeg")
    if chroma not in _CHROMA_420:
        raise VideoInputError(f"{path}: y4m colour space C{chroma} is not supported (8-bit 4:2:0 only)")
    fps = None
    if "F" in fields:
        num, sep, den = fields["F"].partition(":")
        if not sep:
            raise VideoInputError(f"{path}: y4m frame rate F{fields['F']} is not of the form num:den")
        fps = Fraction(_positive_int(num, path, "F"), _positive_int(den, path, "F"))
    return _positive_int(fields["W"], path, "W"), _positive_int(fields["H"], path, "H"), fps, full_range


def _payload_offsets(data: np.ndarray, start: int, frame_bytes: int, limit: int | None, path: Path) -> list[int]:
    """Offsets of the first `limit` (or all) frame payloads, checking each FRAME line and length."""
    offsets: list[int] = []
    while start < len(data) and (limit is None or len(offsets) < limit):
        line, payload = _line(data, start, path, f"frame {len(offsets)} header")
        if not (line == FRAME or line.startswith(FRAME + b" ")):
            raise VideoInputError(f"{path}: frame {len(offsets)} does not start with FRAME (byte {start})")
        if payload + frame_bytes > len(data):
            raise VideoInputError(f"{path}: frame {len(offsets)} is truncated")
        offsets.append(payload)
        start = payload + frame_bytes
    return offsets


def open_y4m(path: Path, request: ReadRequest) -> Y4mSource:
    """Parse and check the header and the frame layout up to the last requested frame."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    try:
        line, first = _line(data, 0, path, "stream header")
        width, height, fps, full_range = parse_stream_header(line, path)
        check_size(width, height, path)
        request.expect(path, width, height, "yuv420p")
        fps = request.fps or fps
        if fps is None:
            raise VideoInputError(f"{path}: y4m header has no frame rate F; pass fps")
        fps = as_fps(fps, path)
        limit = None if request.max_frames is None else request.seek + request.max_frames
        offsets = _payload_offsets(data, first, yuv420_frame_bytes(width, height), limit, path)
    finally:
        del data
    window = request.window(path, len(offsets))
    colour = request.colour or ColourInfo(full_range=full_range)
    info = VideoInfo(width, height, fps, len(window), colour)
    return Y4mSource(path, info, tuple(offsets[window.start : window.stop]))


def write_y4m(path: Path, frames: Iterable[np.ndarray], info: VideoInfo) -> None:
    """A C420jpeg .y4m file of the RGB frames, converted with info.colour."""
    with open(path, "wb") as out:
        write_y4m_stream(out, frames, info)


def write_y4m_stream(out: BinaryIO, frames: Iterable[np.ndarray], info: VideoInfo) -> None:
    """The same y4m bytes written to a binary stream (a pipe), frame by frame as they come."""
    colour_range = "FULL" if info.colour.full_range else "LIMITED"
    header = (
        f"{MAGIC.decode()} W{info.width} H{info.height} F{info.fps.numerator}:{info.fps.denominator} "
        f"Ip A1:1 C420jpeg XCOLORRANGE={colour_range}\n"
    )
    out.write(header.encode("ascii"))
    for payload in yuv420_payloads(frames, info.colour):
        out.write(FRAME + b"\n")
        out.write(payload)
