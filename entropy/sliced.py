"""Table kind 2: one kind-1 table per slice of a tensor along its first or second axis.

A fitted tensor's statistics differ between its channels: some of a grid's channels are nearly
all zero while others carry the picture, and an output channel of a convolution is pruned or kept
as a whole more often than its weights are one by one.  One table for the whole tensor pays for
that mixture; a table per channel does not, at the cost of the tables (a kind-1 table is about 8-14
bytes).  The encoder tries both axes and keeps this kind only where it codes a tensor in fewer
bytes than one table (format version 3).

Byte form: ``axis`` (u8: 0 or 1, below the tensor's rank) and then, for each of the ``dims[axis]``
slices in order, one kind-1 table (:mod:`.tailed`) of the values of that slice.  The values are
coded in the tensor's row-major order, each with the table of the slice it lies in, so the runs
are ``prod(dims[:axis + 1])`` in number; a reader refuses an axis with more than :data:`MAX_RUNS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import EntropyFormatError
from .tables import FrequencyTable
from .tailed import TAILED, TailedTable
from .varint import Buffer

__all__ = ["MAX_RUNS", "MIN_TAILED_BYTES", "SLICED", "SlicedKind", "SlicedTable"]

MAX_RUNS = 4096
"""Most runs of values (one table each) a sliced tensor may have: bounds the coder's per-run work."""
MIN_TAILED_BYTES = 10
"""The smallest kind-1 table: precision, offset, size, core start, core length, one count, two ratios."""


@dataclass(frozen=True)
class SlicedTable:
    """The slicing axis and one kind-1 table per slice along it."""

    axis: int
    tables: tuple[TailedTable, ...]


class SlicedKind:
    """Kind 2: :class:`SlicedTable`, the slicing that codes a tensor cheapest of the allowed axes."""

    number = 2

    def accepts(self, shape: tuple[int, ...]) -> bool:
        return bool(allowed_axes(shape))

    def least_bytes(self, values: np.ndarray) -> float:
        """The least of :func:`_least_bytes` over the allowed axes.  Fitting a table per slice
        costs 10-20x a whole-tensor table; this bound skips it where it cannot pay."""
        return min(_least_bytes(_rows(values, axis)) for axis in allowed_axes(values.shape))

    def fit(self, values: np.ndarray) -> SlicedTable:
        """The cheaper of the allowed slicings (axis 0 first; axis 1 only where its bound may beat it)."""
        best: tuple[float, SlicedTable] | None = None
        for axis in allowed_axes(values.shape):
            rows = _rows(values, axis)
            if best is not None and _least_bytes(rows) >= best[0]:
                continue
            table = SlicedTable(axis, tuple(TAILED.fit(row) for row in rows))
            cost = self.nbytes(table) + _coded_bits(table, rows) / 8
            if best is None or cost < best[0]:
                best = (cost, table)
        assert best is not None, "fit only where accepts() holds"
        return best[1]

    def to_bytes(self, table: SlicedTable) -> bytes:
        return bytes([table.axis]) + b"".join(TAILED.to_bytes(t) for t in table.tables)

    def from_bytes(self, buf: Buffer, pos: int, shape: tuple[int, ...]) -> tuple[SlicedTable, int]:
        """The axis (checked against ``shape`` before any table is read), then its slices' tables."""
        if pos >= len(buf):
            raise EntropyFormatError("sliced table: truncated", field="slicing axis", offset=pos)
        axis = buf[pos]
        if axis not in allowed_axes(shape):
            raise EntropyFormatError(f"sliced table: axis {axis} not allowed for a tensor of shape {shape} "
                                     f"(axis 0 or 1 of a tensor of rank >= 2, at most {MAX_RUNS} runs)",
                                     field="slicing axis", offset=pos)
        pos += 1
        tables = []
        for _ in range(shape[axis]):
            table, pos = TAILED.from_bytes(buf, pos)
            tables.append(table)
        return SlicedTable(axis, tuple(tables)), pos

    def nbytes(self, table: SlicedTable) -> int:
        return 1 + sum(TAILED.nbytes(t) for t in table.tables)

    def estimate_bits(self, table: SlicedTable, values: np.ndarray) -> float:
        return _coded_bits(table, _rows(values, table.axis))

    def parts(self, table: SlicedTable, shape: tuple[int, ...]) -> Sequence[tuple[int, FrequencyTable]]:
        outer, inner = math.prod(shape[: table.axis]), math.prod(shape[table.axis + 1 :])
        frequencies = [t.frequencies() for t in table.tables]
        return [(inner, freqs) for _ in range(outer) for freqs in frequencies]


def allowed_axes(shape: tuple[int, ...]) -> list[int]:
    """Axes a tensor of ``shape`` may be sliced along: 0 or 1, with at least two slices and at most
    :data:`MAX_RUNS` runs."""
    if len(shape) < 2:
        return []
    return [axis for axis in (0, 1) if shape[axis] >= 2 and math.prod(shape[: axis + 1]) <= MAX_RUNS]


def _least_bytes(rows: np.ndarray) -> float:
    """What slicing into these rows (:func:`_rows`) costs at least: each slice's empirical entropy (no
    static table codes a slice in fewer bits) plus the smallest kind-1 table, per slice, and the axis byte."""
    return 1 + MIN_TAILED_BYTES * len(rows) + float(_entropy_bits(rows).sum()) / 8


def _coded_bits(table: SlicedTable, rows: np.ndarray) -> float:
    """The estimated code of the slices' rows, each by its own table."""
    return sum(TAILED.estimate_bits(t, row) for t, row in zip(table.tables, rows, strict=True))


def _rows(values: np.ndarray, axis: int) -> np.ndarray:
    """The values of each slice along ``axis`` as one row each (slices, values per slice)."""
    return np.moveaxis(values, axis, 0).reshape(values.shape[axis], -1)


def _entropy_bits(rows: np.ndarray) -> np.ndarray:
    """Each row's zeroth-order empirical entropy in bits (its length times it), all rows at once:
    sort each row, and its runs of equal values are its symbols' counts."""
    count, length = rows.shape
    ordered = np.sort(rows, axis=1)
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    first = np.flatnonzero(starts)  # every row's first value starts a run, so no run spans two rows
    runs = np.diff(np.append(first, count * length)).astype(np.float64)
    per_row = np.bincount(first // length, weights=runs * np.log2(runs), minlength=count)
    return length * np.log2(length) - per_row


SLICED = SlicedKind()
