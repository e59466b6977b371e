"""The decoder: open a file, entropy-decode the groups a frame range needs, render their frames.

A group coded against its predecessor needs that predecessor's symbols, so decoding frame t walks
back to the nearest key group (or group whose symbols are cached) and forward again; the groups
decoded on the way are cached within a byte budget (:mod:`.symbol_cache`), so a sequential or a
backward decode entropy-decodes each group once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .allocator import keep_freed_memory
from .bitstream import Bitstream, GroupRef
from .device import resolve_device
from .errors import InputError
from .render import expected_shapes, render_frames
from .symbol_cache import DEFAULT_CACHE_BYTES, SymbolCache, Symbols
from .tensor_coding import decode_tensors

__all__ = ["Decoder"]


class Decoder:
    """Random access to the frames of an .nvc file.

    Args:
        source: a path, or an open binary stream positioned anywhere.
        device: where to render ("cpu" or "cuda").
        cache_bytes: how many bytes of decoded symbols to keep for random access (the last
            decoded group is always kept).
    """

    def __init__(self, source: str | Path | BinaryIO, device: str = "cpu",
                 cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self._device = resolve_device(device)
        keep_freed_memory()
        if isinstance(source, (str, Path)):
            try:
                self._stream: BinaryIO = open(source, "rb")
            except OSError as exc:
                raise InputError(f"cannot open {source}: {exc.strerror}") from None
            self._owned = True
        else:
            self._stream, self._owned = source, False
        try:
            self.bitstream = Bitstream(self._stream)
        except BaseException:
            self.close()
            raise
        self._cache = SymbolCache(cache_bytes)

    @property
    def frame_count(self) -> int:
        return self.bitstream.header.frame_count

    def close(self) -> None:
        if self._owned:
            self._stream.close()

    def __enter__(self) -> Decoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def group_symbols(self, group: GroupRef) -> Symbols:
        """Entropy-decode a group (and, first, whatever part of its reference chain is not cached)."""
        cached = self._cache.get(group.index)
        if cached is not None:
            return cached
        groups = self.bitstream.groups
        chain_start = group.index
        while not groups[chain_start].key and chain_start - 1 not in self._cache:
            chain_start -= 1
        reference = None if groups[chain_start].key else self._cache.get(chain_start - 1)
        header = self.bitstream.header
        for member in groups[chain_start : group.index + 1]:
            shapes = expected_shapes(self.bitstream.config, header.height, header.width, member.frame_count)
            payload = self.bitstream.group_payload(member)
            reference = decode_tensors(payload, member.payload_offset, shapes, None if member.key else reference)
            self._cache.put(member.index, reference)
        assert reference is not None
        return reference

    def verify(self) -> int:
        """Entropy-decode every group in order (each once, nothing rendered); returns the group count."""
        for group in self.bitstream.groups:
            self.group_symbols(group)
        return len(self.bitstream.groups)

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Frames ``start <= t < stop`` as (H, W, 3) uint8 RGB arrays."""
        stop = self.frame_count if stop is None else stop
        if not 0 <= start <= stop <= self.frame_count:
            raise InputError(f"frame range {start}:{stop} outside 0:{self.frame_count}")
        t = start
        while t < stop:
            group = self.bitstream.group_for_frame(t)
            local = range(t - group.first_frame, min(stop, group.first_frame + group.frame_count) - group.first_frame)
            header = self.bitstream.header
            yield from render_frames(self.bitstream.config, header.height, header.width,
                                     self.group_symbols(group), group.frame_count, local, self._device)
            t = group.first_frame + local.stop

