"""The entropy seam: what a kind of table must do to code and decode one tensor's values.

Every tensor header names the kind of table that follows it (docs/FORMAT.md, "table kind").
Kind 0, :data:`FREQUENCY`, is one integer frequency table of the tensor's values; kind 1,
:data:`~.tailed.TAILED` (format version 2), a few counts and two geometric tails that define such a
table with integer arithmetic; kind 2, :data:`~.sliced.SLICED` (format version 3), one kind-1
table per channel.  A new entropy model implements
:class:`TableKind`, registers under the next number in :data:`TABLE_KINDS`, and needs no change to
the tensor coding around it; readers that do not know a kind refuse the file with
:class:`EntropyFormatError`.

All values of a group share one rANS string: a kind says which frequency table codes which run of
its tensor's values (:meth:`TableKind.parts`), so one tensor may use several tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .errors import EntropyFormatError
from .sliced import SLICED
from .tables import FrequencyTable, build_table, estimate_bits, table_from_bytes, table_nbytes, table_to_bytes
from .tailed import TAILED
from .varint import Buffer

__all__ = ["FREQUENCY", "SLICED", "TABLE_KINDS", "TAILED", "FrequencyKind", "TableKind", "table_kind"]


class TableKind(Protocol):
    """A kind of table: fitted on the encoder, stored after the tensor header, read back exactly."""

    number: int
    """What the tensor header stores for this kind (0..15)."""

    def accepts(self, shape: tuple[int, ...]) -> bool:
        """Whether a tensor of this shape may be coded with this kind."""
        ...

    def least_bytes(self, values: np.ndarray) -> float:
        """A lower bound of what this kind's table and code could cost for ``values``: the encoder
        does not fit a kind whose bound is no better than a kind it has already fitted."""
        ...

    def fit(self, values: np.ndarray) -> Any:
        """A table for these integer values, shaped like their tensor (the encoder's side; floats allowed)."""
        ...

    def to_bytes(self, table: Any) -> bytes:
        ...

    def from_bytes(self, buf: Buffer, pos: int, shape: tuple[int, ...]) -> tuple[Any, int]:
        """Parse the table of a tensor of ``shape`` at ``pos``; returns it and the offset past it
        (hostile input: integer checks only, EntropyFormatError on any problem)."""
        ...

    def nbytes(self, table: Any) -> int:
        """Bytes of the table's stored form."""
        ...

    def estimate_bits(self, table: Any, values: np.ndarray) -> float:
        """Bits the rANS string spends on ``values`` with this table."""
        ...

    def parts(self, table: Any, shape: tuple[int, ...]) -> Sequence[tuple[int, FrequencyTable]]:
        """The runs of a tensor's values (row-major) and the frequency table coding each."""
        ...


class FrequencyKind:
    """Kind 0: one integer frequency table of the values, fitted from their histogram."""

    number = 0

    def accepts(self, shape: tuple[int, ...]) -> bool:
        return True

    def least_bytes(self, values: np.ndarray) -> float:
        return 0.0

    def fit(self, values: np.ndarray) -> FrequencyTable:
        return build_table(values)

    def to_bytes(self, table: FrequencyTable) -> bytes:
        return table_to_bytes(table)

    def from_bytes(self, buf: Buffer, pos: int, shape: tuple[int, ...] = ()) -> tuple[FrequencyTable, int]:
        return table_from_bytes(buf, pos)

    def nbytes(self, table: FrequencyTable) -> int:
        return table_nbytes(table)

    def estimate_bits(self, table: FrequencyTable, values: np.ndarray) -> float:
        return estimate_bits(table, values)

    def parts(self, table: FrequencyTable, shape: tuple[int, ...]) -> Sequence[tuple[int, FrequencyTable]]:
        return [(math.prod(shape), table)]


FREQUENCY = FrequencyKind()
TABLE_KINDS: dict[int, TableKind] = {FREQUENCY.number: FREQUENCY, TAILED.number: TAILED, SLICED.number: SLICED}
"""Every kind a reader knows; the encoder codes each tensor with whichever costs fewer bytes."""


def table_kind(number: int, offset: int = 0) -> TableKind:
    """The registered kind stored as ``number``; ``offset`` locates the field in errors."""
    try:
        return TABLE_KINDS[number]
    except KeyError:
        raise EntropyFormatError(f"unknown table kind {number} (known: {sorted(TABLE_KINDS)})",
                                 field="table kind", offset=offset) from None
