"""Frequency tables: building them from symbols, and their compact byte form.

Byte form, in order:
    precision      u8, 1..16
    offset         zigzag svarint; the first symbol of the table
    alphabet size  uvarint n, 1..MAX_ALPHABET; symbols offset .. offset+n-1
    freqs          n uvarints, each <= 1 << precision, summing to exactly 1 << precision
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import EntropyFormatError
from .symbols import SYMBOL_MAX, SYMBOL_MIN, as_symbols
from .varint import Buffer, read_svarint, read_uvarint, uvarint_lengths, write_svarint, write_uvarint

MAX_PRECISION = 16
"""rANS works at 16-bit precision; coarser tables are scaled up exactly by shifting."""

MAX_ALPHABET = 1 << 16
"""Most symbols one table may span; bounds parser allocation and compressai's linear CDF search."""


def _precision_problem(precision: int) -> str | None:
    if precision > MAX_PRECISION:
        return f"precision {precision} > {MAX_PRECISION}"
    if precision < 1:
        return f"precision {precision} < 1"
    return None


def _offset_problem(offset: int) -> str | None:
    if not SYMBOL_MIN <= offset <= SYMBOL_MAX:
        return f"offset {offset} outside int32"
    return None


def _size_problem(offset: int, size: int) -> str | None:
    if not 1 <= size <= MAX_ALPHABET:
        return f"alphabet size {size} not in 1..{MAX_ALPHABET}"
    if offset + size - 1 > SYMBOL_MAX:
        return f"symbols {offset}..{offset + size - 1} overflow int32"
    return None


def _freq_problem(freq: int, precision: int) -> str | None:
    if not 0 <= freq <= 1 << precision:
        return f"frequency {freq} not in 0..{1 << precision}"
    return None


def _sum_problem(total: int, precision: int) -> str | None:
    if total == 0:
        return "all frequencies are zero"
    if total != 1 << precision:
        return f"frequencies sum to {total}, expected {1 << precision}"
    return None


@dataclass(frozen=True)
class FrequencyTable:
    """Integer symbol frequencies; symbol offset + i has probability freqs[i] / 2**precision.

    Symbols that never occurred may have frequency 0 and then cannot be coded.
    """

    offset: int
    precision: int
    freqs: tuple[int, ...]

    def __post_init__(self) -> None:
        problem = (
            _precision_problem(self.precision)
            or _offset_problem(self.offset)
            or _size_problem(self.offset, len(self.freqs))
            or _freq_problem(min(self.freqs), self.precision)
            or _freq_problem(max(self.freqs), self.precision)
            or _sum_problem(sum(self.freqs), self.precision)
        )
        if problem:
            raise ValueError(f"bad frequency table: {problem}")


def _normalise(counts: np.ndarray, precision: int) -> np.ndarray:
    """Scale counts to frequencies summing to 2**precision, using integers only.

    Every present symbol gets 1; the remaining mass is shared in proportion to
    the counts by largest remainder, with ties going to the lower symbol.
    """
    present = counts > 0
    distinct = int(np.count_nonzero(present))
    spare = (1 << precision) - distinct
    if spare < 0:
        raise ValueError(f"{distinct} distinct symbols need precision > {precision}")
    shares, remainders = np.divmod(counts * spare, int(counts.sum()))
    freqs = present.astype(np.int64) + shares
    short = spare - int(shares.sum())
    freqs[np.argsort(-remainders, kind="stable")[:short]] += 1
    return freqs


def _bits_for_counts(freqs: np.ndarray, precision: int, counts: np.ndarray) -> float:
    present = counts > 0
    if np.any(freqs[present] == 0):
        return math.inf
    return float(np.sum(counts[present] * (precision - np.log2(freqs[present]))))


def _histogram(flat: np.ndarray) -> tuple[int, np.ndarray]:
    """Lowest symbol and per-symbol counts from there to the highest."""
    if flat.size == 0:
        raise ValueError("a table needs at least one symbol")
    low = int(flat.min())
    size = int(flat.max()) - low + 1
    if size > MAX_ALPHABET:
        raise ValueError(f"symbols span {size} values, more than MAX_ALPHABET={MAX_ALPHABET}")
    return low, np.bincount(flat - low, minlength=size)


def build_table(symbols: np.ndarray, precision: int | None = None) -> FrequencyTable:
    """Fit a table to the symbols (at least one, int32 range, span <= MAX_ALPHABET).

    With precision None, pick the precision that minimises table bytes plus
    estimated coded bytes; ties go to the lower precision.
    """
    offset, counts = _histogram(as_symbols(symbols))
    if precision is None:
        lowest = max(1, (int(np.count_nonzero(counts)) - 1).bit_length())
        precisions = range(lowest, MAX_PRECISION + 1)
    elif problem := _precision_problem(precision):
        raise ValueError(f"bad precision: {problem}")
    else:
        precisions = range(precision, precision + 1)
    tables = [FrequencyTable(offset, p, tuple(_normalise(counts, p).tolist())) for p in precisions]

    def cost(table: FrequencyTable) -> float:
        freqs = np.asarray(table.freqs, dtype=np.int64)
        return 8 * table_nbytes(table) + _bits_for_counts(freqs, table.precision, counts)

    return min(tables, key=cost)


def estimate_bits(table: FrequencyTable, symbols: np.ndarray) -> float:
    """Ideal coded size of the symbols under the table, in bits (inf if one cannot be coded)."""
    flat = as_symbols(symbols) - table.offset
    if flat.size and (flat.min() < 0 or flat.max() >= len(table.freqs)):
        return math.inf
    counts = np.bincount(flat, minlength=len(table.freqs))
    return _bits_for_counts(np.asarray(table.freqs, dtype=np.int64), table.precision, counts)


def table_nbytes(table: FrequencyTable) -> int:
    """Length of table_to_bytes(table), computed without encoding."""
    return (
        1
        + len(write_svarint(table.offset))
        + len(write_uvarint(len(table.freqs)))
        + int(uvarint_lengths(np.asarray(table.freqs, dtype=np.int64)).sum())
    )


def table_to_bytes(table: FrequencyTable) -> bytes:
    """Serialise in the byte form given in this module's docstring."""
    parts = [bytes([table.precision]), write_svarint(table.offset), write_uvarint(len(table.freqs))]
    parts.extend(write_uvarint(f) for f in table.freqs)
    return b"".join(parts)


def fail_table(problem: str, field: str, offset: int, kind: str = "frequency") -> EntropyFormatError:
    """The error of a table field: what is wrong, which field, where (``kind`` names the table)."""
    return EntropyFormatError(f"bad {kind} table: {problem}", field=field, offset=offset)


def read_table_start(buf: Buffer, pos: int, kind: str) -> tuple[int, int, int, int, int]:
    """The fields every kind of table starts with, checked: precision, offset and alphabet size,
    then where the size lies and the position after it (``kind`` names the table in errors)."""
    if pos >= len(buf):
        raise fail_table("truncated", "precision", pos, kind)
    precision = buf[pos]
    if problem := _precision_problem(precision):
        raise fail_table(problem, "precision", pos, kind)
    offset_pos = pos + 1
    offset, pos = read_svarint(buf, offset_pos, "offset")
    if problem := _offset_problem(offset):
        raise fail_table(problem, "offset", offset_pos, kind)
    size_pos = pos
    size, pos = read_uvarint(buf, size_pos, "alphabet size")
    if problem := _size_problem(offset, size):
        raise fail_table(problem, "alphabet size", size_pos, kind)
    return precision, offset, size, size_pos, pos


def table_from_bytes(buf: Buffer, pos: int) -> tuple[FrequencyTable, int]:
    """Parse a table at buf[pos]; return it and the position after it.

    Every field is validated before anything is allocated from it, so hostile
    input costs no more than its own length.
    """
    precision, offset, size, size_pos, pos = read_table_start(buf, pos, "frequency")
    if size > len(buf) - pos:
        raise fail_table(f"alphabet size {size} > {len(buf) - pos} bytes left", "alphabet size", size_pos)
    freqs_pos = pos
    freqs = []
    for _ in range(size):
        freq_pos = pos
        freq, pos = read_uvarint(buf, freq_pos, "freqs")
        if problem := _freq_problem(freq, precision):
            raise fail_table(problem, "freqs", freq_pos)
        freqs.append(freq)
    if problem := _sum_problem(sum(freqs), precision):
        raise fail_table(problem, "freqs", freqs_pos)
    return FrequencyTable(offset, precision, tuple(freqs)), pos
