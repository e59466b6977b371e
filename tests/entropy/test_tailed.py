"""Table kind 1 (entropy/tailed.py): exact integer tables, round trips, and hostile bytes."""

from __future__ import annotations

import numpy as np
import pytest

from nvc.entropy import EntropyFormatError, FrequencyTable, decode_streams, encode_streams, write_svarint, write_uvarint
from nvc.entropy.tailed import MAX_COUNT, TAILED, TailedTable


def _sparse(seed: int = 0, size: int = 3000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = np.round(rng.laplace(0, 0.6, size)).astype(np.int64)
    values[:2] = (-40, 55)  # far outliers: a wide span a count-per-symbol table pays for
    return values


def test_the_tails_grow_by_integer_multiplication():
    table = TailedTable(precision=8, offset=-3, size=7, core_start=2, core=(100, 1000, 300), left=32768, right=16384)
    # left of the core: 100 -> 50 -> 25; right: 300 -> 75 -> 18
    assert table.pseudo_counts().tolist() == [25, 50, 100, 1000, 300, 75, 18]
    freqs = table.frequencies()
    assert isinstance(freqs, FrequencyTable) and sum(freqs.freqs) == 256 and min(freqs.freqs) >= 1


def test_the_frequencies_follow_the_documented_normalisation():
    """docs/FORMAT.md's rule, written out in plain integers: a file's kind-1 tables mean what the
    spec says on every reader, whatever becomes of the encoder's own helpers."""
    table = TailedTable(precision=8, offset=-3, size=7, core_start=2, core=(100, 1000, 300), left=32768, right=16384)
    counts = table.pseudo_counts().tolist()
    spare, total = 256 - len(counts), sum(counts)
    freqs = [1 + c * spare // total for c in counts]
    by_remainder = sorted(range(len(counts)), key=lambda i: (-(counts[i] * spare % total), i))
    for i in by_remainder[: 256 - sum(freqs)]:
        freqs[i] += 1
    assert list(table.frequencies().freqs) == freqs


def test_a_tail_stops_at_one():
    table = TailedTable(precision=16, offset=0, size=40000, core_start=0, core=(MAX_COUNT,), left=0, right=60000)
    counts = table.pseudo_counts()
    assert counts[0] == MAX_COUNT and counts[-1] == 1 and np.all(np.diff(counts) <= 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_round_trips_and_codes_its_values(seed):
    values = _sparse(seed)
    table = TAILED.fit(values)
    data = TAILED.to_bytes(table)
    assert len(data) == TAILED.nbytes(table) < 40
    parsed, end = TAILED.from_bytes(b"xx" + data + b"yy", 2)
    assert parsed == table and end == 2 + len(data)
    [(count, freqs)] = TAILED.parts(parsed, values.shape)
    coded = encode_streams([(values, freqs)])
    estimate = TAILED.estimate_bits(table, values)
    assert estimate <= len(coded) * 8 <= estimate + 128  # the ideal code length, plus rANS's final states
    assert np.array_equal(decode_streams(coded, [(count, freqs)])[0], values)


def _table_bytes(precision=16, offset=-5, size=11, core_start=4, core=(10, 90, 20),
                 ratios=b"\x00\x80\x00\x40") -> bytes:
    return (bytes([precision]) + write_svarint(offset) + write_uvarint(size) + write_uvarint(core_start)
            + write_uvarint(len(core)) + b"".join(write_uvarint(c) for c in core) + ratios)


@pytest.mark.parametrize("data,field,at", [
    (b"", "precision", 0),
    (_table_bytes(precision=0), "precision", 0),
    (_table_bytes(precision=17), "precision", 0),
    (_table_bytes(size=0), "alphabet size", 2),
    (_table_bytes(precision=3, size=9, core_start=0), "alphabet size", 2),  # 9 symbols > 2**3
    (_table_bytes(size=(1 << 16) + 1), "alphabet size", 2),
    (_table_bytes(offset=(1 << 31) - 5), "alphabet size", 6),  # symbols past int32
    (_table_bytes(offset=-(1 << 31) - 1), "offset", 1),
    (_table_bytes(core_start=11), "core start", 3),
    (_table_bytes(core=()), "core length", 4),
    (_table_bytes(core_start=10, core=(1, 2)), "core length", 4),
    (_table_bytes(core=(1,) * 17, size=40), "core length", 4),
    (_table_bytes(core=(10, 0, 20)), "core", 6),
    (_table_bytes(core=(10, MAX_COUNT + 1, 20)), "core", 6),
    (_table_bytes(ratios=b"\x00\x80\x00"), "ratios", 8),
])
def test_hostile_tables_are_refused_naming_the_field(data, field, at):
    with pytest.raises(EntropyFormatError) as caught:
        TAILED.from_bytes(data, 0)
    assert (caught.value.field, caught.value.offset) == (field, at), str(caught.value)


def test_every_truncation_is_refused():
    data = _table_bytes()
    TAILED.from_bytes(data, 0)
    for end in range(len(data)):
        with pytest.raises(EntropyFormatError):
            TAILED.from_bytes(data[:end], 0)
