"""The symbol domain: integers that fit in int32, the width compressai codes and checksums hash."""

from __future__ import annotations

import zlib

import numpy as np

SYMBOL_MIN = -(1 << 31)
SYMBOL_MAX = (1 << 31) - 1


def as_symbols(symbols: np.ndarray) -> np.ndarray:
    """Flatten integer symbols of any dtype to int64, rejecting values outside int32."""
    array = np.asarray(symbols)
    if not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise TypeError(f"symbols must have an integer dtype, got {array.dtype}")
    flat = array.ravel()
    if flat.size and (int(flat.min()) < SYMBOL_MIN or int(flat.max()) > SYMBOL_MAX):
        raise ValueError(f"symbols must lie in [{SYMBOL_MIN}, {SYMBOL_MAX}]")
    return flat.astype(np.int64)


def symbols_checksum(symbols: np.ndarray) -> int:
    """CRC32 of the symbols as little-endian int32, so checksums agree across machines."""
    return zlib.crc32(as_symbols(symbols).astype("<i4").tobytes())
