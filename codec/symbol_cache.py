"""Decoded symbols of recently used groups, least recently used first out, within a byte budget.

A group coded against its predecessor needs that predecessor's symbols, so random access walks
back along the reference chain to the nearest group whose symbols are at hand; keeping the groups
it decodes on the way makes ``video[::-1]`` decode each group once instead of re-walking the chain
for every frame.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from nvc.models import QuantizedTensor

__all__ = ["SymbolCache", "DEFAULT_CACHE_BYTES"]

DEFAULT_CACHE_BYTES = 256 << 20
"""Room for 48 groups of 30 1080p frames at quality 28 (0.7M symbols, 5.6 MB as int64)."""

Symbols = Mapping[str, QuantizedTensor]


def symbols_nbytes(symbols: Symbols) -> int:
    return sum(t.symbols.numel() * t.symbols.element_size() for t in symbols.values())


class SymbolCache:
    """Group index -> decoded symbols; holds at most ``max_bytes``, but always the last group put."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._entries: OrderedDict[int, tuple[Symbols, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, index: int) -> bool:
        return index in self._entries

    def get(self, index: int) -> Symbols | None:
        """The group's symbols (now the most recently used), or None."""
        entry = self._entries.get(index)
        if entry is None:
            return None
        self._entries.move_to_end(index)
        return entry[0]

    def put(self, index: int, symbols: Symbols) -> None:
        size = symbols_nbytes(symbols)
        old = self._entries.pop(index, None)
        self.nbytes += size - (old[1] if old else 0)
        self._entries[index] = (symbols, size)
        while self.nbytes > self.max_bytes and len(self._entries) > 1:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.nbytes -= evicted
