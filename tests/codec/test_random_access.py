"""Random access along a reference chain: every group is entropy-decoded once, within a memory bound."""

from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
import pytest
import torch

import nvc
from nvc.codec import decoder as decoder_module
from nvc.codec.bitstream import BitstreamWriter
from nvc.codec.config import CodecConfig, EncoderInfo, VideoHeader
from nvc.codec.decoder import Decoder
from nvc.codec.rate import model_for_video
from nvc.codec.symbol_cache import symbols_nbytes
from nvc.codec.tensor_coding import encode_tensors
from nvc.models import QuantizedTensor

GROUPS = 24


@pytest.fixture(scope="module")
def chain() -> bytes:
    """An 8x8 video of GROUPS one-frame groups and a single key group: one reference chain of 24."""
    model = model_for_video(28, 8, 8)
    config = CodecConfig(model=model, group_size=1, key_interval=GROUPS, tile=16)
    stream = io.BytesIO()
    writer = BitstreamWriter(stream, VideoHeader(8, 8, Fraction(25), GROUPS), config, EncoderInfo())
    generator = torch.Generator().manual_seed(0)
    reference = None
    for g in range(GROUPS):
        tensors = {name: QuantizedTensor(torch.randint(-3, 4, shape, generator=generator), 0.05)
                   for name, shape in model.parameter_shapes(8, 8, 1).items()}
        payload, _ = encode_tensors(tensors, reference)
        writer.write_group(g, g, 1, g == 0, payload)
        reference = tensors
    writer.finish()
    return stream.getvalue()


@pytest.fixture
def decode_calls(monkeypatch) -> list[int]:
    """The payload offset of every group the decoder entropy-decodes."""
    calls: list[int] = []
    real = decoder_module.decode_tensors

    def counted(payload, offset, *args):
        calls.append(offset)
        return real(payload, offset, *args)

    monkeypatch.setattr(decoder_module, "decode_tensors", counted)
    return calls


def test_backward_access_decodes_each_group_once(chain, decode_calls):
    """video[::-1] walked the whole chain again for every frame: 24 + 23 + ... + 1 = 300 decodes."""
    with nvc.open(io.BytesIO(chain)) as video:
        forward = list(video.frames())
    assert len(decode_calls) == GROUPS
    decode_calls.clear()
    with nvc.open(io.BytesIO(chain)) as video:
        backward = video[::-1]
    assert len(decode_calls) == GROUPS and len(set(decode_calls)) == GROUPS
    assert all(np.array_equal(a, b) for a, b in zip(forward, backward[::-1]))


def test_the_cache_stays_within_its_bound(chain, decode_calls):
    """With room for 4 groups, a backward walk re-decodes the chain once per 4 frames, never more."""
    with Decoder(io.BytesIO(chain)) as probe:
        group_bytes = symbols_nbytes(probe.group_symbols(probe.bitstream.groups[0]))
    decode_calls.clear()
    with Decoder(io.BytesIO(chain), cache_bytes=4 * group_bytes) as decoder:
        for group in reversed(decoder.bitstream.groups):
            decoder.group_symbols(group)
            assert decoder._cache.nbytes <= 4 * group_bytes
    # misses at groups 23, 19, 15, 11, 7, 3, each walking back to the key group
    assert len(decode_calls) == sum(g + 1 for g in range(GROUPS - 1, -1, -4))


def test_a_cache_too_small_for_one_group_still_decodes(chain):
    with nvc.open(io.BytesIO(chain)) as video:
        want = video[5]
    with Decoder(io.BytesIO(chain), cache_bytes=0) as decoder:
        assert np.array_equal(next(decoder.frames(5, 6)), want)
        assert len(decoder._cache) == 1
