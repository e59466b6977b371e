"""Re-framing edited .nvc bytes: every chunk's CRC recomputed after an edit.

The fuzzer (tools/fuzz_decoder.py) and the hostile-input tests (tests/bitstream_tools.py) both
edit files and need the framing valid again, so that the check they aim at is the one that fires,
not the CRC in front of it.  One walk of the chunks, the container's own framing (codec/container.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from nvc.codec.container import CHUNK_HEAD, CRC, PREAMBLE

__all__ = ["fix_crcs"]


def fix_crcs(data: bytes, edit_group: Callable[[bytearray], None] | None = None) -> bytes:
    """The bytes with the CRC of every chunk whose header and length fit in the file recomputed
    (others left alone); ``edit_group`` may first edit each GRUP chunk's data in place (same length)."""
    out = bytearray(data)
    pos = PREAMBLE.size
    while pos + CHUNK_HEAD.size + CRC.size <= len(out):
        kind, length = CHUNK_HEAD.unpack_from(out, pos)
        end = pos + CHUNK_HEAD.size + length
        if end + CRC.size > len(out):
            break
        if edit_group is not None and kind == b"GRUP":
            payload = bytearray(out[pos + CHUNK_HEAD.size : end])
            edit_group(payload)
            out[pos + CHUNK_HEAD.size : end] = payload
        CRC.pack_into(out, end, zlib.crc32(bytes(out[pos:end])))
        pos = end + CRC.size
    return bytes(out)
