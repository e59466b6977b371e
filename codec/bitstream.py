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

from .config import (MAX_FRAMES, MAX_PIXELS, MAX_SIDE, CodecConfig, EncoderInfo, VideoHeader, config_from_json,
                     config_to_json)
from .container import FORMAT_VERSION, MIN_READER_VERSION, ChunkRef, ChunkWriter, read_chunk_data, scan_chunks
from .errors import BitstreamError

__all__ = ["GroupRef", "BitstreamWriter", "Bitstream", "decode_cost_problem"]

_HEAD = struct.Struct("<HHIIIIIBBI")
_GROUP = struct.Struct("<IIIB")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_MATRICES = ("bt709", "bt601")
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
        return self.chunk.data_offset + _GROUP.size


def group_layout(frame_count: int, group_size: int, key_interval: int) -> list[tuple[int, int, bool]]:
    """(first frame, frame count, is key) of every group; shared by encoder and reader."""
    return [
        (first, min(group_size, frame_count - first), (first // group_size) % key_interval == 0)
        for first in range(0, frame_count, group_size)
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

    A group's parameters are bounded; the untiled stages run on the whole padded frame,
    ``ceil(side / total stride) * total stride`` per side, so a total stride far above the frame
    size (a tiny frame with strides 8^8) would make the decoder allocate terabytes for an 8x8
    video; wide channels on large tiles can need feature maps far above the memory any
    encoder-made file needs; and wide channels with large kernels can take hours a frame.  Every
    architecture's config answers these questions itself.  The encoder asks too, before fitting.
    """
    model = config.model
    shapes = model.parameter_shapes(height, width, config.group_size)
    if sum(math.prod(shape) for shape in shapes.values()) > MAX_GROUP_PARAMETERS:
        return f"config implies more than {MAX_GROUP_PARAMETERS} parameters per group"
    longer = max(width, height, 16)
    if model.total_stride > longer:
        return (f"total stride {model.total_stride} exceeds the frame's longer side ({longer}): "
                "the frame would be mostly padding")
    largest = model.largest_feature_map(height, width, config.tile)
    if largest > MAX_FEATURE_VALUES:
        return f"config implies feature maps of {largest} values, more than {MAX_FEATURE_VALUES}"
    macs = model.render_macs(height, width, config.tile)
    if macs > MAX_MACS_PER_PIXEL * max(width * height, MIN_BUDGET_PIXELS):
        return (f"config implies {macs:.3g} multiply-accumulates per frame, more than {MAX_MACS_PER_PIXEL} "
                f"per pixel (of at least {MIN_BUDGET_PIXELS} pixels)")
    return None


def _video_header_field(width: int, height: int, frames: int, at: int) -> tuple[str, int]:
    """The HEAD field (and its offset) that made :class:`VideoHeader` refuse the values."""
    if not 1 <= width <= MAX_SIDE:
        return "width", at + 4
    if not 1 <= height <= MAX_SIDE or width * height > MAX_PIXELS:
        return "height", at + 8
    if not 1 <= frames <= MAX_FRAMES:
        return "frame_count", at + 20
    return "fps", at + 12


class BitstreamWriter:
    """Writes a whole file: header first, groups as they are fitted, index and end last."""

    def __init__(self, stream: BinaryIO, header: VideoHeader, config: CodecConfig, encoder: EncoderInfo) -> None:
        self._chunks = ChunkWriter(stream)
        config_bytes = config_to_json(config, encoder)
        head = _HEAD.pack(FORMAT_VERSION, MIN_READER_VERSION, header.width, header.height, header.fps.numerator, header.fps.denominator,
                          header.frame_count, _MATRICES.index(header.colour_matrix), int(header.full_range),
                          len(config_bytes))
        self._chunks.write(b"HEAD", head + config_bytes)
        self._group_offsets: list[int] = []
        self.header_bytes = self._chunks.position

    def write_group(self, index: int, first_frame: int, frame_count: int, key: bool, payload: bytes) -> int:
        """Append a group; returns the chunk's size in bytes."""
        start = self._chunks.position
        data = _GROUP.pack(index, first_frame, frame_count, KEY_FLAG if key else 0) + payload
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
        if len(data) < _HEAD.size:
            raise BitstreamError("HEAD chunk too short", field="HEAD", offset=at)
        version, min_reader, width, height, fps_num, fps_den, frames, matrix, full_range, config_len = \
            _HEAD.unpack_from(data)
        if (version, min_reader) != self._versions:
            raise BitstreamError("HEAD versions disagree with the preamble", field="format_version", offset=at)
        if fps_den == 0:
            raise BitstreamError("fps denominator is 0", field="fps", offset=at + 16)
        if matrix >= len(_MATRICES):
            raise BitstreamError(f"unknown colour matrix {matrix}", field="colour", offset=at + 24)
        if full_range > 1:
            raise BitstreamError(f"full_range is {full_range}, not 0 or 1", field="colour", offset=at + 25)
        if config_len != len(data) - _HEAD.size:
            raise BitstreamError(f"config length {config_len} disagrees with the HEAD chunk",
                                 field="config length", offset=at + 26)
        try:
            header = VideoHeader(width, height, Fraction(fps_num, fps_den), frames, _MATRICES[matrix], bool(full_range))
        except ValueError as exc:
            field, offset = _video_header_field(width, height, frames, at)
            raise BitstreamError(str(exc), field=field, offset=offset) from None
        try:
            config, encoder = config_from_json(bytes(data[_HEAD.size :]))
        except ValueError as exc:
            raise BitstreamError(str(exc), field="config", offset=at + _HEAD.size) from None
        if problem := decode_cost_problem(config, header.height, header.width):
            raise BitstreamError(problem, field="config", offset=at + _HEAD.size)
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
            if chunk.length < _GROUP.size:
                raise BitstreamError("GRUP chunk too short", field="GRUP", offset=chunk.data_offset)
            self._stream.seek(chunk.data_offset)
            got = _GROUP.unpack(self._stream.read(_GROUP.size))
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
        return read_chunk_data(self._stream, group.chunk)[_GROUP.size :]

    def group_for_frame(self, frame: int) -> GroupRef:
        return self.groups[frame // self.config.group_size]
