"""Fixed-size binary headers described once, as a table of named fields.

A :class:`Layout` is the single description of a header: packing, parsing, the byte offset of
every field (for error messages that point at the byte), and the test tools that edit files all
derive from it, so the layout cannot drift between them.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import BitstreamError

__all__ = ["Field", "Layout"]


@dataclass(frozen=True)
class Field:
    """One little-endian field: its name, its struct code ('B', 'H', 'I', 'Q', 'f'), and the name
    errors report (a quantity stored in two fields, like fps, is reported as one)."""

    name: str
    code: str
    reported_as: str = ""

    @property
    def label(self) -> str:
        return self.reported_as or self.name


class Layout:
    """The fields of a header, in order, with no padding between them."""

    def __init__(self, *fields: Field) -> None:
        self.fields = fields
        self._struct = struct.Struct("<" + "".join(f.code for f in fields))
        self.size = self._struct.size
        self._by_name = {f.name: f for f in fields}
        offsets, at = {}, 0
        for f in fields:
            offsets[f.name] = at
            at += struct.calcsize("<" + f.code)
        self.offsets: Mapping[str, int] = offsets
        """Byte offset of each field from the header's start."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def pack(self, values: Mapping[str, int | float]) -> bytes:
        """The header bytes of ``values`` (one per field, by name)."""
        if set(values) != set(self._by_name):
            raise ValueError(f"fields {sorted(values)} differ from the layout's {sorted(self._by_name)}")
        return self._struct.pack(*(values[name] for name in self.names))

    def unpack(self, data: bytes | memoryview, at: int = 0) -> dict[str, int]:
        """The fields of the header starting ``at`` bytes into ``data``, by name."""
        return dict(zip(self.names, self._struct.unpack_from(data, at), strict=True))

    def error(self, message: str, name: str, base: int) -> BitstreamError:
        """A :class:`BitstreamError` pointing at field ``name`` of the header that starts at file offset ``base``."""
        return BitstreamError(message, field=self._by_name[name].label, offset=base + self.offsets[name])
