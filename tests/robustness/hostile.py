"""What the hostile-input suites (tests/robustness/test_*.py) share.

Every .nvc file is hostile: each malformed input in these suites must end in
``nvc.BitstreamError``.  The inputs are crafted from the committed golden files of format version 1
(tests/golden/v1/, no encoding here) with tests/bitstream_tools.py, which rebuilds valid CRCs, index
and end chunk around each edit so the check a case aims at is the one that fires.  Each case
states the field the error must name; the error's offset must be where that field starts in the
file.  On the CLI the same files end with exit code 4, one line on stderr naming field and byte,
and no output left behind.  (Table kinds 1 and 2 have their own hostile cases: tests/entropy/test_tailed.py,
test_sliced.py and test_tensors.py.)
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

import nvc
from nvc.codec.bitstream import HEAD
from nvc.codec.container import scan_chunks

from ..bitstream_tools import chunk_list, edit_head

GOLDEN = Path(__file__).parents[1] / "golden" / "v1"
SMALL = (GOLDEN / "key8x8.nvc").read_bytes()
"""8x8, 1 frame, one key group: the smallest valid file (3139 bytes)."""
MULTI = (GOLDEN / "inter16x8.nvc").read_bytes()
"""16x8, 3 frames in 3 one-frame groups: key, then two groups coded mostly as residuals."""

U64_MAX = (1 << 64) - 1


def decode_all(data: bytes) -> list[np.ndarray]:
    with nvc.open(io.BytesIO(data)) as video:
        return list(video.frames())


REFERENCE = {id(SMALL): decode_all(SMALL), id(MULTI): decode_all(MULTI)}


def refs(data: bytes):
    return scan_chunks(io.BytesIO(data))[1]


def group_base(data: bytes, group: int = 0) -> int:
    """File offset of the data of the group-th GRUP chunk (GroupLayout offsets are relative to it)."""
    return [r for r in refs(data) if r.type == "GRUP"][group].data_offset


HEAD_DATA = refs(SMALL)[0].data_offset
"""File offset of the HEAD chunk's data (HEAD_OFFSETS are relative to it)."""


def rejects(data: bytes, field: str | None = None, offset: int | None = None, match: str | None = None,
            error: type[nvc.BitstreamError] = nvc.BitstreamError) -> nvc.BitstreamError:
    """Decode every frame; assert the error type, the field it names and where that field starts."""
    with pytest.raises(error) as caught:
        decode_all(data)
    exc = caught.value
    message = str(exc)
    assert "\n" not in message and message.endswith(f"(field '{exc.field}', byte {exc.offset})"), message
    assert 0 <= exc.offset <= max(len(data), 1), message
    if field is not None:
        assert exc.field == field, message
    if offset is not None:
        assert exc.offset == offset, message
    if match is not None:
        assert match in message, message
    return exc


PNG = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
       + struct.pack(">I", zlib.crc32(b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))))


def newer_writer(version: int = 7) -> bytes:
    """SMALL as a writer of format ``version`` that readers of version 1 may read."""
    data = bytearray(edit_head(SMALL, format_version=version))
    struct.pack_into("<H", data, 8, version)
    return bytes(data)


def set_length(data: bytes, chunk: int, value) -> tuple[bytes, int]:
    ref = refs(data)[chunk]
    length = value(len(data) - ref.data_offset - 4) if callable(value) else value
    out = bytearray(data)
    struct.pack_into("<Q", out, ref.offset + 4, length)
    return bytes(out), ref.offset + 4


CONFIG_AT = HEAD_DATA + HEAD.size
"""File offset of the config JSON."""


def replace_in_config(old: bytes, new: bytes) -> bytes:
    """SMALL's config JSON with ``old`` replaced by ``new`` (once)."""
    config = chunk_list(SMALL)[0][1][HEAD.size :]
    assert old in config
    return config.replace(old, new, 1)
