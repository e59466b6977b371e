"""Helpers that take .nvc files apart and put edited ones back together (for the hostile-input tests).

Everything here writes *valid* framing around whatever edit a test makes (chunk CRCs, index and end
chunk), so that the check a test aims at is the one that fires, not the CRC in front of it.
Offsets follow docs/FORMAT.md; the field layouts come from the codec's own tables (HEAD, GROUP).
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from nvc.codec.bitstream import GROUP, HEAD
from nvc.codec.container import CHUNK_HEAD, CRC, PREAMBLE, scan_chunks
from nvc.codec.tensor_coding import TENSOR
from nvc.entropy import FREQUENCY, read_svarint, read_uvarint, table_kind
from tools.chunks import fix_crcs

__all__ = [
    "Chunk",
    "chunk_list",
    "build",
    "rechunk",
    "fix_crcs",
    "HEAD_FIELDS",
    "head_fields",
    "pack_head",
    "edit_head",
    "TensorLayout",
    "GroupLayout",
    "parse_group",
    "edit_group",
    "splice",
]

Chunk = tuple[bytes, bytes]
"""(type, data) of one chunk."""

HEAD_FIELDS = HEAD.names
HEAD_OFFSETS = HEAD.offsets
"""Offset of each HEAD field from the start of the HEAD chunk's data."""


def chunk_list(data: bytes, *, keep_index: bool = False) -> list[Chunk]:
    """The (type, data) of every chunk of a valid file, INDX and IEND left out unless asked for."""
    refs = scan_chunks(io.BytesIO(data))[1]
    out = [(data[r.offset : r.offset + 4], data[r.data_offset : r.data_offset + r.length]) for r in refs]
    return out if keep_index else [c for c in out if c[0] not in (b"INDX", b"IEND")]


def chunk_bytes(kind: bytes, payload: bytes, *, length: int | None = None) -> bytes:
    """One chunk with a correct CRC (``length`` overrides the stored length field only)."""
    head = CHUNK_HEAD.pack(kind, len(payload) if length is None else length)
    return head + payload + CRC.pack(zlib.crc32(payload, zlib.crc32(head)))


def build(chunks: list[Chunk], preamble: bytes, *, index: bool = True) -> bytes:
    """A file from a preamble and chunks; with ``index`` the INDX and IEND chunks are appended."""
    out = bytearray(preamble)
    groups = []
    for kind, payload in chunks:
        if kind == b"GRUP":
            groups.append(len(out))
        out += chunk_bytes(kind, payload)
    if index:
        at = len(out)
        out += chunk_bytes(b"INDX", struct.pack("<I", len(groups)) + b"".join(struct.pack("<Q", g) for g in groups))
        out += chunk_bytes(b"IEND", struct.pack("<Q", at))
    return bytes(out)


def rechunk(data: bytes, edit: Callable[[list[Chunk]], list[Chunk]]) -> bytes:
    """Rebuild a file after ``edit(list of (type, payload))`` with valid CRCs, index and end chunk."""
    return build(edit(chunk_list(data)), data[: PREAMBLE.size])


def splice(data: bytes, at: int, old_length: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + old_length :]


# --- HEAD --------------------------------------------------------------------------------------


def head_fields(payload: bytes) -> tuple[dict[str, int], dict]:
    """The fixed fields of a HEAD chunk's data, and its config as a JSON document."""
    return HEAD.unpack(payload), json.loads(payload[HEAD.size :])


def pack_head(values: dict[str, int], config: bytes | dict, *, config_length: int | None = None) -> bytes:
    """HEAD chunk data from fields and a config (a dict is written the way the encoder writes it)."""
    if isinstance(config, dict):
        config = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    fields = dict(values, config_length=len(config) if config_length is None else config_length)
    return HEAD.pack(fields) + config


def edit_head(data: bytes, *, config: Callable[[dict], object] | bytes | None = None,
              config_length: int | None = None, **values: int) -> bytes:
    """A copy of a valid file with HEAD fields replaced (and the config edited in place by a callable
    or replaced by raw bytes); CRCs, index and end chunk are rebuilt."""

    def edit(chunks: list[Chunk]) -> list[Chunk]:
        fields, doc = head_fields(chunks[0][1])
        fields.update(values)
        if callable(config):
            config(doc)
            new_config: bytes | dict = doc
        else:
            new_config = doc if config is None else config
        return [(b"HEAD", pack_head(fields, new_config, config_length=config_length)), *chunks[1:]]

    return rechunk(data, edit)


# --- GRUP --------------------------------------------------------------------------------------


@dataclass
class TensorLayout:
    """Where one tensor header's fields lie, as offsets into the GRUP chunk's data."""

    rank_at: int
    dims: list[int]
    dims_at: int
    mode_at: int
    mode: int
    step_at: int
    step: float
    crc_at: int
    table_at: int  # the precision byte
    precision: int
    offset_at: int
    offset: int
    size_at: int
    freqs: list[int]
    freqs_at: list[int]
    end: int  # first byte after the table

    @property
    def certain(self) -> bool:
        """True when one value has all the mass (the tensor is not in the rANS string)."""
        return (1 << self.precision) in self.freqs


@dataclass
class GroupLayout:
    """The parsed fields of a GRUP chunk's data (offsets into that data)."""

    group_index: int
    first_frame: int
    frame_count: int
    flags: int
    count_at: int
    tensors: list[TensorLayout] = field(default_factory=list)
    coded_length_at: int = 0
    coded_at: int = 0
    coded_length: int = 0


def parse_group(payload: bytes) -> GroupLayout:
    """Parse a valid GRUP chunk's data into field offsets (no decoding of the rANS string)."""
    group = GroupLayout(**GROUP.unpack(payload), count_at=GROUP.size)
    count, pos = read_uvarint(payload, GROUP.size)
    for _ in range(count):
        rank_at = pos
        rank = payload[pos]
        pos += 1
        dims = []
        for _ in range(rank):
            dim, pos = read_uvarint(payload, pos)
            dims.append(dim)
        mode_at = pos
        step = TENSOR.unpack(payload, pos)["step"]
        table_at = pos + TENSOR.size
        precision = payload[table_at]
        offset, size_at = read_svarint(payload, table_at + 1)
        size, pos = read_uvarint(payload, size_at)
        freqs, freqs_at = [], []  # kind 0's; a table of another kind shares only its first three fields
        if payload[mode_at] >> 4 == FREQUENCY.number:
            for _ in range(size):
                freqs_at.append(pos)
                freq, pos = read_uvarint(payload, pos)
                freqs.append(freq)
        else:
            pos = table_kind(payload[mode_at] >> 4).from_bytes(payload, table_at, tuple(dims))[1]
        step_at, crc_at = mode_at + TENSOR.offsets["step"], mode_at + TENSOR.offsets["symbols_crc"]
        group.tensors.append(TensorLayout(rank_at, dims, rank_at + 1, mode_at, payload[mode_at], step_at, step, crc_at,
                                          table_at, precision, table_at + 1, offset, size_at, freqs, freqs_at, pos))
    group.coded_length_at = pos
    group.coded_length, group.coded_at = read_uvarint(payload, pos)
    assert group.coded_at + group.coded_length == len(payload)
    return group


def edit_group(data: bytes, group: int, edit: Callable[[bytes, GroupLayout], bytes]) -> bytes:
    """A copy of a valid file whose ``group``-th GRUP data is replaced by ``edit(data, layout)``."""

    def apply(chunks: list[Chunk]) -> list[Chunk]:
        out, seen = [], 0
        for kind, payload in chunks:
            if kind == b"GRUP":
                if seen == group:
                    payload = edit(payload, parse_group(payload))
                seen += 1
            out.append((kind, payload))
        return out

    return rechunk(data, apply)
