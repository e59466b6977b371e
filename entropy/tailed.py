"""Table kind 1: a few explicit counts around the peak, geometric tails, built with integers only.

A fitted tensor's symbols are mostly zero with two thin tails; storing a count for every symbol of
the span (kind 0) costs 50-200 bytes a tensor, about 8 % of a small file (bikes at 176x144,
quality 22: 1979 of 24 905 group bytes).  This kind stores the counts of a short *core* of
symbols around the peak and one decay ratio per side; the decoder grows the tails from the core's
edge by integer multiplication and normalises exactly like kind 0, so every machine builds the
same frequency table.  The encoder picks, per tensor, whichever kind costs fewer bytes.

Byte form, in order:
    precision    u8, 1..16
    offset       zigzag svarint; the first symbol of the table
    size         uvarint n, 1..min(MAX_ALPHABET, 2**precision); symbols offset .. offset+n-1
    core_start   uvarint, < n
    core_length  uvarint, 1..min(MAX_CORE, n - core_start)
    core         core_length uvarints, each 1..MAX_COUNT: relative counts of the core symbols
    ratios       two u16 (little-endian): the left tail's and the right tail's decay, / 65536

Pseudo-counts: the core's counts as stored; left of the core, ``c[i] = max(1, c[i+1] * left >> 16)``,
right of it ``c[i] = max(1, c[i-1] * right >> 16)``; then frequencies by the largest-remainder
normalisation of kind 0 (every symbol of the span keeps a frequency of at least 1).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import EntropyFormatError
from .symbols import as_symbols
from .tables import (
    MAX_PRECISION,
    FrequencyTable,
    _bits_for_counts,
    _histogram,
    _normalise,
    fail_table,
    read_table_start,
)
from .varint import Buffer, read_uvarint, write_svarint, write_uvarint

__all__ = ["MAX_CORE", "MAX_COUNT", "TAILED", "TailedKind", "TailedTable"]

MAX_CORE = 16
"""Most explicit counts one table stores."""
MAX_COUNT = 1 << 16
"""Largest stored count (keeps every product in the tail recurrence and the normalisation in int64)."""

_RATIOS = struct.Struct("<HH")
_CORE_HALF_WIDTHS = (0, 1, 2, 3, 5, 7)
_DECAYS = tuple(sorted({min(65535, max(1, round(65536 * d))) for d in np.geomspace(0.02, 0.995, 48)}))


@dataclass(frozen=True)
class TailedTable:
    """The stored parameters; :meth:`frequencies` is the table they define."""

    precision: int
    offset: int
    size: int
    core_start: int
    core: tuple[int, ...]
    left: int
    right: int

    def pseudo_counts(self) -> np.ndarray:
        counts = np.ones(self.size, dtype=np.int64)  # a tail stays at 1 once it gets there
        end = self.core_start + len(self.core)
        counts[self.core_start : end] = self.core
        for index, step, ratio, value in ((self.core_start - 1, -1, self.left, self.core[0]),
                                          (end, 1, self.right, self.core[-1])):
            while 0 <= index < self.size and value > 1:
                value = max(1, (value * ratio) >> 16)
                counts[index] = value
                index += step
        return counts

    def frequencies(self) -> FrequencyTable:
        freqs = _normalise(self.pseudo_counts(), self.precision)
        return FrequencyTable(self.offset, self.precision, tuple(freqs.tolist()))


class TailedKind:
    """Kind 1: :class:`TailedTable`, fitted by a small search over core width, count scale and decays."""

    number = 1

    def accepts(self, shape: tuple[int, ...]) -> bool:
        return True

    def least_bytes(self, values: np.ndarray) -> float:
        return 0.0

    def fit(self, values: np.ndarray) -> TailedTable:
        """A cheap table of this kind for the values (their span: at most MAX_ALPHABET = 2**16).

        The core holds the symbols' own counts (scaled down only past MAX_COUNT); the search over
        the decays scores a float model of the table (no rounding, no normalisation floor), and
        the exact integer cost picks the core width.
        """
        offset, counts = _histogram(as_symbols(values))
        size = len(counts)
        peak = int(np.argmax(counts))
        scale = min(1.0, MAX_COUNT / int(counts.max()))  # exact counts unless they overflow a core entry
        finalists = []
        for half in _CORE_HALF_WIDTHS:
            start, end = max(0, peak - half), min(size, peak + half + 1)
            core = tuple(int(c) for c in np.maximum(1, np.round(counts[start:end] * scale)))
            left, right = _best_decays(counts, start, core)
            finalists.append(TailedTable(MAX_PRECISION, offset, size, start, core, left, right))
        return min(finalists, key=lambda t: self.nbytes(t) * 8 + _bits(t, counts))

    def to_bytes(self, table: TailedTable) -> bytes:
        parts = [bytes([table.precision]), write_svarint(table.offset), write_uvarint(table.size),
                 write_uvarint(table.core_start), write_uvarint(len(table.core))]
        parts.extend(write_uvarint(c) for c in table.core)
        parts.append(_RATIOS.pack(table.left, table.right))
        return b"".join(parts)

    def from_bytes(self, buf: Buffer, pos: int, shape: tuple[int, ...] = ()) -> tuple[TailedTable, int]:
        """Parse and check every field before building anything (at most 2**16 counts)."""
        precision, offset, size, size_at, pos = read_table_start(buf, pos, "tailed")
        if size > 1 << precision:
            raise _fail(f"alphabet size {size} > 2**{precision} (every symbol needs a frequency)", "alphabet size",
                        size_at)
        start_at = pos
        core_start, pos = read_uvarint(buf, start_at, "core start")
        if core_start >= size:
            raise _fail(f"core start {core_start} not below the alphabet size {size}", "core start", start_at)
        length_at = pos
        length, pos = read_uvarint(buf, length_at, "core length")
        if not 1 <= length <= min(MAX_CORE, size - core_start):
            raise _fail(f"core length {length} not in 1..{min(MAX_CORE, size - core_start)}", "core length",
                        length_at)
        core = []
        for _ in range(length):
            count_at = pos
            count, pos = read_uvarint(buf, count_at, "core")
            if not 1 <= count <= MAX_COUNT:
                raise _fail(f"count {count} not in 1..{MAX_COUNT}", "core", count_at)
            core.append(count)
        if pos + _RATIOS.size > len(buf):
            raise _fail("truncated", "ratios", pos)
        left, right = _RATIOS.unpack_from(buf, pos)
        return TailedTable(precision, offset, size, core_start, tuple(core), left, right), pos + _RATIOS.size

    def nbytes(self, table: TailedTable) -> int:
        return len(self.to_bytes(table))

    def estimate_bits(self, table: TailedTable, values: np.ndarray) -> float:
        flat = as_symbols(values) - table.offset
        if flat.size and (flat.min() < 0 or flat.max() >= table.size):
            return math.inf
        return _bits(table, np.bincount(flat, minlength=table.size))

    def parts(self, table: TailedTable, shape: tuple[int, ...]) -> Sequence[tuple[int, FrequencyTable]]:
        return [(math.prod(shape), table.frequencies())]


def _bits(table: TailedTable, counts: np.ndarray) -> float:
    freqs = _normalise(table.pseudo_counts(), table.precision)
    return _bits_for_counts(freqs, table.precision, counts)


def _best_decays(counts: np.ndarray, start: int, core: tuple[int, ...]) -> tuple[int, int]:
    """Left and right decays (/ 65536) that code ``counts`` in about the fewest bits under the float
    model: one shared decay first, then each side on its own, every candidate at once."""
    end = start + len(core)
    below, above = counts[:start][::-1], counts[end:]  # each side nearest the core first
    decays = np.asarray(_DECAYS, dtype=np.float64) / 65536

    def tails(edge: int, length: int) -> np.ndarray:
        """Pseudo-counts of a tail of ``length`` symbols for every decay: (decays, length)."""
        return np.maximum(1.0, edge * decays[:, None] ** np.arange(1, length + 1))

    low, high = tails(core[0], start), tails(core[-1], len(above))
    low_mass, high_mass = low.sum(axis=1), high.sum(axis=1)
    low_bits, high_bits = -np.log2(low) @ below, -np.log2(high) @ above  # per decay, before normalising
    core_mass = float(sum(core))
    mass = float(counts.sum())

    def bits(left: np.ndarray | int, right: np.ndarray | int) -> np.ndarray:
        total = core_mass + low_mass[left] + high_mass[right]
        return mass * np.log2(total) + low_bits[left] + high_bits[right]

    every = np.arange(len(decays))
    shared = int(np.argmin(bits(every, every)))
    left = int(np.argmin(bits(every, shared)))
    right = int(np.argmin(bits(left, every)))
    return _DECAYS[left], _DECAYS[right]


def _fail(problem: str, field: str, offset: int) -> EntropyFormatError:
    return fail_table(problem, field, offset, "tailed")


TAILED = TailedKind()
