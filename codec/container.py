"""The .nvc container: a signature, then self-delimiting chunks, each with a CRC32 (docs/FORMAT.md).

    file   = preamble chunk*
    preamble = signature[8] format_version:u16 min_reader_version:u16
    chunk  = type[4] length:u64 data[length] crc32(type, length, data):u32

A chunk type whose first letter is upper case is critical (a reader that does not know it must
refuse the file); lower case is ancillary (skipped).  The chunks of a file are HEAD, one GRUP per
group in order, INDX (the offset of every GRUP chunk) and IEND (the offset of INDX), in that order.
Every length is checked against the bytes present before anything is read or allocated.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from .errors import BitstreamError, NewerFormatError

__all__ = [
    "SIGNATURE",
    "FORMAT_VERSION",
    "MIN_READER_VERSION",
    "ChunkRef",
    "ChunkWriter",
    "scan_chunks",
    "read_chunk_data",
]

SIGNATURE = b"\x89NVC\r\n\x1a\n"
FORMAT_VERSION = 3
MIN_READER_VERSION = 3
PREAMBLE = struct.Struct("<8sHH")
CHUNK_HEAD = struct.Struct("<4sQ")
CRC = struct.Struct("<I")
MAX_CHUNK_BYTES = 1 << 31
MAX_CHUNKS = 1 << 21


@dataclass(frozen=True)
class ChunkRef:
    """Where one chunk lies in the file."""

    type: str
    offset: int  # of the chunk's type field
    length: int  # of its data

    @property
    def data_offset(self) -> int:
        return self.offset + CHUNK_HEAD.size

    @property
    def end(self) -> int:
        return self.data_offset + self.length + CRC.size


class ChunkWriter:
    """Writes the preamble, then chunks; tracks offsets for the index."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._stream.write(PREAMBLE.pack(SIGNATURE, FORMAT_VERSION, MIN_READER_VERSION))
        self.position = PREAMBLE.size

    def write(self, chunk_type: bytes, data: bytes) -> int:
        """Append a chunk; returns its offset."""
        if len(chunk_type) != 4:
            raise ValueError("chunk types are 4 bytes")
        offset = self.position
        head = CHUNK_HEAD.pack(chunk_type, len(data))
        crc = zlib.crc32(data, zlib.crc32(head))
        self._stream.write(head)
        self._stream.write(data)
        self._stream.write(CRC.pack(crc))
        self.position += len(head) + len(data) + CRC.size
        return offset


def file_size(stream: BinaryIO) -> int:
    position = stream.tell()
    size = stream.seek(0, io.SEEK_END)
    stream.seek(position)
    return size


def read_preamble(stream: BinaryIO) -> tuple[int, int]:
    """Check the signature and versions; returns (format version, minimum reader version)."""
    raw = stream.read(PREAMBLE.size)
    if not raw:
        raise BitstreamError("empty file, not an nvc file", field="signature", offset=0)
    if len(raw) < len(SIGNATURE) and raw == SIGNATURE[: len(raw)]:
        raise BitstreamError("file ends inside the signature", field="signature", offset=0)
    if len(raw) < len(SIGNATURE) or raw[: len(SIGNATURE)] != SIGNATURE:
        if raw[:4] == SIGNATURE[:4]:
            raise BitstreamError("damaged signature (was the file converted as text?)", field="signature", offset=0)
        raise BitstreamError("not an nvc file", field="signature", offset=0)
    if len(raw) < PREAMBLE.size:
        raise BitstreamError("file ends inside the preamble", field="format_version", offset=len(SIGNATURE))
    _, version, min_reader = PREAMBLE.unpack(raw)
    if min_reader > FORMAT_VERSION:
        raise NewerFormatError(
            f"file needs a newer nvc (reader version {min_reader}, this nvc reads {FORMAT_VERSION})",
            field="min_reader_version",
            offset=10,
        )
    if version < min_reader:
        raise BitstreamError(f"format version {version} below its minimum reader version {min_reader}",
                             field="format_version", offset=8)
    return version, min_reader


def scan_chunks(stream: BinaryIO) -> tuple[tuple[int, int], list[ChunkRef]]:
    """Walk the chunk headers (not their data) from after the preamble to IEND.

    Lengths are checked against the file size; unknown critical chunks are refused, unknown
    ancillary chunks skipped; nothing may follow IEND.  Returns the preamble's versions too.
    """
    size = file_size(stream)
    stream.seek(0)
    versions = read_preamble(stream)
    offset = PREAMBLE.size
    chunks: list[ChunkRef] = []
    while True:
        if offset == size:
            raise BitstreamError("file ends before its IEND chunk", field="chunk type", offset=offset)
        if size - offset < CHUNK_HEAD.size + CRC.size:
            raise BitstreamError("file ends inside a chunk header", field="chunk type", offset=offset)
        stream.seek(offset)
        raw_type, length = CHUNK_HEAD.unpack(stream.read(CHUNK_HEAD.size))
        chunk_type = _chunk_type(raw_type, offset)
        if length > min(MAX_CHUNK_BYTES, size - offset - CHUNK_HEAD.size - CRC.size):
            raise BitstreamError(f"{chunk_type} chunk length {length} exceeds the bytes present",
                                 field="chunk length", offset=offset + 4)
        ref = ChunkRef(chunk_type, offset, length)
        if chunk_type in _KNOWN or chunk_type[0].isupper():
            if chunk_type not in _KNOWN:
                raise BitstreamError(f"unknown critical chunk {chunk_type!r}", field="chunk type", offset=offset)
            chunks.append(ref)
        if len(chunks) > MAX_CHUNKS:
            raise BitstreamError("too many chunks", field="chunk type", offset=offset)
        offset = ref.end
        if chunk_type == "IEND":
            if offset != size:
                raise BitstreamError("bytes after the IEND chunk", field="IEND", offset=offset)
            return versions, chunks


_KNOWN = {"HEAD", "GRUP", "INDX", "IEND"}


def _chunk_type(raw: bytes, offset: int) -> str:
    if not all(0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A for b in raw):
        raise BitstreamError(f"chunk type {raw!r} is not four ASCII letters", field="chunk type", offset=offset)
    return raw.decode("ascii")


def read_chunk_data(stream: BinaryIO, ref: ChunkRef) -> bytes:
    """Read a chunk's data and verify its CRC32."""
    stream.seek(ref.offset)
    raw = stream.read(ref.end - ref.offset)
    if len(raw) != ref.end - ref.offset:
        raise BitstreamError(f"{ref.type} chunk is truncated", field="chunk length", offset=ref.offset + 4)
    body, (stored,) = raw[: -CRC.size], CRC.unpack(raw[-CRC.size :])
    if zlib.crc32(body) != stored:
        raise BitstreamError(f"{ref.type} chunk fails its CRC32", field="crc32", offset=ref.end - CRC.size)
    return body[CHUNK_HEAD.size :]
