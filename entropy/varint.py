"""LEB128 varints (unsigned, and zigzag-signed) with strict bounds.

Values are limited to 64 bits (at most 10 bytes). Reading rejects
non-minimal encodings, so every value has exactly one valid byte form.
"""

from __future__ import annotations

import numpy as np

from .errors import EntropyFormatError

Buffer = bytes | bytearray | memoryview

MAX_VARINT_BYTES = 10
_U64_END = 1 << 64
_S64_MIN = -(1 << 63)
_S64_END = 1 << 63


def write_uvarint(value: int) -> bytes:
    """Encode 0 <= value < 2**64 as LEB128, least significant 7 bits first."""
    if not 0 <= value < _U64_END:
        raise ValueError(f"uvarint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_uvarint(buf: Buffer, pos: int, field: str = "varint") -> tuple[int, int]:
    """Decode a uvarint at buf[pos]; return (value, position after it)."""
    if pos < 0:
        raise ValueError(f"negative position {pos}")
    value = 0
    for i in range(MAX_VARINT_BYTES):
        if pos + i >= len(buf):
            raise EntropyFormatError("truncated varint", field=field, offset=pos + i)
        byte = buf[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            if byte == 0 and i > 0:
                raise EntropyFormatError("overlong varint", field=field, offset=pos)
            if value >= _U64_END:
                raise EntropyFormatError("varint exceeds 64 bits", field=field, offset=pos)
            return value, pos + i + 1
    raise EntropyFormatError(
        f"varint longer than {MAX_VARINT_BYTES} bytes", field=field, offset=pos
    )


def write_svarint(value: int) -> bytes:
    """Encode -2**63 <= value < 2**63 with zigzag, so small magnitudes stay short."""
    if not _S64_MIN <= value < _S64_END:
        raise ValueError(f"svarint out of range: {value}")
    return write_uvarint(2 * value if value >= 0 else -2 * value - 1)


def read_svarint(buf: Buffer, pos: int, field: str = "varint") -> tuple[int, int]:
    """Decode a zigzag svarint at buf[pos]; return (value, position after it)."""
    zigzag, end = read_uvarint(buf, pos, field)
    return (zigzag >> 1) ^ -(zigzag & 1), end


def uvarint_lengths(values: np.ndarray) -> np.ndarray:
    """Byte length of each non-negative int64 value's uvarint.

    Vectorised, so callers can estimate sizes without encoding.
    """
    values = np.asarray(values, dtype=np.int64)
    if values.size and values.min() < 0:
        raise ValueError("uvarint lengths need non-negative int64 values")
    lengths = np.ones(values.shape, dtype=np.int64)
    for k in range(1, MAX_VARINT_BYTES - 1):  # an int64 needs at most 9 bytes
        lengths += values >= (1 << (7 * k))
    return lengths
