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
    beyond the most it can read, and the result must re-encode to the input.

Coded data: compressai's rANS bytes (a multiple of 4, at least 8) followed by
the CRC32 of those bytes as u32 little-endian; empty when nothing is coded.
The CRC is needed because an entropy coder has almost no redundancy: about
1 in 500 single-bit flips still decodes, and re-encodes, to other symbols.
"""

from __future__ import annotations

import functools
import importlib.util
import operator
import zlib
from collections.abc import Sequence
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

_FULL = 1 << MAX_PRECISION
_PAD_CDF = [0, _FULL // 2, _FULL, _FULL]
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
    """compressai's 16-bit CDF for the table: n+2 entries, the escape slot given zero width."""
    cdf = np.full(len(table.freqs) + 2, _FULL, dtype=np.int64)
    cdf[0] = 0
    cdf[1:-1] = np.cumsum(np.asarray(table.freqs, dtype=np.int64) << (MAX_PRECISION - table.precision))
    return cdf.tolist()


def _certain_symbol(table: FrequencyTable) -> int | None:
    """The symbol if the table gives it all the mass (nothing to code), else None."""
    full = 1 << table.precision
    return table.offset + table.freqs.index(full) if full in table.freqs else None


@dataclass(frozen=True)
class _Layout:
    """Which CDF codes each symbol of the one rANS string; padding symbols come last."""

    cdf_ids: list[int]
    cdfs: list[list[int]]
    n_coded: int


def _layout(counts: Sequence[int], tables: Sequence[FrequencyTable]) -> _Layout:
    ids, cdfs = [], []
    for count, table in zip(counts, tables):
        if count and _certain_symbol(table) is None:
            ids.append(np.full(count, len(cdfs), dtype=np.int32))
            cdfs.append(table_cdf(table))
    n_coded = sum(len(i) for i in ids)
    padding = _MIN_CODED - n_coded if 0 < n_coded < _MIN_CODED else 0
    ids.append(np.full(padding, len(cdfs), dtype=np.int32))
    cdfs.append(_PAD_CDF)
    return _Layout(np.concatenate(ids).tolist(), cdfs, n_coded)


def _encode(values: np.ndarray, layout: _Layout) -> bytes:
    """Code table positions (0-based) of the coded symbols; padding symbols are 0."""
    if not layout.cdf_ids:
        return b""
    padded = np.zeros(len(layout.cdf_ids), dtype=np.int32)
    padded[: values.size] = values
    return _ans().RansEncoder().encode_with_indexes(
        padded.tolist(),
        layout.cdf_ids,
        layout.cdfs,
        [len(c) for c in layout.cdfs],
        [0] * len(layout.cdfs),
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
    layout = _layout([p.size for p in positions], [table for _, table in parts])
    coded = [p for p, (_, table) in zip(positions, parts) if _certain_symbol(table) is None]
    return _seal(_encode(np.concatenate([np.zeros(0, dtype=np.int64), *coded]), layout))


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
    layout = _layout(counts, [table for _, table in parts])
    data = bytes(data)
    _check_crc(data)
    decoded = np.zeros(0, dtype=np.int32)
    if layout.cdf_ids:
        guarded = data[:-_CRC_BYTES] + bytes(4 * len(layout.cdf_ids) + _DECODER_READ_MARGIN)
        decoded = np.asarray(
            _ans().RansDecoder().decode_with_indexes(
                guarded,
                layout.cdf_ids,
                layout.cdfs,
                [len(c) for c in layout.cdfs],
                [0] * len(layout.cdfs),
            ),
            dtype=np.int32,
        )[: layout.n_coded]
    if _seal(_encode(decoded, layout)) != data:
        raise EntropyFormatError("coded data is not what the encoder produces", field="coded data", offset=0)
    out, start = [], 0
    for count, (_, table) in zip(counts, parts):
        certain = _certain_symbol(table)
        if certain is not None:
            out.append(np.full(count, certain, dtype=np.int32))
        else:
            out.append((decoded[start : start + count] + table.offset).astype(np.int32))
            start += count
    return out
