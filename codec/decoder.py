"""The decoder: open a file, entropy-decode the groups a frame range needs, render their frames.

A group coded against its predecessor needs that predecessor's symbols, so decoding frame t walks
back to the nearest key group and forward again; the last decoded group's symbols are kept, so a
sequential decode entropy-decodes each group exactly once.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from nvc.models import QuantizedTensor

from .bitstream import Bitstream, GroupRef
from .device import resolve_device
from .errors import InputError
from .render import expected_shapes, render_frames
from .tensor_coding import decode_tensors

__all__ = ["Decoder"]


class Decoder:
    """Random access to the frames of an .nvc file.

    Args:
        source: a path, or an open binary stream positioned anywhere.
        device: where to render ("cpu" or "cuda").
    """

    def __init__(self, source: str | Path | BinaryIO, device: str = "cpu") -> None:
        self._device = resolve_device(device)
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
        self._cached: tuple[int, dict[str, QuantizedTensor]] | None = None

    @property
    def frame_count(self) -> int:
        return self.bitstream.header.frame_count

    def close(self) -> None:
        if self._owned:
            self._stream.close()

    def __enter__(self) -> "Decoder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def group_symbols(self, group: GroupRef) -> dict[str, QuantizedTensor]:
        """Entropy-decode a group (and, first, whatever part of its reference chain is not cached)."""
        if self._cached is not None and self._cached[0] == group.index:
            return self._cached[1]
        chain_start = group.index
        while not self.bitstream.groups[chain_start].key:
            if self._cached is not None and self._cached[0] == chain_start - 1:
                break
            chain_start -= 1
        reference = self._cached[1] if self._cached is not None and self._cached[0] == chain_start - 1 else None
        for member in self.bitstream.groups[chain_start : group.index + 1]:
            header = self.bitstream.header
            shapes = expected_shapes(self.bitstream.config, header.height, header.width, member.frame_count)
            payload = self.bitstream.group_payload(member)
            reference = decode_tensors(payload, member.payload_offset, shapes, None if member.key else reference)
            self._cached = (member.index, reference)
        assert reference is not None
        return reference

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

