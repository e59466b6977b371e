"""Hostile files, the framing: foreign files, versions, truncation, bit flips, chunk lengths and structure,
index and end chunk (each must end in nvc.BitstreamError naming field and byte).
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest

import nvc
from nvc.codec.container import CHUNK_HEAD, PREAMBLE, SIGNATURE

from ..bitstream_tools import (
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
)
from .hostile import (
    HEAD_DATA,
    MULTI,
    PNG,
    REFERENCE,
    SMALL,
    U64_MAX,
    decode_all,
    group_base,
    newer_writer,
    refs,
    rejects,
    set_length,
)

# --- not an nvc file at all ------------------------------------------------------------------------

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


@pytest.mark.parametrize("min_reader", [nvc.FORMAT_VERSION + 1, 0xFFFF])
def test_newer_minimum_reader_needs_a_newer_nvc(min_reader):
    data = bytearray(SMALL)
    struct.pack_into("<H", data, 10, min_reader)
    exc = rejects(bytes(data), "min_reader_version", 10, "needs a newer nvc", nvc.NewerFormatError)
    assert f"reader version {min_reader}" in str(exc)


def test_a_newer_writer_alone_is_fine():
    data = newer_writer()
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


@pytest.mark.parametrize("chunk", [0, 1, 2, 3], ids=["HEAD", "GRUP", "INDX", "IEND"])
@pytest.mark.parametrize("value", [U64_MAX, 1 << 63, (1 << 31) + 1, lambda remaining: remaining + 1],
                         ids=["2^64-1", "2^63", "2^31+1", "remaining+1"])
def test_chunk_length_beyond_the_file(chunk, value):
    data, at = set_length(SMALL, chunk, value)
    rejects(data, "chunk length", at, "exceeds the bytes present")


@pytest.mark.parametrize("chunk", [0, 1, 2, 3], ids=["HEAD", "GRUP", "INDX", "IEND"])
@pytest.mark.parametrize("delta", [-1, -4, -16])
def test_chunk_length_too_short(chunk, delta):
    ref = refs(SMALL)[chunk]
    data, _ = set_length(SMALL, chunk, max(0, ref.length + delta))
    rejects(data)


@pytest.mark.parametrize("value", [0xFFFFFFFF, 1 << 31, "+1", "-1", 0])
def test_config_length_must_equal_the_chunk(value):
    config_length = head_fields(chunk_list(SMALL)[0][1])[0]["config_length"]
    value = {"+1": config_length + 1, "-1": config_length - 1}.get(value, value)
    rejects(edit_head(SMALL, config_length=value), "config length", HEAD_DATA + HEAD_OFFSETS["config_length"])



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
    def edit(p, layout):
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
