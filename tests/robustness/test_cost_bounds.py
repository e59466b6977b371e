"""Hostile configs whose rendering would cost far more than the frame: refused from the header alone.
"""

from __future__ import annotations

import io
import time
import tracemalloc

import numpy as np
import pytest

import nvc

from .hostile import (
    CONFIG_AT,
    decode_all,
    rejects,
)

# --- configs whose rendering would cost far more than the frame (fuzzing-style finding) ---------------


def _crafted_file(model, width: int, height: int, tile: int = 16) -> bytes:
    """A complete file for the HNeRV ``model``: every tensor zero (so nothing is rANS-coded and the file is tiny)."""
    from fractions import Fraction

    import torch

    from nvc.codec.bitstream import BitstreamWriter
    from nvc.codec.config import CodecConfig, EncoderInfo, VideoHeader
    from nvc.codec.tensor_coding import encode_tensors
    from nvc.models import QuantizedTensor

    shapes = model.parameter_shapes(height, width, 1)
    tensors = {name: QuantizedTensor(torch.zeros(shape, dtype=torch.int64), 0.5) for name, shape in shapes.items()}
    payload, _ = encode_tensors(tensors, None)
    stream = io.BytesIO()
    config = CodecConfig(model=model, group_size=1, key_interval=1, tile=tile)
    writer = BitstreamWriter(stream, VideoHeader(width, height, Fraction(25), 1), config, EncoderInfo())
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
    from nvc.codec.rate import Tuning, model_for_video
    from nvc.models import ARCHITECTURES

    for arch in ARCHITECTURES:
        for width, height in [(8192, 4352), (4352, 8192), (5970, 5970), (8192, 1), (1, 1), (17, 9), (1920, 1080),
                              (256, 256), (255, 257)]:
            for quality in range(0, 52):
                model = model_for_video(quality, height, width, Tuning(arch=arch))
                for tile in (16, 17, 32, 512, 4096):
                    config = CodecConfig(model=model, group_size=600, tile=tile)
                    assert decode_cost_problem(config, height, width) is None, (arch, width, height, quality, tile)


def test_the_encoder_refuses_a_tuned_network_the_decoder_would_refuse(tmp_path):
    """Expert tuning can widen the network past the decoder's limits: refused before fitting."""
    from nvc.codec.rate import Tuning

    tuning = Tuning(model=(("kernels", (1, 7, 7, 7, 7)),), width=4.0)
    start = time.perf_counter()
    with pytest.raises(nvc.UsageError, match="multiply-accumulates"):
        nvc.encode(np.zeros((1, 256, 256, 3), np.uint8), tmp_path / "out.nvc", tuning=tuning, preset="ultrafast")
    assert list(tmp_path.iterdir()) == [] and time.perf_counter() - start < 10
