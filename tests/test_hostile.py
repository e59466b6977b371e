"""Every .nvc file is hostile: each malformed input below must end in ``nvc.BitstreamError``.

The inputs are crafted from the committed golden files (tests/golden/, no encoding here) with
tests/bitstream_tools.py, which rebuilds valid CRCs, index and end chunk around each edit so the
check a case aims at is the one that fires.  Each case states the field the error must name; the
error's offset must be where that field starts in the file.  On the CLI the same files end with
exit code 4, one line on stderr naming field and byte, and no output left behind.
"""

from __future__ import annotations

import io
import json
import math
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

import nvc
from nvc.codec.bitstream import MAX_GROUP_PARAMETERS
from nvc.codec.cli import main
from nvc.codec.container import CHUNK_HEAD, PREAMBLE, SIGNATURE, scan_chunks
from nvc.entropy import read_uvarint, write_svarint, write_uvarint

from .bitstream_tools import (
    HEAD_OFFSETS,
    build,
    chunk_bytes,
    chunk_list,
    edit_group,
    edit_head,
    fix_crcs,
    head_fields,
    parse_group,
    rechunk,
    splice,
)

GOLDEN = Path(__file__).parent / "golden"
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


# --- not an nvc file at all ------------------------------------------------------------------------

PNG = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
       + struct.pack(">I", zlib.crc32(b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))))
MP4 = (struct.pack(">I", 32) + b"ftypisom" + struct.pack(">I", 512) + b"isomiso2avc1mp41"
       + struct.pack(">I", 8) + b"free" + struct.pack(">I", 16) + b"mdat" + bytes(8))


@pytest.mark.parametrize("name,blob,match", [
    ("empty", b"", "empty"),
    ("7 bytes of the signature", SIGNATURE[:7], "ends inside the signature"),
    ("7 other bytes", b"nvc\x00\x01\x02\x03", "not an nvc file"),
    ("PNG renamed", PNG, "not an nvc file"),
    ("MP4 renamed", MP4, "not an nvc file"),
    ("CRLF -> LF", SMALL.replace(b"\r\n", b"\n"), "converted as text"),
    ("LF -> CRLF", SMALL.replace(b"\n", b"\r\n"), "converted as text"),
    ("7-bit transfer", bytes(b & 0x7F for b in SMALL), "not an nvc file"),
    ("DOS text read stops at ^Z", SMALL[: SMALL.index(b"\x1a")], "ends inside the signature"),
    ("text", b"hello, world\n" * 4, "not an nvc file"),
])
def test_foreign_and_mangled_files(name, blob, match):
    rejects(blob, "signature", 0, match)


@pytest.mark.parametrize("min_reader", [2, 0xFFFF])
def test_newer_minimum_reader_needs_a_newer_nvc(min_reader):
    data = bytearray(SMALL)
    struct.pack_into("<H", data, 10, min_reader)
    exc = rejects(bytes(data), "min_reader_version", 10, "needs a newer nvc", nvc.NewerFormatError)
    assert f"reader version {min_reader}" in str(exc)


def _newer_writer(version: int = 7) -> bytes:
    """SMALL as a writer of format ``version`` that readers of version 1 may read."""
    data = bytearray(edit_head(SMALL, format_version=version))
    struct.pack_into("<H", data, 8, version)
    return bytes(data)


def test_a_newer_writer_alone_is_fine():
    data = _newer_writer()
    assert all(np.array_equal(a, b) for a, b in zip(decode_all(data), REFERENCE[id(SMALL)]))


@pytest.mark.parametrize("version,min_reader,field,offset", [
    (0, 1, "format_version", 8),  # below its own minimum reader
    (2, 1, "format_version", HEAD_DATA),  # preamble and HEAD disagree
])
def test_inconsistent_versions(version, min_reader, field, offset):
    data = bytearray(SMALL)
    struct.pack_into("<HH", data, 8, version, min_reader)
    rejects(bytes(data), field, offset)


# --- truncation and bit flips -------------------------------------------------------------------


@pytest.mark.parametrize("source", ["SMALL", "MULTI"])
def test_truncation_at_every_byte(source):
    data = {"SMALL": SMALL, "MULTI": MULTI}[source]
    for cut in range(len(data)):
        with pytest.raises(nvc.BitstreamError):
            decode_all(data[:cut])


def test_truncation_exactly_at_chunk_boundaries_says_so():
    for ref in refs(MULTI)[:-1]:
        rejects(MULTI[: ref.end], "chunk type", ref.end, "ends before its IEND")
        rejects(MULTI[: ref.end + 5], "chunk type", ref.end, "inside a chunk header")
    rejects(MULTI[:PREAMBLE.size], "chunk type", PREAMBLE.size, "ends before its IEND")
    rejects(MULTI[:10], "format_version", 8, "inside the preamble")


def test_every_single_bit_flip_of_the_smallest_file():
    """All 8 x 3139 flips: each must be refused (v1 has no byte a reader may ignore)."""
    fields = {}
    for position in range(len(SMALL)):
        for bit in range(8):
            corrupt = bytearray(SMALL)
            corrupt[position] ^= 1 << bit
            with pytest.raises(nvc.BitstreamError) as caught:
                decode_all(bytes(corrupt))
            fields[caught.value.field] = fields.get(caught.value.field, 0) + 1
    assert sum(fields.values()) == 8 * len(SMALL)
    assert fields["crc32"] > 0.9 * 8 * len(SMALL)  # almost all are caught by a chunk CRC


def _deep_flip_positions(data: bytes) -> list[tuple[int, int]]:
    """Every bit of the fields that steer parsing (HEAD, group and tensor headers, tables' heads, coded
    length, INDX, IEND); one bit a byte elsewhere: the frequency lists, the rANS bytes, and the fields
    a forged CRC leaves legitimately valid (frame rate, the informative encoder info, steps and symbol
    CRCs), whose flips mostly decode in full and would make this test slow without finding more."""
    head = refs(data)[0]
    dense = set(range(head.end))
    sparse = set(range(head.data_offset + HEAD_OFFSETS["fps_num"], head.data_offset + HEAD_OFFSETS["frame_count"]))
    config = data[head.data_offset + 30 : head.end - 4]
    start = config.index(b'"encoder":')
    sparse.update(range(head.data_offset + 30 + start, head.data_offset + 30 + config.index(b"}", start)))
    for ref in refs(data):
        if ref.type == "GRUP":
            layout = parse_group(data[ref.data_offset : ref.data_offset + ref.length])
            for tensor in layout.tensors:
                dense.update(range(ref.data_offset + tensor.rank_at, ref.data_offset + tensor.size_at + 3))
                sparse.update(range(ref.data_offset + tensor.step_at, ref.data_offset + tensor.table_at))
            dense.update(range(ref.offset, ref.data_offset + layout.tensors[0].rank_at))
            dense.update(range(ref.data_offset + layout.coded_length_at, ref.data_offset + layout.coded_at + 8))
            dense.update(range(ref.end - 12, ref.end))
        elif ref.type in ("INDX", "IEND"):
            dense.update(range(ref.offset, ref.end))
    dense -= sparse
    return [(p, b) for p in range(len(data)) for b in (range(8) if p in dense else [p % 8])]


def test_bit_flips_with_forged_crcs_are_refused_or_decode_to_well_formed_frames():
    """Flips behind recomputed CRCs reach every parser.  They must raise BitstreamError or decode to
    frames of the header's size; the latter only for fields no checksum covers besides the chunk CRC
    (frame rate, colour, the informative encoder fields, a tensor's step)."""
    outcomes = {"refused": 0, "same": 0, "different": 0}
    for position, bit in _deep_flip_positions(SMALL):
        corrupt = bytearray(SMALL)
        corrupt[position] ^= 1 << bit
        corrupt = fix_crcs(bytes(corrupt))
        try:
            with nvc.open(io.BytesIO(corrupt)) as video:
                frames = list(video.frames())
                shape = (video.info.height, video.info.width, 3)
        except nvc.BitstreamError:
            outcomes["refused"] += 1
            continue
        assert len(frames) == 1 and all(f.shape == shape and f.dtype == np.uint8 for f in frames)
        same = shape == (8, 8, 3) and np.array_equal(frames[0], REFERENCE[id(SMALL)][0])
        outcomes["same" if same else "different"] += 1
    assert outcomes["refused"] > 0.8 * sum(outcomes.values()), outcomes


# --- chunk lengths --------------------------------------------------------------------------------


def _set_length(data: bytes, chunk: int, value) -> tuple[bytes, int]:
    ref = refs(data)[chunk]
    length = value(len(data) - ref.data_offset - 4) if callable(value) else value
    out = bytearray(data)
    struct.pack_into("<Q", out, ref.offset + 4, length)
    return bytes(out), ref.offset + 4


@pytest.mark.parametrize("chunk", [0, 1, 2, 3], ids=["HEAD", "GRUP", "INDX", "IEND"])
@pytest.mark.parametrize("value", [U64_MAX, 1 << 63, (1 << 31) + 1, lambda remaining: remaining + 1],
                         ids=["2^64-1", "2^63", "2^31+1", "remaining+1"])
def test_chunk_length_beyond_the_file(chunk, value):
    data, at = _set_length(SMALL, chunk, value)
    rejects(data, "chunk length", at, "exceeds the bytes present")


@pytest.mark.parametrize("chunk", [0, 1, 2, 3], ids=["HEAD", "GRUP", "INDX", "IEND"])
@pytest.mark.parametrize("delta", [-1, -4, -16])
def test_chunk_length_too_short(chunk, delta):
    ref = refs(SMALL)[chunk]
    data, _ = _set_length(SMALL, chunk, max(0, ref.length + delta))
    rejects(data)


@pytest.mark.parametrize("value", [0xFFFFFFFF, 1 << 31, "+1", "-1", 0])
def test_config_length_must_equal_the_chunk(value):
    config_length = head_fields(chunk_list(SMALL)[0][1])[0]["config_length"]
    value = {"+1": config_length + 1, "-1": config_length - 1}.get(value, value)
    rejects(edit_head(SMALL, config_length=value), "config length", HEAD_DATA + HEAD_OFFSETS["config_length"])


# --- HEAD fields ---------------------------------------------------------------------------------


@pytest.mark.parametrize("values,field", [
    (dict(width=0), "width"),
    (dict(height=0), "height"),
    (dict(width=0, height=0), "width"),
    (dict(width=65535, height=65535), "width"),
    (dict(width=50000, height=50000), "width"),  # 2.5e9 pixels: overflows 32 bits
    (dict(width=0xFFFFFFFF, height=0xFFFFFFFF), "width"),
    (dict(width=8193, height=1), "width"),
    (dict(width=8192, height=4353), "height"),  # each side fine, the area is not
    (dict(width=4352, height=8193), "height"),
    (dict(fps_den=0), "fps"),
    (dict(fps_num=0), "fps"),
    (dict(fps_num=1001, fps_den=1), "fps"),
    (dict(fps_num=0xFFFFFFFF, fps_den=1), "fps"),
    (dict(frame_count=0), "frame_count"),
    (dict(frame_count=0xFFFFFFFF), "frame_count"),
    (dict(frame_count=(1 << 20) + 1), "frame_count"),
    (dict(colour_matrix=2), "colour"),
    (dict(full_range=2), "colour"),
])
def test_head_values_outside_their_range(values, field):
    offset = HEAD_DATA + HEAD_OFFSETS[{"width": "width", "height": "height", "fps": "fps_num",
                                       "frame_count": "frame_count", "colour": "colour_matrix"}[field]]
    if "fps_den" in values and values["fps_den"] == 0:
        offset = HEAD_DATA + HEAD_OFFSETS["fps_den"]
    if "full_range" in values:
        offset = HEAD_DATA + HEAD_OFFSETS["full_range"]
    rejects(edit_head(SMALL, **values), field, offset)


@pytest.mark.parametrize("values,field", [
    (dict(frame_count=2), "group count"),  # header says 2 groups, the file holds 1
    (dict(frame_count=1 << 20), "group count"),
    (dict(width=16), "tensor shape"),  # a wider frame implies a wider embedding grid
])
def test_head_values_that_disagree_with_the_groups(values, field):
    rejects(edit_head(SMALL, **values), field)


def _default_model(group_size: int):
    def edit(doc: dict) -> None:
        doc["model"].update(strides=[5, 4, 2, 2, 2], channels=[64, 48, 32, 24, 16], kernels=[1, 3, 3, 3, 3],
                            stem_channels=64)
        doc["group_size"] = group_size

    return edit


def _group_size(group_size: int):
    def edit(doc: dict) -> None:
        doc["group_size"] = group_size

    return edit


@pytest.mark.parametrize("values,config,field", [
    (dict(width=8192, height=4352, frame_count=600), _default_model(600), "group header"),
    (dict(width=8192, height=4352, frame_count=1), _default_model(600), "tensor count"),
    (dict(width=8192, height=4352, frame_count=1 << 20), _default_model(1), "group count"),
    (dict(width=8192, height=4352, frame_count=1 << 20), _default_model(600), "group count"),
    (dict(frame_count=1 << 20), None, "group count"),
    (dict(width=8192, height=4352, frame_count=1), None, "tensor shape"),  # 35.6M parameters: allowed
    (dict(width=8192, height=4352, frame_count=2), _group_size(2), "config"),  # 71M: above 2^26
])
def test_huge_claims_fail_fast_without_allocating(values, config, field):
    """A header claiming 8K frames and 600-frame groups is refused before anything that size exists:
    well under a second, and the peak of Python/numpy allocations grows by less than 100 MB."""
    data = edit_head(SMALL, config=config, **values)
    tracemalloc.start()
    try:
        start = time.perf_counter()
        rejects(data, field)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 << 20 and elapsed < 1.0, (peak, elapsed)


def _claiming(width: int, height: int) -> bytes:
    """SMALL relabelled as a width x height video: the embeddings tensor claims that grid, its table
    and coded data stay those of 2x2 embeddings (a few hundred bytes for millions of symbols)."""

    def edit(payload, layout):
        t = layout.tensors[0]
        dims = b"".join(write_uvarint(d) for d in (t.dims[0], t.dims[1], -(-height // 4), -(-width // 4)))
        return splice(payload, t.dims_at, t.mode_at - t.dims_at, dims)

    return edit_group(edit_head(SMALL, width=width, height=height), 0, edit)


@pytest.mark.parametrize("width,height", [(2048, 2048), (8192, 4352)])
def test_a_tiny_file_claiming_a_huge_tensor_costs_what_its_size_pays_for(width, height):
    """Coded data too short for the symbol counts is refused before anything their size exists.

    Before the minimum-length check, the 2048x2048 claim (4.2M symbols) made the decoder build
    Python lists of ~200 MB, and the 8192x4352 one (35.6M) 3.6 GB.  Now parsing the file may cost
    what its bytes hold: tables become CDFs of Python ints (under 100 bytes per table byte), on top
    of the config and error handling (1 MiB).
    """
    data = _claiming(width, height)
    assert len(data) < 4096
    tracemalloc.start()
    try:
        rejects(data, "coded data", match="cannot hold")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * len(data) + (1 << 20), peak


# --- the config ------------------------------------------------------------------------------------

CONFIG_AT = HEAD_DATA + 30


def _replace(old: bytes, new: bytes):
    config = chunk_list(SMALL)[0][1][30:]
    assert old in config
    return config.replace(old, new, 1)


@pytest.mark.parametrize("config", [
    pytest.param(_replace(b'"rate_lambda":0.004', b'"rate_lambda":NaN'), id="NaN"),
    pytest.param(_replace(b'"rate_lambda":0.004', b'"rate_lambda":Infinity'), id="Infinity"),
    pytest.param(_replace(b'"rate_lambda":0.004', b'"rate_lambda":-Infinity'), id="-Infinity"),
    pytest.param(_replace(b'"rate_lambda":0.004', b'"rate_lambda":1e400'), id="1e400 (overflows to inf)"),
    pytest.param(_replace(b'"tile":16', b'"tile":NaN'), id="tile NaN"),
    pytest.param(_replace(b'"tile":16', b'"tile":16.0'), id="tile float"),
    pytest.param(_replace(b'"tile":16', b'"tile":true'), id="tile bool"),
    pytest.param(_replace(b'"tile":16', b'"tile":15'), id="tile too small"),
    pytest.param(_replace(b'"group_size":1', b'"group_size":0'), id="group_size 0"),
    pytest.param(_replace(b'"group_size":1', b'"group_size":601'), id="group_size 601"),
    pytest.param(_replace(b'"key_interval":1', b'"key_interval":0'), id="key_interval 0"),
    pytest.param(_replace(b'"seed":0', b'"seed":' + b"9" * 5000), id="5000-digit integer"),
    pytest.param(_replace(b'"strides":[2,2]', b'"strides":[2,9]'), id="stride 9"),
    pytest.param(_replace(b'"kernels":[1,3]', b'"kernels":[1,4]'), id="even kernel"),
    pytest.param(_replace(b'"channels":[24,16]', b'"channels":[24,1025]'), id="1025 channels"),
    pytest.param(_replace(b'"channels":[24,16]', b'"channels":[24]'), id="one channel list short"),
    pytest.param(_replace(b'"activation":"gelu"', b'"activation":"tanh"'), id="unknown activation"),
    pytest.param(_replace(b'"arch":"hnerv"', b'"arch":"nerv"'), id="unknown arch"),
    pytest.param(_replace(b'"tile":16', b'"tile":16,"extra":1'), id="unknown key"),
    pytest.param(_replace(b',"tile":16', b''), id="missing key"),
    pytest.param(_replace(b'"nvc_version":"0.1.0"', b'"nvc_version":[[[["x"]]]]'), id="5 levels"),
    pytest.param(b"[" * 100000 + b"]" * 100000, id="100000 levels"),
    pytest.param(_replace(b'"nvc_version":"0.1.0"', b'"nvc_version":"' + b"x" * 70000 + b'"'), id="70 KB"),
    pytest.param(_replace(b"}", b"}" + b" " * 70000), id="70 KB of spaces"),
    pytest.param(_replace(b'"0.1.0"', b'"\xff\xfe"'), id="not UTF-8"),
    pytest.param(b"", id="empty"),
    pytest.param(b"null", id="null"),
    pytest.param(b"[]", id="array"),
    pytest.param(_replace(b'"model":{', b'"model":{"model":{},'), id="nested unknown"),
    pytest.param(_replace(b'"arch":"hnerv"', b'"arch":"hnerv","arch":"hnerv"'), id="duplicate key"),
    pytest.param(b"{" + b",".join(b'"k%d":0' % (i % 3000) for i in range(6000)) + b"}", id="3000 repeated keys"),
    pytest.param(b"{" + b",".join(b'"k%d":0' % i for i in range(6000)) + b"}", id="6000 keys"),
    pytest.param(_replace(b'{', b'\xef\xbb\xbf{'), id="byte order mark"),
    pytest.param(_replace(b'"tile":16}', b'"tile":16}{}'), id="two documents"),
])
def test_hostile_configs(config):
    rejects(edit_head(SMALL, config=config), "config", CONFIG_AT)


def test_a_config_that_disagrees_with_the_tensors():
    data = edit_head(SMALL, config=_replace(b'"embed_channels":16', b'"embed_channels":8'))
    layout = parse_group(chunk_list(data)[1][1])
    rejects(data, "tensor shape", group_base(data) + layout.tensors[0].dims_at)


def test_a_config_that_implies_too_many_parameters():
    doc = head_fields(chunk_list(SMALL)[0][1])[1]
    doc["model"].update(embed_channels=1024, stem_channels=1024, channels=[1024, 1024])
    doc["group_size"] = 600
    data = edit_head(SMALL, config=json.dumps(doc).encode(), width=8192, height=4352)
    exc = rejects(data, "config", CONFIG_AT, str(MAX_GROUP_PARAMETERS))
    assert "parameters" in str(exc)


# --- tensors --------------------------------------------------------------------------------------


def _uvarint_len(payload: bytes, at: int) -> int:
    return read_uvarint(payload, at)[1] - at


def _tensor_edit(data, group, make, field, index=0, match=None):
    """Apply make(payload, layout, tensor) -> (new payload, offset of the field in the payload)."""
    where = {}

    def edit(payload, layout):
        new, at = make(payload, layout, layout.tensors[index])
        where["at"] = at
        return new

    edited = edit_group(data, group, edit)
    return rejects(edited, field, group_base(edited, group) + where["at"], match)


@pytest.mark.parametrize("rank", [0, 5, 100, 255])
@pytest.mark.parametrize("index", [0, 4, 18])
def test_tensor_rank(rank, index):
    _tensor_edit(SMALL, 0, lambda p, l, t: (splice(p, t.rank_at, 1, bytes([rank])), t.rank_at), "tensor rank",
                 index)


@pytest.mark.parametrize("dim", [0, 2, (1 << 31), (1 << 63), U64_MAX, "minus one as int32"])
def test_tensor_dimension(dim):
    encoded = b"\xff\xff\xff\xff\x0f" if dim == "minus one as int32" else write_uvarint(dim)

    def make(p, l, t):
        return splice(p, t.dims_at, _uvarint_len(p, t.dims_at), encoded), t.dims_at

    _tensor_edit(SMALL, 0, make, "tensor shape")


@pytest.mark.parametrize("raw", [b"\x80" * 10 + b"\x01", b"\x81\x00", b"\xff" * 9 + b"\x7f", b"\x80"],
                         ids=["11 bytes", "overlong", "beyond 2^64", "truncated"])
def test_malformed_varint_dimension(raw):
    def make(p, l, t):
        return splice(p, t.dims_at, _uvarint_len(p, t.dims_at), raw), t.dims_at

    edited = edit_group(SMALL, 0, lambda p, l: make(p, l, l.tensors[0])[0])
    exc = rejects(edited)
    assert exc.field in ("tensor shape", "tensor mode"), str(exc)


def test_tensor_shape_swapped():
    def make(p, l, t):
        dims = b"".join(write_uvarint(d) for d in reversed(t.dims))
        old = sum(_uvarint_len(p, at) for at in _dim_offsets(p, t))
        return splice(p, t.dims_at, old, dims), t.dims_at

    _tensor_edit(SMALL, 0, make, "tensor shape", index=1)


def _dim_offsets(payload, tensor):
    at, out = tensor.dims_at, []
    for _ in tensor.dims:
        out.append(at)
        at = read_uvarint(payload, at)[1]
    return out


@pytest.mark.parametrize("delta", [-1, 1, 1 << 40])
def test_tensor_count(delta):
    def make(p, l, t):
        count = len(l.tensors) + delta
        return splice(p, l.count_at, _uvarint_len(p, l.count_at), write_uvarint(count)), l.count_at

    _tensor_edit(SMALL, 0, make, "tensor count")


@pytest.mark.parametrize("mode", [2, 255])
def test_unknown_mode(mode):
    _tensor_edit(SMALL, 0, lambda p, l, t: (splice(p, t.mode_at, 1, bytes([mode])), t.mode_at), "tensor mode")


@pytest.mark.parametrize("byte", [0x10, 0xF0, 0x11])
def test_unknown_table_kind(byte):
    """The high four bits of the mode byte name the table kind; only kind 0 is known."""
    _tensor_edit(SMALL, 0, lambda p, l, t: (splice(p, t.mode_at, 1, bytes([byte])), t.mode_at), "table kind",
                 match="unknown table kind")


def test_residual_in_a_key_group():
    _tensor_edit(SMALL, 0, lambda p, l, t: (splice(p, t.mode_at, 1, b"\x01"), t.mode_at), "tensor mode", 3)


def test_residual_on_another_grid():
    index = next(i for i, t in enumerate(parse_group(chunk_list(MULTI)[2][1]).tensors) if t.mode == 1)

    def make(p, l, t):
        return splice(p, t.step_at, 4, struct.pack("<f", t.step * 2)), t.step_at

    _tensor_edit(MULTI, 1, make, "tensor step", index, "different quantization grid")


@pytest.mark.parametrize("step", [math.nan, -math.nan, math.inf, -math.inf, 0.0, -0.0, -1.0, -1e-30],
                         ids=["NaN", "-NaN", "Inf", "-Inf", "0", "-0", "-1", "-tiny"])
@pytest.mark.parametrize("index", [0, 4])
def test_step_not_positive_and_finite(step, index):
    _tensor_edit(SMALL, 0, lambda p, l, t: (splice(p, t.step_at, 4, struct.pack("<f", step)), t.step_at),
                 "tensor step", index)


def test_nan_step_with_any_payload_bits():
    for bits in (0x7F800001, 0x7FC00000, 0x7FFFFFFF, 0xFF800001, 0xFFFFFFFF):
        _tensor_edit(SMALL, 0, lambda p, l, t: (splice(p, t.step_at, 4, struct.pack("<I", bits)), t.step_at),
                     "tensor step")


@pytest.mark.parametrize("index", [0, 4, 18])
def test_symbol_checksum(index):
    def make(p, l, t):
        (crc,) = struct.unpack_from("<I", p, t.crc_at)
        return splice(p, t.crc_at, 4, struct.pack("<I", crc ^ 1)), t.crc_at

    _tensor_edit(SMALL, 0, make, "symbol checksum", index)


# --- frequency tables -------------------------------------------------------------------------------


def _table(precision: int, offset: int, freqs: list[int], size: int | None = None) -> bytes:
    return (bytes([precision]) + write_svarint(offset) + write_uvarint(len(freqs) if size is None else size)
            + b"".join(write_uvarint(f) for f in freqs))


def _table_offsets(raw: bytes) -> dict[str, int]:
    """Where the fields of a table in byte form start, relative to the table."""
    from nvc.entropy import read_svarint

    size_at = read_svarint(raw, 1)[1]
    try:
        freqs_at = read_uvarint(raw, size_at)[1]
    except ValueError:
        freqs_at = len(raw)
    return {"precision": 0, "offset": 1, "alphabet size": size_at, "freqs": freqs_at}


@pytest.mark.parametrize("name,table,field", [
    ("all zero", lambda t: _table(t.precision, t.offset, [0] * len(t.freqs)), "freqs"),
    ("sum one short", lambda t: _table(t.precision, t.offset, [*t.freqs[:-1], t.freqs[-1] - 1] if t.freqs[-1]
                                       else [t.freqs[0] - 1, *t.freqs[1:]]), "freqs"),
    ("sum one over", lambda t: _table(t.precision, t.offset, [t.freqs[0] + 1, *t.freqs[1:]]), "freqs"),
    ("frequency above the total", lambda t: _table(4, 0, [17, 0]), "freqs"),
    ("frequency 2^64-1", lambda t: _table(4, 0, [U64_MAX, 0]), "freqs"),
    ("precision 0", lambda t: _table(0, 0, [1]), "precision"),
    ("precision 17", lambda t: _table(17, 0, [1 << 17]), "precision"),
    ("precision 255", lambda t: _table(255, 0, [1]), "precision"),
    ("alphabet 0", lambda t: _table(1, 0, [], 0), "alphabet size"),
    ("alphabet 65537", lambda t: _table(16, 0, [1 << 16] + [0] * 65536), "alphabet size"),
    ("alphabet 2^64-1", lambda t: _table(16, 0, [], U64_MAX), "alphabet size"),
    ("alphabet beyond the bytes left", lambda t: _table(16, 0, [1 << 16], 65536), "alphabet size"),
    ("symbols beyond int32", lambda t: _table(1, (1 << 31) - 1, [1, 1]), "alphabet size"),
    ("offset beyond int32", lambda t: _table(1, 1 << 40, [2]), "offset"),
    ("offset below int32", lambda t: _table(1, -(1 << 31) - 1, [2]), "offset"),
])
@pytest.mark.parametrize("index", [0, 4], ids=["coded tensor", "certain tensor"])
def test_bad_frequency_tables(name, table, field, index):
    def make(p, l, t):
        raw = table(t)
        return splice(p, t.table_at, t.end - t.table_at, raw), t.table_at + _table_offsets(raw)[field]

    _tensor_edit(SMALL, 0, make, field, index)


def test_zero_frequency_for_a_coded_symbol():
    """Move one used value's mass to another: the table stays valid, the coded data no longer fits."""

    def edit(p, l):
        t = l.tensors[0]
        used = [i for i, f in enumerate(t.freqs) if f]
        freqs = list(t.freqs)
        freqs[used[1]] += freqs[used[0]]
        freqs[used[0]] = 0
        return splice(p, t.table_at, t.end - t.table_at, _table(t.precision, t.offset, freqs))

    exc = rejects(edit_group(SMALL, 0, edit))
    assert exc.field in ("coded data", "symbol checksum"), str(exc)


def test_certain_table_for_a_coded_tensor():
    """A table giving one value all the mass takes its tensor out of the rANS string."""

    def edit(p, l):
        t = l.tensors[0]
        return splice(p, t.table_at, t.end - t.table_at, _table(1, 0, [2]))

    exc = rejects(edit_group(SMALL, 0, edit))
    assert exc.field in ("coded data", "symbol checksum"), str(exc)


# --- coded data -------------------------------------------------------------------------------------


def _recoded(new_coded):
    """Replace a group's coded data by new_coded(old) with its length field updated and the CRC32 redone."""

    def edit(p, l):
        body = new_coded(p[l.coded_at : -4])
        coded = body + struct.pack("<I", zlib.crc32(body)) if body is not None else b""
        return p[: l.coded_length_at] + write_uvarint(len(coded)) + coded

    return edit


@pytest.mark.parametrize("name,new_coded", [
    ("4 bytes short", lambda b: b[:-4]),
    ("1 byte short", lambda b: b[:-1]),
    ("only the state", lambda b: b[:8]),
    ("4 bytes of garbage after", lambda b: b + b"\xde\xad\xbe\xef"),
    ("1 byte of garbage after", lambda b: b + b"\x00"),
    ("zeros", lambda b: bytes(len(b))),
    ("one bit flipped", lambda b: b[:100] + bytes([b[100] ^ 4]) + b[101:]),
    ("reversed", lambda b: b[::-1]),
    ("empty body", lambda b: b""),
    ("nothing at all", lambda b: None),
])
def test_coded_data_forged_behind_a_valid_crc(name, new_coded):
    exc = rejects(edit_group(SMALL, 0, _recoded(new_coded)))
    assert exc.field in ("coded data", "symbol checksum"), str(exc)


def test_coded_data_crc():
    def edit(p, l):
        return p[:-1] + bytes([p[-1] ^ 0x80])

    edited = edit_group(SMALL, 0, edit)
    layout = parse_group(chunk_list(edited)[1][1])
    rejects(edited, "coded data", group_base(edited) + len(chunk_list(edited)[1][1]) - 4, "CRC32")
    assert layout.coded_length >= 12


@pytest.mark.parametrize("name,edit", [
    ("garbage after the coded data", lambda p, l: p + b"\x00\x01"),
    ("coded length + 1", lambda p, l: p[: l.coded_length_at] + write_uvarint(l.coded_length + 1) + p[l.coded_at:]),
    ("coded length - 1", lambda p, l: p[: l.coded_length_at] + write_uvarint(l.coded_length - 1) + p[l.coded_at:]),
    ("coded length 2^64-1", lambda p, l: p[: l.coded_length_at] + write_uvarint(U64_MAX) + p[l.coded_at:]),
    ("coded length 2^63", lambda p, l: p[: l.coded_length_at] + write_uvarint(1 << 63) + p[l.coded_at:]),
])
def test_coded_length_must_equal_the_bytes_left(name, edit):
    edited = edit_group(SMALL, 0, edit)
    layout_at = parse_group(chunk_list(SMALL)[1][1]).coded_length_at
    rejects(edited, "coded length", group_base(edited) + layout_at)


def test_payload_ending_inside_a_tensor_header():
    for cut in (5, 20, 100, 139, 500):
        edited = edit_group(SMALL, 0, lambda p, l: p[: l.tensors[0].rank_at + cut])
        rejects(edited)


# --- chunk structure ----------------------------------------------------------------------------------


@pytest.mark.parametrize("position", [1, 2, 4])
def test_unknown_ancillary_chunk_is_skipped(position):
    chunks = chunk_list(MULTI)
    edited = build(chunks[:position] + [(b"noTE", b"ignore me")] + chunks[position:], MULTI[: PREAMBLE.size])
    assert all(np.array_equal(a, b) for a, b in zip(decode_all(edited), REFERENCE[id(MULTI)]))


def test_ancillary_chunks_around_the_index():
    """Between INDX and IEND, and a lower-case chunk whose CRC is wrong (it is never read)."""
    chunks = chunk_list(MULTI, keep_index=True)
    note = bytearray(chunk_bytes(b"tEXt", b"comment"))
    note[-1] ^= 0xFF
    body = build(chunks[:-1], MULTI[: PREAMBLE.size], index=False) + bytes(note)
    edited = body + chunk_bytes(b"IEND", chunks[-1][1])
    assert all(np.array_equal(a, b) for a, b in zip(decode_all(edited), REFERENCE[id(MULTI)]))


def _grups(chunks):
    return [c for c in chunks if c[0] == b"GRUP"]


@pytest.mark.parametrize("name,edit,field", [
    ("unknown critical chunk", lambda c: c[:1] + [(b"ZZZZ", b"x")] + c[1:], "chunk type"),
    ("unknown critical chunk after the groups", lambda c: c + [(b"ZZZZ", b"")], "chunk type"),
    ("type with a digit", lambda c: c[:1] + [(b"GRU1", b"x")] + c[1:], "chunk type"),
    ("type with a NUL", lambda c: c[:1] + [(b"\x00RUP", b"x")] + c[1:], "chunk type"),
    ("duplicate header", lambda c: c[:1] + c[:1] + c[1:], "chunk type"),
    ("header after a group", lambda c: [c[1], c[0], *c[2:]], "chunk type"),
    ("no header", lambda c: c[1:], "chunk type"),
    ("groups out of order", lambda c: [c[0], c[2], c[1], c[3]], "group header"),
    ("groups reversed", lambda c: [c[0], *reversed(c[1:])], "group header"),
    ("group twice (overlap)", lambda c: [c[0], c[1], c[1], c[2]], "group header"),
    ("group missing", lambda c: [c[0], c[1], c[3]], "group count"),
    ("extra group", lambda c: c + [c[3]], "group count"),
    ("no groups", lambda c: c[:1], "group count"),
])
def test_structural_errors(name, edit, field):
    rejects(rechunk(MULTI, edit), field)


@pytest.mark.parametrize("values", [(1, 0, 1, 0), (0, 0, 1, 1), (1, 1, 2, 0), (1, 1, 1, 1), (1, 1, 1, 2),
                                    (1, 1, 0, 0), (0xFFFFFFFF, 1, 1, 0)])
def test_group_header_fields(values):
    def edit(p, l):
        return struct.pack("<IIIB", *values) + p[13:]

    edited = edit_group(MULTI, 1, edit)
    rejects(edited, "group header", group_base(edited, 1))


def _with_index(data, index_data=None, end_data=None):
    chunks = chunk_list(data, keep_index=True)
    index = index_data(chunks[-2][1]) if index_data else chunks[-2][1]
    body = build(chunks[:-2], data[: PREAMBLE.size], index=False)
    at = len(body)
    body += chunk_bytes(b"INDX", index)
    end = end_data(at) if end_data else struct.pack("<Q", at)
    return body + chunk_bytes(b"IEND", end), at


@pytest.mark.parametrize("name,index_data,field", [
    ("outside the file", lambda i: i[:4] + struct.pack("<Q", 1 << 40) + i[12:], "INDX"),
    ("2^64-1", lambda i: i[:4] + struct.pack("<Q", U64_MAX) + i[12:], "INDX"),
    ("into the middle of a chunk", lambda i: i[:4] + struct.pack("<Q", struct.unpack_from("<Q", i, 4)[0] + 1)
     + i[12:], "INDX"),
    ("at the header", lambda i: i[:4] + struct.pack("<Q", 12) + i[12:], "INDX"),
    ("groups swapped", lambda i: i[:4] + i[12:20] + i[4:12] + i[20:], "INDX"),
    ("count too high", lambda i: struct.pack("<I", 4) + i[4:], "INDX"),
    ("count 2^32-1", lambda i: struct.pack("<I", 0xFFFFFFFF) + i[4:], "INDX"),
    ("count too low", lambda i: struct.pack("<I", 2) + i[4:-8], "INDX"),
    ("one entry missing", lambda i: i[:-8], "INDX"),
    ("one entry extra", lambda i: i + i[-8:], "INDX"),
    ("empty", lambda i: b"", "INDX"),
])
def test_index_must_agree_with_the_groups(name, index_data, field):
    data, at = _with_index(MULTI, index_data=index_data)
    rejects(data, field, at + CHUNK_HEAD.size)


@pytest.mark.parametrize("end", [lambda at: struct.pack("<Q", at + 1), lambda at: struct.pack("<Q", 0),
                                 lambda at: struct.pack("<Q", U64_MAX), lambda at: b"", lambda at: bytes(16)],
                         ids=["off by one", "zero", "2^64-1", "empty", "16 bytes"])
def test_end_chunk_must_point_at_the_index(end):
    data, _ = _with_index(MULTI, end_data=end)
    rejects(data, "IEND", refs(data)[-1].data_offset)


def test_nothing_may_follow_the_end():
    for tail in (b"\x00", b"\r\n", SMALL):
        rejects(SMALL + tail, "IEND", len(SMALL))


def test_index_or_end_missing():
    chunks = chunk_list(MULTI, keep_index=True)
    rejects(build(chunks[:-1], MULTI[:PREAMBLE.size], index=False), "chunk type", match="ends before its IEND")
    no_index = build(chunks[:-2], MULTI[:PREAMBLE.size], index=False)
    rejects(no_index + chunk_bytes(b"IEND", struct.pack("<Q", len(no_index))), "chunk type")


# --- the command line -------------------------------------------------------------------------------------


def _cli_cases():
    edited_length, at = _set_length(SMALL, 1, U64_MAX)
    return {
        "empty": (b"", "signature"),
        "seven bytes": (SIGNATURE[:7], "signature"),
        "png": (PNG, "signature"),
        "crlf": (SMALL.replace(b"\r\n", b"\n"), "signature"),
        "newer": (SMALL[:10] + struct.pack("<H", 9) + SMALL[12:], "min_reader_version"),
        "truncated": (SMALL[:-1], "chunk length"),
        "length 2^64-1": (edited_length, "chunk length"),
        "width 0": (edit_head(SMALL, width=0), "width"),
        "fps_den 0": (edit_head(SMALL, fps_den=0), "fps"),
        "NaN config": (edit_head(SMALL, config=_replace(b"0.004", b"NaN")), "config"),
        "NaN step": (edit_group(SMALL, 0, lambda p, l: splice(p, l.tensors[0].step_at, 4,
                                                              struct.pack("<f", math.nan))), "tensor step"),
        "flip in the last group": (MULTI[:-200] + bytes([MULTI[-200] ^ 1]) + MULTI[-199:], "crc32"),
        "bad table in the last group": (edit_group(MULTI, 2, lambda p, l: splice(
            p, l.tensors[0].table_at, 1, b"\x00")), "precision"),
    }


@pytest.mark.parametrize("case", list(_cli_cases()))
@pytest.mark.parametrize("output", ["out.y4m", "out.mkv", "frames"])
def test_cli_decode_exit_code_4_one_line_no_output(case, output, tmp_path, capsys):
    data, field = _cli_cases()[case]
    source = tmp_path / "in.nvc"
    source.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["decode", str(source), str(out / output), "--quiet", "--threads", "1"]) == 4
    err = capsys.readouterr().err.strip()
    assert err.startswith("nvc: error: ") and "\n" not in err and "Traceback" not in err, err
    assert f"(field '{field}', byte " in err, err
    if field == "min_reader_version":
        assert "newer nvc" in err
    assert list(out.iterdir()) == []  # no output, no temporary file


@pytest.mark.parametrize("case", ["empty", "png", "newer", "length 2^64-1", "width 0", "NaN config"])
def test_cli_info_exit_code_4(case, tmp_path, capsys):
    data, field = _cli_cases()[case]
    source = tmp_path / "in.nvc"
    source.write_bytes(data)
    assert main(["info", str(source), "--json"]) == 4
    captured = capsys.readouterr()
    assert captured.out == "" and f"(field '{field}', byte " in captured.err and captured.err.count("\n") == 1


@pytest.mark.parametrize("case", ["NaN step", "flip in the last group", "bad table in the last group"])
def test_cli_info_verify_finds_what_the_header_does_not_show(case, tmp_path, capsys):
    data, field = _cli_cases()[case]
    source = tmp_path / "in.nvc"
    source.write_bytes(data)
    assert main(["info", str(source)]) == 0  # the header and the chunk structure are fine
    capsys.readouterr()
    assert main(["info", str(source), "--verify"]) == 4
    captured = capsys.readouterr()
    assert captured.out == "" and f"(field '{field}', byte " in captured.err and captured.err.count("\n") == 1


def test_cli_info_verify_decodes_every_group_and_renders_nothing(tmp_path, capsys, monkeypatch):
    from nvc.codec import render

    def no_network(*args, **kwargs):
        raise AssertionError("--verify rendered a frame")

    monkeypatch.setattr(render, "build_network", no_network)
    source = tmp_path / "in.nvc"
    source.write_bytes(MULTI)
    assert main(["info", str(source), "--verify"]) == 0
    assert "verify: OK: 3 groups entropy-decoded" in capsys.readouterr().out
    assert main(["info", str(source), "--verify", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verified"] == "OK: 3 groups entropy-decoded"


def test_info_shows_the_files_format_version_not_the_readers(tmp_path, capsys):
    source = tmp_path / "in.nvc"
    source.write_bytes(_newer_writer(7))
    assert main(["info", str(source), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format_version"] == 7
    with nvc.open(source) as video:
        assert video.info.format_version == 7


@pytest.mark.parametrize("error", [MemoryError(), RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. "
                                   "DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes.")],
                         ids=["MemoryError", "torch CPU allocator"])
def test_running_out_of_memory_is_exit_5_and_says_so(error, tmp_path, monkeypatch, capsys):
    from nvc.codec import decoder

    def exhausted(*args, **kwargs):
        raise error

    monkeypatch.setattr(decoder, "decode_tensors", exhausted)
    source = tmp_path / "in.nvc"
    source.write_bytes(SMALL)
    assert main(["decode", str(source), str(tmp_path / "out.y4m")]) == 5
    err = capsys.readouterr().err
    assert err.startswith("nvc: error: out of memory") and err.count("\n") == 1, err
    assert not (tmp_path / "out.y4m").exists()


# --- configs whose rendering would cost far more than the frame (fuzzing-style finding) ---------------


def _crafted_file(model, width: int, height: int, tile: int = 16) -> bytes:
    """A complete file for ``model``: every tensor zero (so nothing is rANS-coded and the file is tiny)."""
    import torch
    from fractions import Fraction

    from nvc.codec.bitstream import BitstreamWriter
    from nvc.codec.config import CodecConfig, EncoderInfo, VideoHeader
    from nvc.codec.tensor_coding import encode_tensors
    from nvc.models import QuantizedTensor

    shapes = model.parameter_shapes(height, width, 1)
    tensors = {name: QuantizedTensor(torch.zeros(shape, dtype=torch.int64), 0.5) for name, shape in shapes.items()}
    payload, _ = encode_tensors(tensors, None)
    stream = io.BytesIO()
    writer = BitstreamWriter(stream, VideoHeader(width, height, Fraction(25), 1),
                             CodecConfig(model=model, group_size=1, key_interval=1, tile=tile), EncoderInfo())
    writer.write_group(0, 0, 1, True, payload)
    writer.finish()
    return stream.getvalue()


def _thin(strides, tiled_stages, channels=None, kernels=None, **extra):
    from nvc.models import HNeRVConfig

    channels = channels or (1,) * len(strides)
    return HNeRVConfig(embed_channels=1, stem_channels=1, strides=tuple(strides), channels=tuple(channels),
                       kernels=kernels or (1,) * len(strides), block_kernel=1, tiled_stages=tiled_stages,
                       activation="relu", **extra)


@pytest.mark.parametrize("name,model,size,tile,match", [
    # an 8x8 video rendered through 8^7 x 8^7 padded feature maps: 1.4 KB that made the decoder reach
    # 13 GB and fail after minutes with a RuntimeError (exit code 5) before the check existed
    ("strides 8^7 on an 8x8 frame", _thin((8,) * 7 + (1,), 1), (8, 8), 16, "total stride"),
    ("strides 8^4 on an 8x8 frame", _thin((8, 8, 8, 8), 1), (8, 8), 16, "total stride"),
    ("strides 2^8 on a 16x16 frame", _thin((2,) * 8, 2), (16, 16), 16, "total stride"),
    ("1024 channels on 4096-pixel tiles", _thin((8, 8, 2, 2), 2, (16, 16, 1024, 1024)), (8192, 4352), 4096,
     "feature maps"),
    # within every other limit, yet 9.3e13 multiply-accumulates (2.6e6 per pixel) a frame: hours on a CPU
    ("7x7 kernels on 64 channels, 8K frame", _thin((8, 8, 2, 2), 2, (8, 8, 64, 64), kernels=(1, 1, 7, 7)),
     (8192, 4352), 16, "multiply-accumulates"),
    ("7x7 kernels on 64 channels, 256x256 frame", _thin((4, 4, 2, 2), 2, (8, 8, 64, 64), kernels=(1, 1, 7, 7)),
     (256, 256), 16, "multiply-accumulates"),
])
def test_configs_that_would_render_far_more_than_the_frame(name, model, size, tile, match):
    data = _crafted_file(model, *size, tile=tile)
    assert len(data) < 4096
    tracemalloc.start()
    try:
        start = time.perf_counter()
        rejects(data, "config", CONFIG_AT, match)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 << 20 and elapsed < 1.0, (peak, elapsed)


def test_the_compute_limit_refuses_before_any_network_is_built(monkeypatch):
    from nvc.codec import render

    def no_network(*args, **kwargs):
        raise AssertionError("a network was built for a file the limits refuse")

    monkeypatch.setattr(render, "build_network", no_network)
    data = _crafted_file(_thin((4, 4, 2, 2), 2, (8, 8, 64, 64), kernels=(1, 1, 7, 7)), 256, 256)
    rejects(data, "config", CONFIG_AT, "multiply-accumulates")


def test_thin_configs_within_the_limits_still_decode():
    data = _crafted_file(_thin((2, 2, 2, 2), 2), 16, 16)
    frames = decode_all(data)
    assert len(frames) == 1 and frames[0].shape == (16, 16, 3)


def test_the_render_limits_never_refuse_what_the_encoder_writes():
    from nvc.codec.bitstream import decode_cost_problem
    from nvc.codec.config import CodecConfig
    from nvc.codec.rate import model_for_video

    for width, height in [(8192, 4352), (4352, 8192), (5970, 5970), (8192, 1), (1, 1), (17, 9), (1920, 1080),
                          (256, 256), (255, 257)]:
        for quality in range(0, 52):
            for tile in (16, 17, 32, 512, 4096):
                config = CodecConfig(model=model_for_video(quality, height, width), group_size=600, tile=tile)
                assert decode_cost_problem(config, height, width) is None, (width, height, quality, tile)


def test_the_encoder_refuses_a_tuned_network_the_decoder_would_refuse(tmp_path):
    """Expert tuning can widen the network past the decoder's limits: refused before fitting."""
    from nvc.codec.rate import Tuning

    tuning = Tuning(model=(("kernels", (1, 7, 7, 7, 7)),), width=4.0)
    start = time.perf_counter()
    with pytest.raises(nvc.UsageError, match="multiply-accumulates"):
        nvc.encode(np.zeros((1, 256, 256, 3), np.uint8), tmp_path / "out.nvc", tuning=tuning, preset="ultrafast")
    assert list(tmp_path.iterdir()) == [] and time.perf_counter() - start < 10
