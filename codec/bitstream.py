"""The chunks of an .nvc file: HEAD, GRUP (one per group), INDX and IEND (docs/FORMAT.md).

:class:`BitstreamWriter` appends them; :class:`Bitstream` opens a file, validates its structure
(every group present once, in order, matching the index) and hands out group payloads on demand,
so decoding a frame range reads only the chunks it needs.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO

from nvc.datasets.colour import Matrix

from .config import (
    MAX_FRAMES,
    MAX_PIXELS,
    MAX_SIDE,
    CodecConfig,
    EncoderInfo,
    VideoHeader,
    config_from_json,
    config_to_json,
)
from .container import FORMAT_VERSION, MIN_READER_VERSION, ChunkRef, ChunkWriter, read_chunk_data, scan_chunks
from .errors import BitstreamError
from .layout import Field, Layout

__all__ = ["GroupRef", "BitstreamWriter", "Bitstream", "HEAD", "GROUP", "decode_cost_problem", "group_layout",
           "is_key_group"]

HEAD = Layout(
    Field("format_version", "H"),
    Field("min_reader_version", "H"),
    Field("width", "I"),
    Field("height", "I"),
    Field("fps_num", "I", "fps"),
    Field("fps_den", "I", "fps"),
    Field("frame_count", "I"),
    Field("colour_matrix", "B", "colour"),
    Field("full_range", "B", "colour"),
    Field("config_length", "I", "config length"),
)
"""The fixed fields of the HEAD chunk's data (docs/FORMAT.md); the config JSON follows them."""

GROUP = Layout(Field("group_index", "I"), Field("first_frame", "I"), Field("frame_count", "I"), Field("flags", "B"))
"""The fixed fields at the start of a GRUP chunk's data; the group's tensor payload follows them."""
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_MATRICES: tuple[Matrix, ...] = ("bt709", "bt601")
KEY_FLAG = 1
MAX_GROUP_PARAMETERS = 1 << 26
"""Bounds what one group's tensors may make the decoder allocate (256 MiB of float32)."""


@dataclass(frozen=True)
class GroupRef:
    """One group's place in the video and in the file."""

    index: int
    first_frame: int
    frame_count: int
    key: bool
    chunk: ChunkRef

    @property
    def payload_offset(self) -> int:
        return self.chunk.data_offset + GROUP.size


def is_key_group(index: int, key_interval: int) -> bool:
    """Whether group ``index`` is a key group (coded without reference to its predecessor)."""
    return index % key_interval == 0


def group_layout(frame_count: int, group_size: int, key_interval: int) -> list[tuple[int, int, bool]]:
    """(first frame, frame count, is key) of every group; shared by encoder, reader and fuzzer."""
    return [
        (first, min(group_size, frame_count - first), is_key_group(index, key_interval))
        for index, first in enumerate(range(0, frame_count, group_size))
    ]


MAX_FEATURE_VALUES = 1 << 29
"""Bounds the largest feature map rendering one frame makes (2 GiB of float32).  Every file the
encoder writes stays below it: the largest, 8192x4352 at quality 28 or below with 4096-pixel
tiles, needs about 2.7e8 values."""

MAX_MACS_PER_PIXEL = 1 << 17
"""Bounds the multiply-accumulates rendering one frame takes, per pixel of a frame of at least
MIN_BUDGET_PIXELS.  The costliest network codec/rate.py builds (quality 31 or below, 16-pixel tiles,
any size from 1x1 to 8192x4352) needs at most 40,500 per pixel of that area, 3.2x less."""

MIN_BUDGET_PIXELS = 1 << 16
"""Frames smaller than this (256x256) get its budget: their padding and halos cost more per pixel."""


def decode_cost_problem(config: CodecConfig, height: int, width: int) -> str | None:
    """Why decoding a video of this size with this config would cost far more than any file the
    encoder writes needs (nothing is allocated), or None.

    Every architecture's config answers the questions itself (nvc.models.ArchitectureConfig):
    a group's parameters are bounded; the frame size must suit the network (a network whose
    total stride is far above the frame size would make the decoder allocate terabytes for an 8x8
    video); wide channels on large tiles can need feature
    maps far above the memory any encoder-made file needs; and wide channels with large kernels
    can take hours a frame.  The encoder asks too, before fitting.
    """
    model = config.model
    shapes = model.parameter_shapes(height, width, config.group_size)
    if sum(math.prod(shape) for shape in shapes.values()) > MAX_GROUP_PARAMETERS:
        return f"config implies more than {MAX_GROUP_PARAMETERS} parameters per group"
    if problem := model.geometry_problem(height, width):
        return problem
    largest = model.largest_feature_map(height, width, config.tile)
    if largest > MAX_FEATURE_VALUES:
        return f"config implies feature maps of {largest} values, more than {MAX_FEATURE_VALUES}"
    macs = model.render_macs(height, width, config.tile)
    if macs > MAX_MACS_PER_PIXEL * max(width * height, MIN_BUDGET_PIXELS):
        return (f"config implies {macs:.3g} multiply-accumulates per frame, more than {MAX_MACS_PER_PIXEL} "
                f"per pixel (of at least {MIN_BUDGET_PIXELS} pixels)")
    return None


def _video_header_field(width: int, height: int, frames: int) -> str:
    """The HEAD field that made :class:`VideoHeader` refuse the values."""
    if not 1 <= width <= MAX_SIDE:
        return "width"
    if not 1 <= height <= MAX_SIDE or width * height > MAX_PIXELS:
        return "height"
    if not 1 <= frames <= MAX_FRAMES:
        return "frame_count"
    return "fps_num"


class BitstreamWriter:
    """Writes a whole file: header first, groups as they are fitted, index and end last."""

    def __init__(self, stream: BinaryIO, header: VideoHeader, config: CodecConfig, encoder: EncoderInfo) -> None:
        self._chunks = ChunkWriter(stream)
        config_bytes = config_to_json(config, encoder)
        head = HEAD.pack({
            "format_version": FORMAT_VERSION, "min_reader_version": MIN_READER_VERSION,
            "width": header.width, "height": header.height,
            "fps_num": header.fps.numerator, "fps_den": header.fps.denominator, "frame_count": header.frame_count,
            "colour_matrix": _MATRICES.index(header.colour_matrix), "full_range": int(header.full_range),
            "config_length": len(config_bytes),
        })
        self._chunks.write(b"HEAD", head + config_bytes)
        self._group_offsets: list[int] = []
        self.header_bytes = self._chunks.position

    def write_group(self, index: int, first_frame: int, frame_count: int, key: bool, payload: bytes) -> int:
        """Append a group; returns the chunk's size in bytes."""
        start = self._chunks.position
        data = GROUP.pack({"group_index": index, "first_frame": first_frame, "frame_count": frame_count,
                           "flags": KEY_FLAG if key else 0}) + payload
        self._group_offsets.append(self._chunks.write(b"GRUP", data))
        return self._chunks.position - start

    def finish(self) -> int:
        """Write the index and the end chunk; returns the file size."""
        index = _U32.pack(len(self._group_offsets)) + b"".join(_U64.pack(o) for o in self._group_offsets)
        index_offset = self._chunks.write(b"INDX", index)
        self._chunks.write(b"IEND", _U64.pack(index_offset))
        return self._chunks.position


class Bitstream:
    """A validated, opened .nvc file."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._versions, chunks = scan_chunks(stream)
        self.size = chunks[-1].end
        groups = [c for c in chunks if c.type == "GRUP"]
        expected = ["HEAD"] + ["GRUP"] * len(groups) + ["INDX", "IEND"]
        for position, chunk in enumerate(chunks):
            if position >= len(expected) or chunk.type != expected[position]:
                raise BitstreamError(f"unexpected {chunk.type} chunk (expected HEAD, GRUP..., INDX, IEND)",
                                     field="chunk type", offset=chunk.offset)
        if len(chunks) != len(expected):
            raise BitstreamError("missing chunks (expected HEAD, GRUP..., INDX, IEND)", field="chunk type",
                                 offset=chunks[-1].offset)
        self.header, self.config, self.encoder = self._parse_head(chunks[0])
        self.groups = self._parse_groups(groups, chunks[-2].offset)
        self._check_index(chunks[-2], chunks[-1], groups)
        self.group_bytes = sum(c.end - c.offset for c in groups)

    def _parse_head(self, ref: ChunkRef) -> tuple[VideoHeader, CodecConfig, EncoderInfo]:
        data = read_chunk_data(self._stream, ref)
        at = ref.data_offset
        if len(data) < HEAD.size:
            raise BitstreamError("HEAD chunk too short", field="HEAD", offset=at)
        head = HEAD.unpack(data)
        if (head["format_version"], head["min_reader_version"]) != self._versions:
            raise HEAD.error("HEAD versions disagree with the preamble", "format_version", at)
        if head["fps_den"] == 0:
            raise HEAD.error("fps denominator is 0", "fps_den", at)
        if head["colour_matrix"] >= len(_MATRICES):
            raise HEAD.error(f"unknown colour matrix {head['colour_matrix']}", "colour_matrix", at)
        if head["full_range"] > 1:
            raise HEAD.error(f"full_range is {head['full_range']}, not 0 or 1", "full_range", at)
        if head["config_length"] != len(data) - HEAD.size:
            raise HEAD.error(f"config length {head['config_length']} disagrees with the HEAD chunk", "config_length",
                             at)
        width, height, frames = head["width"], head["height"], head["frame_count"]
        try:
            header = VideoHeader(width, height, Fraction(head["fps_num"], head["fps_den"]), frames,
                                 _MATRICES[head["colour_matrix"]], bool(head["full_range"]))
        except ValueError as exc:
            raise HEAD.error(str(exc), _video_header_field(width, height, frames), at) from None
        try:
            config, encoder = config_from_json(bytes(data[HEAD.size :]))
        except ValueError as exc:
            raise BitstreamError(str(exc), field="config", offset=at + HEAD.size) from None
        if problem := decode_cost_problem(config, header.height, header.width):
            raise BitstreamError(problem, field="config", offset=at + HEAD.size)
        return header, config, encoder

    def _parse_groups(self, chunks: list[ChunkRef], index_offset: int) -> list[GroupRef]:
        # The count is checked before the layout is built: a header claiming 2^20 one-frame groups
        # must not make the reader build a million-entry list for a file that holds one group.
        expected = -(-self.header.frame_count // self.config.group_size)
        if len(chunks) != expected:
            offset = chunks[expected].offset if len(chunks) > expected else index_offset
            raise BitstreamError(f"{len(chunks)} groups present, the header implies {expected}",
                                 field="group count", offset=offset)
        layout = group_layout(self.header.frame_count, self.config.group_size, self.config.key_interval)
        groups = []
        for index, (chunk, (first, count, key)) in enumerate(zip(chunks, layout)):
            if chunk.length < GROUP.size:
                raise BitstreamError("GRUP chunk too short", field="GRUP", offset=chunk.data_offset)
            self._stream.seek(chunk.data_offset)
            got = tuple(GROUP.unpack(self._stream.read(GROUP.size)).values())
            if got != (index, first, count, KEY_FLAG if key else 0):
                raise BitstreamError(f"group header {got} out of order or overlapping; expected "
                                     f"{(index, first, count, int(key))}", field="group header",
                                     offset=chunk.data_offset)
            groups.append(GroupRef(index, first, count, key, chunk))
        return groups

    def _check_index(self, index_ref: ChunkRef, end_ref: ChunkRef, groups: list[ChunkRef]) -> None:
        end = read_chunk_data(self._stream, end_ref)
        if len(end) != _U64.size or _U64.unpack(end)[0] != index_ref.offset:
            raise BitstreamError("IEND does not point at the index", field="IEND", offset=end_ref.data_offset)
        data = read_chunk_data(self._stream, index_ref)
        expected = _U32.pack(len(groups)) + b"".join(_U64.pack(c.offset) for c in groups)
        if data != expected:
            raise BitstreamError("index disagrees with the group chunks", field="INDX", offset=index_ref.data_offset)

    @property
    def format_version(self) -> int:
        """The format version the file itself declares (not this reader's)."""
        return self._versions[0]

    def group_payload(self, group: GroupRef) -> bytes:
        """The tensor payload of a group, CRC-checked."""
        return read_chunk_data(self._stream, group.chunk)[GROUP.size :]

    def group_for_frame(self, frame: int) -> GroupRef:
        return self.groups[frame // self.config.group_size]
