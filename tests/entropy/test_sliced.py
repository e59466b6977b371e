"""Table kind 2 (entropy/sliced.py): a kind-1 table per slice, round trips, choice, hostile bytes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nvc.codec.errors import BitstreamError
from nvc.codec.tensor_coding import decode_tensors, encode_tensors
from nvc.entropy import EntropyFormatError, decode_streams, encode_streams
from nvc.entropy.kinds import FREQUENCY, TAILED
from nvc.entropy.sliced import MAX_RUNS, SLICED, allowed_axes
from nvc.models.quantized import QuantizedTensor


def _channels(seed: int = 0, shape: tuple[int, ...] = (2, 12, 10, 16)) -> np.ndarray:
    """A grid-like tensor whose channels (axis 1) differ: every third one wide, the rest near zero."""
    rng = np.random.default_rng(seed)
    scales = np.where(np.arange(shape[1]) % 3 == 0, 6.0, 0.15).reshape(1, -1, *([1] * (len(shape) - 2)))
    return np.round(rng.laplace(0, 1, shape) * scales).astype(np.int64)


@pytest.mark.parametrize("seed", [0, 1])
def test_fit_slices_along_the_channels_and_round_trips(seed):
    values = _channels(seed)
    table = SLICED.fit(values)
    assert table.axis == 1 and len(table.tables) == values.shape[1]
    data = SLICED.to_bytes(table)
    assert len(data) == SLICED.nbytes(table)
    parsed, end = SLICED.from_bytes(b"x" + data + b"y", 1, values.shape)
    assert parsed == table and end == 1 + len(data)
    parts = SLICED.parts(parsed, values.shape)
    assert [count for count, _ in parts] == [10 * 16] * (2 * 12)  # row-major runs: time slot, then channel
    assert [freqs for _, freqs in parts] == [t.frequencies() for t in table.tables] * 2  # run i: slice i mod 12
    runs = values.reshape(2 * 12, -1)
    coded = encode_streams([(run, freqs) for run, (_, freqs) in zip(runs, parts, strict=True)])
    estimate = SLICED.estimate_bits(table, values)
    assert estimate <= len(coded) * 8 <= estimate + 128
    assert np.array_equal(np.concatenate(decode_streams(coded, parts)), values.reshape(-1))


def test_the_encoder_takes_slices_where_channels_differ_and_one_table_where_they_do_not():
    rng = np.random.default_rng(3)
    tensors = {"grid": QuantizedTensor(torch.from_numpy(_channels()), 0.5),
               "alike": QuantizedTensor(torch.from_numpy(np.round(rng.laplace(0, 1, (8, 40))).astype(np.int64)), 1.0),
               "bias": QuantizedTensor(torch.from_numpy(rng.integers(-3, 4, (12,))), 1.0)}
    chosen, _ = encode_tensors(tensors, None)
    without, _ = encode_tensors(tensors, None, kinds=[FREQUENCY, TAILED])
    assert len(chosen) < len(without) - 100
    kinds = _kinds(chosen, tensors)
    assert kinds["grid"] == SLICED.number and kinds["alike"] != SLICED.number and kinds["bias"] != SLICED.number
    decoded = decode_tensors(chosen, 0, {name: tuple(t.symbols.shape) for name, t in tensors.items()}, None)
    for name, tensor in tensors.items():
        assert torch.equal(decoded[name].symbols, tensor.symbols)


def _kinds(payload: bytes, tensors: dict[str, QuantizedTensor]) -> dict[str, int]:
    """Each tensor's table kind, read from the payload's headers."""
    from nvc.codec.tensor_coding import _read_headers

    headers, _ = _read_headers(memoryview(payload), 0, {n: tuple(t.symbols.shape) for n, t in tensors.items()},
                               None, check_reference=False)
    return {h.name: h.kind.number for h in headers}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_lower_bound_never_exceeds_what_a_fitted_table_costs(seed):
    """The encoder skips fitting kind 2 where this bound cannot beat a kind already fitted; a bound
    above the real cost would make it skip a table that pays."""
    rng = np.random.default_rng(seed)
    for values in (_channels(seed), _channels(seed, (6, 5, 3, 3)), rng.integers(-2, 3, (4, 30)),
                   np.zeros((3, 8), np.int64)):
        table = SLICED.fit(values)
        assert SLICED.least_bytes(values) <= SLICED.nbytes(table) + SLICED.estimate_bits(table, values) / 8


def test_allowed_axes():
    assert allowed_axes((12,)) == []  # a vector: a table per value would be absurd
    assert allowed_axes((1, 5, 3)) == [1]  # one slice is no slicing
    assert allowed_axes((64, 64, 3, 3)) == [0, 1]
    assert allowed_axes((MAX_RUNS, 2)) == [0]  # axis 1 would make 2 * MAX_RUNS runs
    assert allowed_axes((MAX_RUNS + 1, 2)) == []


@pytest.mark.parametrize("axis_byte,shape", [(2, (4, 4, 4)), (1, (4, 1)), (0, (9,)), (255, (4, 4))])
def test_a_slicing_axis_the_shape_does_not_allow_is_refused_before_any_table(axis_byte, shape):
    with pytest.raises(EntropyFormatError) as caught:
        SLICED.from_bytes(bytes([axis_byte]) + b"\x00" * 64, 0, shape)
    assert (caught.value.field, caught.value.offset) == ("slicing axis", 0)


def test_every_truncation_is_refused():
    values = _channels(shape=(3, 4, 5))
    data = SLICED.to_bytes(SLICED.fit(values))
    SLICED.from_bytes(data, 0, values.shape)
    for end in range(len(data)):
        with pytest.raises(EntropyFormatError):
            SLICED.from_bytes(data[:end], 0, values.shape)


def test_a_file_claiming_kind_2_for_a_vector_is_refused_naming_the_axis():
    tensors = {"bias": QuantizedTensor(torch.from_numpy(np.arange(-3, 4)), 1.0)}
    payload = bytearray(encode_tensors(tensors, None, kinds=[TAILED])[0])
    mode_at = 1 + 1 + 1  # count, rank, one one-byte dim
    payload[mode_at] = SLICED.number << 4
    with pytest.raises(BitstreamError, match="axis") as caught:
        decode_tensors(bytes(payload), 50, {"bias": (7,)}, None)
    assert caught.value.field == "slicing axis"


def test_damaged_payloads_with_sliced_tables_fail_cleanly():
    """Random byte edits of a payload whose grid is sliced: decoded exactly, or a BitstreamError."""
    tensors = {"grid": QuantizedTensor(torch.from_numpy(_channels()), 0.5),
               "bias": QuantizedTensor(torch.arange(-2, 3), 1.0)}
    payload, _ = encode_tensors(tensors, None)
    assert _kinds(payload, tensors)["grid"] == SLICED.number
    shapes = {name: tuple(t.symbols.shape) for name, t in tensors.items()}
    rng = np.random.default_rng(0)
    for _ in range(300):
        damaged = bytearray(payload)
        for at in rng.integers(0, len(damaged), rng.integers(1, 4)):
            damaged[at] = int(rng.integers(0, 256))
        try:
            decoded = decode_tensors(bytes(damaged), 0, shapes, None)
        except BitstreamError:
            continue
        for name, tensor in tensors.items():  # the symbols' CRC caught every change that mattered
            assert torch.equal(decoded[name].symbols, tensor.symbols)
