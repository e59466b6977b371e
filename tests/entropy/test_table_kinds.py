"""The entropy seam: a kind of table plugs into the tensor coding through nvc.entropy.TableKind."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nvc.codec.errors import BitstreamError
from nvc.codec.tensor_coding import TENSOR, decode_tensors, encode_tensors
from nvc.entropy import FREQUENCY, TABLE_KINDS, FrequencyTable, read_uvarint
from nvc.entropy.kinds import TAILED, FrequencyKind
from nvc.models.quantized import QuantizedTensor


class HalvesKind(FrequencyKind):
    """A toy kind 15: the first and the second half of a tensor's values get a table each."""

    number = 15

    def fit(self, values: np.ndarray) -> tuple[FrequencyTable, FrequencyTable, int]:
        flat = values.reshape(-1)
        half = flat.size // 2
        return FREQUENCY.fit(flat[:half] if half else flat), FREQUENCY.fit(flat[half:]), half

    def to_bytes(self, table) -> bytes:
        first, second, _ = table
        return FREQUENCY.to_bytes(first) + FREQUENCY.to_bytes(second)

    def from_bytes(self, buf, pos, shape):
        first, pos = FREQUENCY.from_bytes(buf, pos)
        second, pos = FREQUENCY.from_bytes(buf, pos)
        return (first, second, None), pos

    def nbytes(self, table) -> int:
        return len(self.to_bytes(table))

    def estimate_bits(self, table, values) -> float:
        flat = values.reshape(-1)
        half = flat.size // 2
        return FREQUENCY.estimate_bits(table[0], flat[:half]) + FREQUENCY.estimate_bits(table[1], flat[half:])

    def parts(self, table, shape):
        count = int(np.prod(shape))
        half = count // 2
        return [(half, table[0]), (count - half, table[1])]


def _tensors() -> dict[str, QuantizedTensor]:
    rng = np.random.default_rng(0)
    wide = np.concatenate([rng.integers(-3, 4, 50), rng.integers(100, 140, 50)]).reshape(10, 10)
    return {"a": QuantizedTensor(torch.from_numpy(wide), 0.25),
            "b": QuantizedTensor(torch.from_numpy(rng.integers(-1, 2, (3,))), 1.0)}


def test_a_registered_kind_codes_and_decodes_through_the_tensor_coding(monkeypatch):
    monkeypatch.setitem(TABLE_KINDS, 15, HalvesKind())
    tensors = _tensors()
    payload, _ = encode_tensors(tensors, None, kinds=[TABLE_KINDS[15]])
    assert payload[1 + 1 + 2] >> 4 == 15  # count, rank 2, dims 10 10, then the mode byte: kind 15
    decoded = decode_tensors(payload, 0, {name: tuple(t.symbols.shape) for name, t in tensors.items()}, None)
    for name, tensor in tensors.items():
        assert torch.equal(decoded[name].symbols, tensor.symbols) and decoded[name].step == tensor.step


def test_an_unregistered_kind_is_refused_where_its_byte_lies(monkeypatch):
    monkeypatch.setitem(TABLE_KINDS, 15, HalvesKind())
    tensors = _tensors()
    payload, _ = encode_tensors(tensors, None, kinds=[TABLE_KINDS[15]])
    monkeypatch.delitem(TABLE_KINDS, 15)
    with pytest.raises(BitstreamError, match="unknown table kind 15") as caught:
        decode_tensors(payload, 100, {name: tuple(t.symbols.shape) for name, t in tensors.items()}, None)
    mode_at = 1 + 1 + 1 + 1  # count, rank, two one-byte dims
    assert (caught.value.field, caught.value.offset) == ("table kind", 100 + mode_at)


def test_kind_zero_leaves_the_mode_byte_as_format_version_1_wrote_it():
    payload, _ = encode_tensors(_tensors(), None, kinds=[FREQUENCY])
    _, pos = read_uvarint(payload, 0)
    pos += 1 + 2  # rank, dims
    assert TENSOR.unpack(payload, pos)["mode"] == 0


def test_each_tensor_takes_the_cheapest_kind():
    """A sparse tensor with a few far outliers: kind 0 stores a count for the whole span, kind 1
    a core and two decays; the encoder's choice is never dearer than kind 0 alone."""
    rng = np.random.default_rng(1)
    sparse = np.where(rng.random(400) < 0.9, 0, rng.integers(-2, 3, 400))
    sparse[:3] = (-90, 75, 120)
    tensors = {"sparse": QuantizedTensor(torch.from_numpy(sparse.reshape(20, 20)), 0.5),
               "dense": QuantizedTensor(torch.from_numpy(rng.integers(-6, 7, (4, 4))), 1.0)}
    chosen, _ = encode_tensors(tensors, None)
    only_zero, _ = encode_tensors(tensors, None, kinds=[FREQUENCY])
    assert len(chosen) < len(only_zero) - 100
    assert chosen[1 + 1 + 2] >> 4 == TAILED.number
    decoded = decode_tensors(chosen, 0, {name: tuple(t.symbols.shape) for name, t in tensors.items()}, None)
    for name, tensor in tensors.items():
        assert torch.equal(decoded[name].symbols, tensor.symbols)
