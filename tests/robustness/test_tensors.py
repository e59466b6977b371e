"""Hostile files, the GRUP payload: tensor headers, frequency tables and the coded data.
"""

from __future__ import annotations

import math
import struct
import zlib

import pytest

from nvc.entropy import read_uvarint, write_svarint, write_uvarint

from ..bitstream_tools import (
    chunk_list,
    edit_group,
    parse_group,
    splice,
)
from .hostile import (
    MULTI,
    SMALL,
    U64_MAX,
    group_base,
    rejects,
)

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
    _tensor_edit(SMALL, 0, lambda p, layout, t: (splice(p, t.rank_at, 1, bytes([rank])), t.rank_at), "tensor rank",
                 index)


@pytest.mark.parametrize("dim", [0, 2, (1 << 31), (1 << 63), U64_MAX, "minus one as int32"])
def test_tensor_dimension(dim):
    encoded = b"\xff\xff\xff\xff\x0f" if dim == "minus one as int32" else write_uvarint(dim)

    def make(p, layout, t):
        return splice(p, t.dims_at, _uvarint_len(p, t.dims_at), encoded), t.dims_at

    _tensor_edit(SMALL, 0, make, "tensor shape")


@pytest.mark.parametrize("raw", [b"\x80" * 10 + b"\x01", b"\x81\x00", b"\xff" * 9 + b"\x7f", b"\x80"],
                         ids=["11 bytes", "overlong", "beyond 2^64", "truncated"])
def test_malformed_varint_dimension(raw):
    def make(p, layout, t):
        return splice(p, t.dims_at, _uvarint_len(p, t.dims_at), raw), t.dims_at

    edited = edit_group(SMALL, 0, lambda p, layout: make(p, layout, layout.tensors[0])[0])
    exc = rejects(edited)
    assert exc.field in ("tensor shape", "tensor mode"), str(exc)


def test_tensor_shape_swapped():
    def make(p, layout, t):
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
    def make(p, layout, t):
        count = len(layout.tensors) + delta
        return splice(p, layout.count_at, _uvarint_len(p, layout.count_at), write_uvarint(count)), layout.count_at

    _tensor_edit(SMALL, 0, make, "tensor count")


@pytest.mark.parametrize("mode", [2, 255])
def test_unknown_mode(mode):
    _tensor_edit(SMALL, 0, lambda p, layout, t: (splice(p, t.mode_at, 1, bytes([mode])), t.mode_at), "tensor mode")


@pytest.mark.parametrize("byte", [0x30, 0xF0, 0x31])
def test_unknown_table_kind(byte):
    """The high four bits of the mode byte name the table kind; kinds 0, 1 and 2 are known."""
    _tensor_edit(SMALL, 0, lambda p, layout, t: (splice(p, t.mode_at, 1, bytes([byte])), t.mode_at), "table kind",
                 match="unknown table kind")


@pytest.mark.parametrize("index", [0, 4, 18])
def test_a_frequency_table_read_as_a_tailed_one(index):
    """Kind 0's bytes parsed as kind 1: refused (a field of the table, or the data that follows)."""
    edited = edit_group(SMALL, 0, lambda p, layout: splice(p, layout.tensors[index].mode_at, 1, b"\x10"))
    rejects(edited)


def test_residual_in_a_key_group():
    _tensor_edit(SMALL, 0, lambda p, layout, t: (splice(p, t.mode_at, 1, b"\x01"), t.mode_at), "tensor mode", 3)


def test_residual_on_another_grid():
    index = next(i for i, t in enumerate(parse_group(chunk_list(MULTI)[2][1]).tensors) if t.mode == 1)

    def make(p, layout, t):
        return splice(p, t.step_at, 4, struct.pack("<f", t.step * 2)), t.step_at

    _tensor_edit(MULTI, 1, make, "tensor step", index, "different quantization grid")


@pytest.mark.parametrize("step", [math.nan, -math.nan, math.inf, -math.inf, 0.0, -0.0, -1.0, -1e-30],
                         ids=["NaN", "-NaN", "Inf", "-Inf", "0", "-0", "-1", "-tiny"])
@pytest.mark.parametrize("index", [0, 4])
def test_step_not_positive_and_finite(step, index):
    _tensor_edit(SMALL, 0, lambda p, layout, t: (splice(p, t.step_at, 4, struct.pack("<f", step)), t.step_at),
                 "tensor step", index)


def test_nan_step_with_any_payload_bits():
    for bits in (0x7F800001, 0x7FC00000, 0x7FFFFFFF, 0xFF800001, 0xFFFFFFFF):
        def make(p, layout, t, bits=bits):
            return splice(p, t.step_at, 4, struct.pack("<I", bits)), t.step_at

        _tensor_edit(SMALL, 0, make, "tensor step")


@pytest.mark.parametrize("index", [0, 4, 18])
def test_symbol_checksum(index):
    def make(p, layout, t):
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
    def make(p, layout, t):
        raw = table(t)
        return splice(p, t.table_at, t.end - t.table_at, raw), t.table_at + _table_offsets(raw)[field]

    _tensor_edit(SMALL, 0, make, field, index)


def test_zero_frequency_for_a_coded_symbol():
    """Move one used value's mass to another: the table stays valid, the coded data no longer fits."""

    def edit(p, layout):
        t = layout.tensors[0]
        used = [i for i, f in enumerate(t.freqs) if f]
        freqs = list(t.freqs)
        freqs[used[1]] += freqs[used[0]]
        freqs[used[0]] = 0
        return splice(p, t.table_at, t.end - t.table_at, _table(t.precision, t.offset, freqs))

    exc = rejects(edit_group(SMALL, 0, edit))
    assert exc.field in ("coded data", "symbol checksum"), str(exc)


def test_certain_table_for_a_coded_tensor():
    """A table giving one value all the mass takes its tensor out of the rANS string."""

    def edit(p, layout):
        t = layout.tensors[0]
        return splice(p, t.table_at, t.end - t.table_at, _table(1, 0, [2]))

    exc = rejects(edit_group(SMALL, 0, edit))
    assert exc.field in ("coded data", "symbol checksum"), str(exc)


# --- coded data -------------------------------------------------------------------------------------


def _recoded(new_coded):
    """Replace a group's coded data by new_coded(old) with its length field updated and the CRC32 redone."""

    def edit(p, layout):
        body = new_coded(p[layout.coded_at : -4])
        coded = body + struct.pack("<I", zlib.crc32(body)) if body is not None else b""
        return p[: layout.coded_length_at] + write_uvarint(len(coded)) + coded

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
    def edit(p, layout):
        return p[:-1] + bytes([p[-1] ^ 0x80])

    edited = edit_group(SMALL, 0, edit)
    layout = parse_group(chunk_list(edited)[1][1])
    rejects(edited, "coded data", group_base(edited) + len(chunk_list(edited)[1][1]) - 4, "CRC32")
    assert layout.coded_length >= 12


@pytest.mark.parametrize("name,edit", [
    ("garbage after the coded data", lambda p, layout: p + b"\x00\x01"),
    ("coded length + 1", lambda p, g: p[: g.coded_length_at] + write_uvarint(g.coded_length + 1) + p[g.coded_at:]),
    ("coded length - 1", lambda p, g: p[: g.coded_length_at] + write_uvarint(g.coded_length - 1) + p[g.coded_at:]),
    ("coded length 2^64-1", lambda p, g: p[: g.coded_length_at] + write_uvarint(U64_MAX) + p[g.coded_at:]),
    ("coded length 2^63", lambda p, layout: p[: layout.coded_length_at] + write_uvarint(1 << 63) + p[layout.coded_at:]),
])
def test_coded_length_must_equal_the_bytes_left(name, edit):
    edited = edit_group(SMALL, 0, edit)
    layout_at = parse_group(chunk_list(SMALL)[1][1]).coded_length_at
    rejects(edited, "coded length", group_base(edited) + layout_at)


def test_payload_ending_inside_a_tensor_header():
    for cut in (5, 20, 100, 139, 500):
        edited = edit_group(SMALL, 0, lambda p, layout, cut=cut: p[: layout.tensors[0].rank_at + cut])
        rejects(edited)
