"""Many symbol streams, each with its own table, coded as one rANS string by compressai.

compressai's C++ coder (compressai/cpp_exts/rans/rans_interface.cpp) is used
only where it is safe:
  * its escape symbol (the CDF's last slot) gets zero width, so the decoder can
    never enter bypass mode; the encoder therefore refuses uncodable symbols;
  * it stores a symbol's range as uint16, so a symbol holding all 65536 would
    become range 0 and divide by zero: such certain parts are not coded at all;
  * its output buffer holds one 32-bit word per symbol but the final flush adds
    two, so fewer than _MIN_CODED coded symbols are padded to _MIN_CODED;
  * its decoder never checks where its input ends, so the input is zero-padded
    beyond the most it can read, and the result must re-encode to the input;
  * its bindings take and return Python lists (8 bytes a symbol and more), so it
    is called chunk by chunk from numpy arrays;
  * its decoder finds each symbol by a linear search of the CDF, so the CDF holds
    only the symbols present (every symbol keeps its start and width, so the
    bytes are those of the full table).

Before decoding, the rANS bytes must be long enough for the symbol counts
(_check_length), so a small file cannot make the decoder work through more
symbols than a file of its size that the encoder wrote could hold.

Coded data: compressai's rANS bytes (a multiple of 4, at least 8) followed by
the CRC32 of those bytes as u32 little-endian; empty when nothing is coded.
The CRC is needed because an entropy coder has almost no redundancy: about
1 in 500 single-bit flips still decodes, and re-encodes, to other symbols.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import operator
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from .errors import EntropyFormatError
from .symbols import as_symbols
from .tables import MAX_PRECISION, FrequencyTable

MAX_SYMBOLS = 1 << 28
"""Most symbols one call may code; bounds what a hostile count can make the decoder allocate."""

_MIN_CODED = 8
"""n coded symbols emit at most n/2 words plus the 2-word flush into compressai's n-word buffer."""

_MIN_BODY = 8
"""The rANS bytes of anything coded: at least the 8-byte flush of the final state."""

_CHUNK = 1 << 16
"""Symbols per call into compressai: bounds the Python lists its bindings take and return."""

_FULL = 1 << MAX_PRECISION
_CRC_BYTES = 4
_DECODER_READ_MARGIN = 16
"""Bytes beyond 4 per symbol: the 8-byte initial state plus slack."""


@functools.cache
def _ans() -> ModuleType:
    """compressai's rANS extension, loaded on its own.

    ``import compressai`` pulls in torchvision and every model (about 4.6 s); the rANS coder is a
    self-contained extension module, so it is loaded straight from compressai's folder.
    """
    spec = importlib.util.find_spec("compressai")
    folders = spec.submodule_search_locations if spec is not None else None
    for folder in folders or ():
        for library in sorted(Path(folder).glob("ans.*")):
            if library.suffix in (".so", ".pyd"):
                ext_spec = importlib.util.spec_from_file_location("compressai.ans", library)
                if ext_spec is not None and ext_spec.loader is not None:
                    module = importlib.util.module_from_spec(ext_spec)
                    ext_spec.loader.exec_module(module)
                    return module
    from compressai import ans

    return ans


def table_cdf(table: FrequencyTable) -> list[int]:
    """compressai's 16-bit CDF of the table's nonzero frequencies, the escape slot given zero width."""
    widths = _widths(table)
    return [0, *np.cumsum(widths[widths > 0]).tolist(), _FULL]


def _widths(table: FrequencyTable) -> np.ndarray:
    """Each table position's 16-bit width (its frequency scaled to MAX_PRECISION)."""
    return np.asarray(table.freqs, dtype=np.int64) << (MAX_PRECISION - table.precision)


def _certain_symbol(table: FrequencyTable) -> int | None:
    """The symbol if the table gives it all the mass (nothing to code), else None."""
    full = 1 << table.precision
    return table.offset + table.freqs.index(full) if full in table.freqs else None


@dataclass(frozen=True)
class _Segment:
    """A run of the rANS string coded with one CDF: one part's symbols, or the padding."""

    count: int
    cdf: list[int]
    present: np.ndarray
    """Table position (0-based) of each CDF slot but the escape."""
    widest: int
    """Largest 16-bit width: each symbol adds at least (2^16 - widest) / 2^16 bits."""


def _segment(count: int, table: FrequencyTable) -> _Segment:
    widths = _widths(table)
    return _Segment(count, table_cdf(table), np.flatnonzero(widths).astype(np.int32), int(widths.max()))


_PADDING = _Segment(0, [0, _FULL // 2, _FULL, _FULL], np.arange(2, dtype=np.int32), _FULL // 2)


def _segments(counts: Sequence[int], tables: Sequence[FrequencyTable]) -> list[_Segment]:
    """The coded segments in string order; parts whose table gives one symbol all the mass code nothing."""
    segments = [_segment(c, t) for c, t in zip(counts, tables) if c and _certain_symbol(t) is None]
    coded = sum(s.count for s in segments)
    if 0 < coded < _MIN_CODED:
        segments.append(dataclasses.replace(_PADDING, count=_MIN_CODED - coded))
    return segments


def _chunks(segments: Sequence[_Segment]) -> Iterator[tuple[list[int], int, int]]:
    """(CDF, start, stop) of each call into compressai, in string order, at most _CHUNK symbols each."""
    start = 0
    for segment in segments:
        stop = start + segment.count
        for first in range(start, stop, _CHUNK):
            yield segment.cdf, first, min(first + _CHUNK, stop)
        start = stop


def _encode(slots: np.ndarray, segments: Sequence[_Segment]) -> bytes:
    """Code the CDF slots of every segment (padding included)."""
    if not segments:
        return b""
    encoder = _ans().BufferedRansEncoder()
    for cdf, start, stop in _chunks(segments):
        encoder.encode_with_indexes(slots[start:stop].tolist(), [0] * (stop - start), [cdf], [len(cdf)], [0])
    return encoder.flush()


def _decode(body: bytes, segments: Sequence[_Segment]) -> np.ndarray:
    """Decode the CDF slots of every segment into one int32 array."""
    slots = np.zeros(sum(s.count for s in segments), dtype=np.int32)
    if slots.size:
        decoder = _ans().RansDecoder()
        decoder.set_stream(body + bytes(4 * slots.size + _DECODER_READ_MARGIN))
        for cdf, start, stop in _chunks(segments):
            slots[start:stop] = decoder.decode_stream([0] * (stop - start), [cdf], [len(cdf)], [0])
    return slots


def _check_length(body: int, segments: Sequence[_Segment]) -> None:
    """Refuse rANS bytes too few for the symbol counts, before anything their size is allocated.

    Coding a symbol of width w multiplies the 64-bit rANS state by at least about 2^16 / w, i.e.
    adds log2(2^16 / w) >= (2^16 - w) / 2^16 bits, and the output is every renormalised word plus
    the 8-byte flush of the state; so n symbols whose widest width is w need at least
    n (2^16 - w) / 2^16 bits (an estimate from below; the encoder's own output always meets it).
    """
    if not segments:
        return
    need = sum(s.count * (_FULL - s.widest) for s in segments)  # in 2^-16 bits
    if body < _MIN_BODY or 8 * _FULL * body < need:
        least = max(_MIN_BODY, -(-need // (8 * _FULL)))
        raise EntropyFormatError(
            f"{body} bytes of coded data cannot hold {sum(s.count for s in segments)} symbols "
            f"of these tables (they need at least {least})",
            field="coded data",
            offset=0,
        )


def _seal(body: bytes) -> bytes:
    """Append the CRC32 that lets the decoder reject corruption before decoding."""
    return body + zlib.crc32(body).to_bytes(_CRC_BYTES, "little") if body else b""


def _check_crc(data: bytes) -> None:
    if data and (
        len(data) < _CRC_BYTES
        or zlib.crc32(data[:-_CRC_BYTES]) != int.from_bytes(data[-_CRC_BYTES:], "little")
    ):
        raise EntropyFormatError(
            "coded data fails its CRC32", field="checksum", offset=max(0, len(data) - _CRC_BYTES)
        )


def _positions(symbols: np.ndarray, table: FrequencyTable) -> np.ndarray:
    """Symbols as 0-based table positions; ValueError if one has no frequency."""
    positions = as_symbols(symbols) - table.offset
    if positions.size == 0:
        return positions
    if positions.min() < 0 or positions.max() >= len(table.freqs):
        raise ValueError(
            f"symbols {positions.min() + table.offset}..{positions.max() + table.offset} outside "
            f"table {table.offset}..{table.offset + len(table.freqs) - 1}"
        )
    zero = np.asarray(table.freqs, dtype=np.int64)[positions] == 0
    if zero.any():
        raise ValueError(f"symbol {positions[zero.argmax()] + table.offset} has frequency 0")
    return positions


def encode_streams(parts: Sequence[tuple[np.ndarray, FrequencyTable]]) -> bytes:
    """Code every part's symbols (any shape, flattened) under its own table into one string."""
    positions = [_positions(symbols, table) for symbols, table in parts]
    total = sum(p.size for p in positions)
    if total > MAX_SYMBOLS:
        raise ValueError(f"{total} symbols > MAX_SYMBOLS={MAX_SYMBOLS}")
    segments = _segments([p.size for p in positions], [table for _, table in parts])
    coded = [p for p, (_, table) in zip(positions, parts) if p.size and _certain_symbol(table) is None]
    slots = np.zeros(sum(s.count for s in segments), dtype=np.int64)  # padding slots stay 0
    if coded:
        to_slots = [np.searchsorted(segment.present, p) for segment, p in zip(segments, coded)]
        slots[: sum(p.size for p in coded)] = np.concatenate(to_slots)
    return _seal(_encode(slots, segments))


def _checked_counts(parts: Sequence[tuple[int, FrequencyTable]]) -> list[int]:
    counts = [operator.index(count) for count, _ in parts]
    if any(c < 0 for c in counts) or sum(counts) > MAX_SYMBOLS:
        raise EntropyFormatError(
            f"symbol counts must be >= 0 and total <= MAX_SYMBOLS={MAX_SYMBOLS}",
            field="symbol count",
            offset=0,
        )
    return counts


def decode_streams(data: bytes, parts: Sequence[tuple[int, FrequencyTable]]) -> list[np.ndarray]:
    """Decode (count, table) parts from one string into int32 arrays.

    Accepts only the exact bytes encode_streams would produce, so truncated,
    padded or corrupted data raises EntropyFormatError.
    """
    counts = _checked_counts(parts)
    segments = _segments(counts, [table for _, table in parts])
    data = bytes(data)
    _check_crc(data)
    body = data[:-_CRC_BYTES]
    _check_length(len(body), segments)
    slots = _decode(body, segments)
    if _seal(_encode(slots, segments)) != data:
        raise EntropyFormatError("coded data is not what the encoder produces", field="coded data", offset=0)
    out, start = [], 0
    coded = iter(segments)
    for count, (_, table) in zip(counts, parts):
        certain = _certain_symbol(table)
        if certain is not None or not count:
            out.append(np.full(count, 0 if certain is None else certain, dtype=np.int32))
        else:
            segment = next(coded)
            values = segment.present[slots[start : start + count]] + table.offset  # int32: the table fits
            out.append(values.astype(np.int32, copy=False))
            start += count
    return out
