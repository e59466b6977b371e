"""nvc.entropy: bit-exact round trips, table invariants, and rejection of hostile bytes."""

from __future__ import annotations

import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvc.entropy import (
    MAX_ALPHABET,
    MAX_SYMBOLS,
    EntropyFormatError,
    FrequencyTable,
    build_table,
    decode_streams,
    encode_streams,
    estimate_bits,
    read_svarint,
    read_uvarint,
    symbols_checksum,
    table_from_bytes,
    table_nbytes,
    table_to_bytes,
    write_svarint,
    write_uvarint,
)
from nvc.entropy.rans import table_cdf


def laplace(n: int, scale: float = 3.0, seed: int = 0) -> np.ndarray:
    return np.round(np.random.default_rng(seed).laplace(0.0, scale, n)).astype(np.int64)


def round_trip(parts: list[np.ndarray], tables: list[FrequencyTable] | None = None) -> bytes:
    tables = tables or [build_table(p if p.size else np.zeros(1, np.int64)) for p in parts]
    data = encode_streams(list(zip(parts, tables)))
    decoded = decode_streams(data, [(p.size, t) for p, t in zip(parts, tables)])
    assert len(decoded) == len(parts)
    for got, want in zip(decoded, parts):
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, want.ravel())
    return data


def header(precision: int, offset: int, size: int) -> bytes:
    return bytes([precision]) + write_svarint(offset) + write_uvarint(size)


# --- round trips -------------------------------------------------------------


@pytest.mark.parametrize(
    "parts",
    [
        [laplace(5000)],
        [np.random.default_rng(1).integers(0, 256, 4000)],
        [np.full(100, 7)],
        [laplace(3000, seed=2) - 1000],
        [laplace(2000, seed=3) + (1 << 31) - 100, laplace(2000, seed=4) - (1 << 31) + 100],
        [laplace(1000, seed=5), np.full(50, -3), np.zeros(0, np.int64), laplace(700, 20.0, 6).reshape(7, 100)],
    ],
    ids=["laplace", "uniform", "single-symbol", "negative", "large-offset", "mixed"],
)
def test_round_trip(parts: list[np.ndarray]) -> None:
    round_trip(parts)


@pytest.mark.parametrize("n", range(1, 10))
def test_round_trip_few_symbols(n: int) -> None:
    """Short streams go through compressai's padding-sensitive path."""
    round_trip([np.clip(laplace(n, seed=n), -8, 8)], [build_table(np.arange(-8, 9))])


def test_nothing_to_code_is_empty() -> None:
    assert round_trip([np.zeros(0, np.int64), np.full(9, 4)]) == b""
    assert encode_streams([]) == b""
    assert decode_streams(b"", []) == []


def test_any_int_dtype_and_shape() -> None:
    x = laplace(600).astype(np.int16).reshape(20, 30)
    (got,) = decode_streams(encode_streams([(x, build_table(x))]), [(x.size, build_table(x))])
    np.testing.assert_array_equal(got, x.ravel())


def test_coded_size_close_to_estimate() -> None:
    x = laplace(20000)
    table = build_table(x)
    data = encode_streams([(x, table)])
    assert abs(8 * len(data) - estimate_bits(table, x)) < 128


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(-(1 << 31), (1 << 31) - 40),
            st.lists(st.integers(0, 39), max_size=60),
            st.one_of(st.none(), st.integers(6, 16)),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_round_trip_property(specs: list[tuple[int, list[int], int | None]]) -> None:
    parts = [offset + np.asarray(values, np.int64) for offset, values, _ in specs]
    tables = [
        build_table(p if p.size else np.array([offset]), precision)
        for p, (offset, _, precision) in zip(parts, specs)
    ]
    round_trip(parts, tables)


# --- tables ------------------------------------------------------------------


@pytest.mark.parametrize("precision", [None, 8, 12, 16])
def test_normalisation_invariants(precision: int | None) -> None:
    x = np.concatenate([laplace(10000, 8.0), [500, -400]])  # two rare outliers, a gap between
    table = build_table(x, precision)
    assert sum(table.freqs) == 1 << table.precision
    present = np.unique(x) - table.offset
    assert min(table.freqs[i] for i in present) >= 1
    assert table.offset == x.min() and len(table.freqs) == x.max() - x.min() + 1
    counts, freqs = np.bincount(x - table.offset), np.asarray(table.freqs)
    levels = np.unique(counts)
    for lower, higher in zip(levels, levels[1:]):  # a more frequent symbol never gets less
        assert freqs[counts == lower].max() <= freqs[counts == higher].min()


def test_normalisation_60000_symbols() -> None:
    x = np.concatenate([np.arange(60000), np.zeros(100000, np.int64)])
    table = build_table(x)
    assert table.precision == 16
    assert sum(table.freqs) == 1 << 16 and min(table.freqs) >= 1
    round_trip([x[59800:60000]], [table])


def test_normalisation_is_deterministic_with_ties() -> None:
    table = build_table(np.array([0, 1, 2]), precision=4)
    assert table.freqs == (6, 5, 5)  # 16 = 5+5+5 plus one for the lowest tied symbol


def test_build_table_rejects() -> None:
    with pytest.raises(ValueError):
        build_table(np.zeros(0, np.int64))
    with pytest.raises(ValueError):
        build_table(np.array([0, MAX_ALPHABET]))
    with pytest.raises(ValueError):
        build_table(np.arange(5), precision=2)
    with pytest.raises(ValueError):
        build_table(np.array([1 << 31]))
    with pytest.raises(TypeError):
        build_table(np.array([0.5]))


def test_table_constructor_validates() -> None:
    with pytest.raises(ValueError):
        FrequencyTable(0, 4, (8, 7))
    with pytest.raises(ValueError):
        FrequencyTable(0, 17, (1 << 17,))
    with pytest.raises(ValueError):
        FrequencyTable((1 << 31) - 1, 1, (1, 1))


def test_table_bytes_round_trip() -> None:
    tables = [build_table(laplace(3000, s, seed=int(s))) for s in (0.3, 3.0, 40.0)]
    tables.append(build_table(np.array([-(1 << 31)])))
    buf = b"junk" + b"".join(table_to_bytes(t) for t in tables)
    pos = 4
    for table in tables:
        assert table_nbytes(table) == len(table_to_bytes(table))
        parsed, pos = table_from_bytes(buf, pos)
        assert parsed == table
    assert pos == len(buf)
    assert table_from_bytes(memoryview(buf), 4)[0] == tables[0]


@pytest.mark.parametrize(
    ("buf", "field", "offset"),
    [
        (header(8, 0, 3) + bytes([0, 0, 0]), "freqs", 3),
        (header(8, 0, 3) + bytes([100, 100, 55]), "freqs", 3),
        (header(8, 0, 2) + bytes([1]) + write_uvarint(257), "freqs", 4),
        (header(0, 0, 1) + bytes([1]), "precision", 0),
        (header(17, 0, 1) + write_uvarint(1 << 17), "precision", 0),
        (header(40, 0, 1), "precision", 0),
        (header(16, 0, MAX_ALPHABET + 1) + bytes(MAX_ALPHABET + 1), "alphabet size", 2),
        (header(16, 0, 0), "alphabet size", 2),
        (header(8, 0, 200) + bytes([255, 1]), "alphabet size", 2),
        (header(1, (1 << 31) - 1, 2) + bytes([1, 1]), "alphabet size", 6),
        (header(1, 1 << 31, 1) + bytes([2]), "offset", 1),
        (bytes([8, 0x80, 0x00, 1, 0x80, 2]), "offset", 1),
        (header(8, 0, 1) + bytes([0x80, 0x82, 0x00]), "freqs", 3),
        (b"", "precision", 0),
    ],
    ids=[
        "all-zero",
        "sum-mismatch",
        "freq-too-big",
        "precision-0",
        "precision-17",
        "precision-40",
        "alphabet-over-max",
        "alphabet-empty",
        "alphabet-over-bytes-left",
        "alphabet-overflows-int32",
        "offset-outside-int32",
        "overlong-varint",
        "overlong-varint-freq",
        "empty-buffer",
    ],
)
def test_table_parser_errors(buf: bytes, field: str, offset: int) -> None:
    with pytest.raises(EntropyFormatError) as info:
        table_from_bytes(buf, 0)
    assert (info.value.field, info.value.offset) == (field, offset)
    assert f"(field '{field}', byte {offset})" in str(info.value)


def test_table_truncated_at_every_byte() -> None:
    buf = table_to_bytes(build_table(laplace(2000)))
    for end in range(len(buf)):
        with pytest.raises(EntropyFormatError):
            table_from_bytes(buf[:end], 0)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=48), st.integers(0, 4))
def test_table_parser_random_bytes(buf: bytes, pos: int) -> None:
    try:
        table, end = table_from_bytes(buf, pos)
    except EntropyFormatError:
        return
    assert table_to_bytes(table) == buf[pos:end]


# --- varints -----------------------------------------------------------------


def test_varints() -> None:
    for value in [0, 1, 127, 128, 300, (1 << 63) - 1, (1 << 64) - 1]:
        assert read_uvarint(b"\xff" + write_uvarint(value), 1) == (value, 1 + len(write_uvarint(value)))
    for value in [0, -1, 1, -64, 64, -(1 << 63), (1 << 63) - 1]:
        assert read_svarint(write_svarint(value), 0)[0] == value
    assert write_svarint(-1) == b"\x01" and write_svarint(1) == b"\x02"
    with pytest.raises(ValueError):
        write_uvarint(1 << 64)
    with pytest.raises(ValueError):
        write_svarint(1 << 63)


@pytest.mark.parametrize(
    "buf",
    [b"", b"\x80", b"\x80\x00", b"\xff" * 9 + b"\x02", b"\x80" * 10 + b"\x01", b"\xff" * 11],
    ids=["empty", "truncated", "overlong", "over-64-bits", "11-bytes", "runaway"],
)
def test_varint_errors(buf: bytes) -> None:
    with pytest.raises(EntropyFormatError) as info:
        read_uvarint(buf, 0, "size")
    assert info.value.field == "size"


# --- hostile coded data ------------------------------------------------------


@pytest.fixture(scope="module")
def coded() -> tuple[bytes, list[tuple[int, FrequencyTable]]]:
    parts = [laplace(60, seed=7), laplace(40, 1.0, seed=8)]
    tables = [build_table(p) for p in parts]
    return encode_streams(list(zip(parts, tables))), [(p.size, t) for p, t in zip(parts, tables)]


def test_truncated_coded_data(coded: tuple[bytes, list[tuple[int, FrequencyTable]]]) -> None:
    data, layout = coded
    for end in range(len(data)):
        with pytest.raises(EntropyFormatError) as info:
            decode_streams(data[:end], layout)
        assert info.value.field in ("checksum", "coded data")


def with_crc(body: bytes) -> bytes:
    return body + zlib.crc32(body).to_bytes(4, "little")


@pytest.mark.parametrize("edit", ["truncate", "extend", "flip", "empty-body"])
def test_forged_crc_still_rejected(coded: tuple[bytes, list[tuple[int, FrequencyTable]]], edit: str) -> None:
    """A valid CRC over edited bytes (hostile, not accidental) is caught by the re-encode check."""
    data, layout = coded
    body = bytearray(data[:-4])
    if edit == "truncate":
        body = body[:-4]
    elif edit == "extend":
        body += bytes(4)
    elif edit == "flip":
        body[len(body) // 2] ^= 0x10
    else:
        body = bytearray()
    with pytest.raises(EntropyFormatError) as info:
        decode_streams(with_crc(bytes(body)), layout)
    assert info.value.field == "coded data"


def test_crc_on_nothing_coded_is_rejected() -> None:
    table = build_table(np.zeros(3, np.int64))
    for data in [with_crc(b""), b"\x00"]:
        with pytest.raises(EntropyFormatError):
            decode_streams(data, [(3, table)])


@pytest.mark.parametrize("extra", [b"\x00", b"\x00" * 4, b"\x12\x34\x56\x78"])
def test_trailing_garbage(coded: tuple[bytes, list[tuple[int, FrequencyTable]]], extra: bytes) -> None:
    data, layout = coded
    with pytest.raises(EntropyFormatError):
        decode_streams(data + extra, layout)


def test_every_flipped_byte(coded: tuple[bytes, list[tuple[int, FrequencyTable]]]) -> None:
    data, layout = coded
    for i in range(len(data)):
        for mask in (0x01, 0x80, 0xFF):
            corrupt = bytearray(data)
            corrupt[i] ^= mask
            with pytest.raises(EntropyFormatError):
                decode_streams(bytes(corrupt), layout)


def test_wrong_counts(coded: tuple[bytes, list[tuple[int, FrequencyTable]]]) -> None:
    data, layout = coded
    (n0, t0), (n1, t1) = layout
    with pytest.raises(EntropyFormatError):
        decode_streams(data, [(n0, t0), (n1 + 1, t1)])
    with pytest.raises(EntropyFormatError) as info:
        decode_streams(data, [(MAX_SYMBOLS, t0), (1, t1)])
    assert info.value.field == "symbol count"
    with pytest.raises(EntropyFormatError):
        decode_streams(data, [(-1, t0)])
    with pytest.raises(EntropyFormatError):
        decode_streams(b"\x00" * 8, [(0, t0), (5, FrequencyTable(3, 2, (4,)))])


def test_random_data_never_crashes() -> None:
    rng = np.random.default_rng(9)
    table = build_table(laplace(1000))
    for size in [0, 3, 8, 12, 64]:
        with pytest.raises(EntropyFormatError):
            decode_streams(rng.bytes(size), [(50, table)])


# --- encoder refusals and the escape symbol ----------------------------------


def test_encoder_refuses_uncodable_symbols() -> None:
    table = build_table(np.array([0, 0, 2]), precision=8)
    assert table.freqs[1] == 0
    with pytest.raises(ValueError, match="frequency 0"):
        encode_streams([(np.array([0, 1]), table)])
    with pytest.raises(ValueError, match="outside"):
        encode_streams([(np.array([3]), table)])
    with pytest.raises(ValueError, match="outside"):
        encode_streams([(np.array([5]), FrequencyTable(4, 1, (2,)))])


def test_escape_symbol_can_never_be_decoded() -> None:
    from compressai.ans import RansDecoder

    table = FrequencyTable(0, 8, (100, 0, 150, 6))
    cdf = table_cdf(table)
    assert cdf == [0, 100 << 8, 250 << 8, 1 << 16, 1 << 16]  # the symbols present, then the escape
    rng = np.random.default_rng(10)
    n = 200
    for _ in range(50):
        garbage = rng.bytes(4 * n + 16)
        out = RansDecoder().decode_with_indexes(garbage, [0] * n, [cdf], [len(cdf)], [0])
        assert set(out) <= {0, 1, 2}


def test_decoding_holds_about_12_bytes_a_symbol() -> None:
    """The zero-padded input (4 bytes a symbol), the decoded CDF slots (4) and the int32 output (4):
    compressai is fed chunk by chunk, so no Python list spans the string (it was 57 bytes a symbol)."""
    rng = np.random.default_rng(3)
    n = 1 << 18
    values = rng.integers(-8, 9, n) * (rng.random(n) < 0.3)
    table = build_table(values)
    data = encode_streams([(values, table)])
    tracemalloc.start()
    try:
        (out,) = decode_streams(data, [(n, table)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(out, values) and out.dtype == np.int32
    assert peak < 16 * n, peak / n


@pytest.mark.parametrize("count,widest", [(1 << 20, 1 << 15), (1 << 26, (1 << 16) - 1), (1, 1 << 15)])
def test_coded_data_too_short_for_its_counts_is_refused_before_decoding(count: int, widest: int) -> None:
    """n symbols whose widest width is w need n (2^16 - w) / 2^16 bits: fewer bytes are refused at once."""
    table = FrequencyTable(0, 16, (widest, (1 << 16) - widest))
    need = max(8, -(-count * ((1 << 16) - widest) // (8 << 16)))
    body = bytes(need - 4 - need % 4)  # the largest multiple of 4 below what the counts need
    tracemalloc.start()
    try:
        with pytest.raises(EntropyFormatError, match="cannot hold") as info:
            decode_streams(with_crc(body), [(count, table)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.field == "coded data" and peak < 4 * len(body) + (1 << 20), peak


def test_the_minimum_length_never_refuses_what_the_encoder_writes() -> None:
    rng = np.random.default_rng(4)
    for n in (1, 7, 8, 100, 5000):
        for p in (1e-4, 0.01, 0.5):
            values = (rng.random(n) < p).astype(np.int64)
            values[0] = 1 - values[0] if n > 1 and values.min() == values.max() else values[0]
            table = build_table(values)
            (out,) = decode_streams(encode_streams([(values, table)]), [(n, table)])
            assert np.array_equal(out, values)


def test_symbols_checksum() -> None:
    x = np.array([[1, -2], [70000, 0]], np.int64)
    assert symbols_checksum(x) == zlib.crc32(np.array([1, -2, 70000, 0], "<i4").tobytes())
    assert symbols_checksum(x.astype(np.int32)) == symbols_checksum(x)
    assert symbols_checksum(np.zeros(0, np.int64)) == 0
    with pytest.raises(ValueError):
        symbols_checksum(np.array([1 << 31]))
