"""The architecture seam: the codec reaches a network only through the model registry's protocols,
cuda_ext holds operations only, and decoding never imports the fitting loop."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from nvc.codec.bitstream import BitstreamWriter, decode_cost_problem
from nvc.codec.config import CodecConfig, EncoderInfo, VideoHeader, config_from_json, config_to_json
from nvc.codec.decoder import Decoder
from nvc.codec.render import describe_render
from nvc.codec.tensor_coding import encode_tensors
from nvc.models import registry
from nvc.models.quantized import QuantizedTensor
from nvc.models.rendering import fallback_path, render_tile_by_tile

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StillConfig:
    """A toy architecture: every frame is a stored image (levels of 1/8)."""

    levels: int = 8

    def parameter_shapes(self, height: int, width: int, num_frames: int) -> dict[str, tuple[int, ...]]:
        return {"images": (num_frames, 3, height, width)}

    def geometry_problem(self, height: int, width: int) -> str | None:
        return None

    def largest_feature_map(self, height: int, width: int, tile: int) -> int:
        return 3 * height * width

    def render_macs(self, height: int, width: int, tile: int) -> int:
        return 0

    def summary(self) -> str:
        return "stored images"


class Still(nn.Module):
    def __init__(self, config: StillConfig, height: int, width: int, num_frames: int) -> None:
        super().__init__()
        self.height, self.width = height, width
        self.images = nn.Parameter(torch.zeros(num_frames, 3, height, width))

    def forward(self, frame_indices: torch.Tensor) -> torch.Tensor:
        return self.images[frame_indices]

    def render_tiled(self, frame_index: int, tile: int) -> torch.Tensor:
        return self.images[frame_index].detach().float()

    def render_frames(self, frame_indices: Iterable[int], tile: int, batch: int | None = None) -> Iterator[np.ndarray]:
        return render_tile_by_tile(self, frame_indices, tile)


class StillArchitecture:
    name = "still"
    config_type = StillConfig

    def size(self, height: int, width: int, width_scale: float) -> StillConfig:
        return StillConfig()

    def build(self, config: StillConfig, height: int, width: int, num_frames: int) -> Still:
        return Still(config, height, width, num_frames)

    def render_path(self, device: torch.device) -> str:
        return fallback_path(self.name)


@pytest.fixture
def still(monkeypatch) -> StillArchitecture:
    arch = StillArchitecture()
    monkeypatch.setitem(registry.ARCHITECTURES, arch.name, arch)
    return arch


def test_a_registered_architecture_goes_through_the_codec_untouched(still):
    """Registering in nvc.models is all it takes: header, cost bounds, coding, decoding, -v line."""
    config = CodecConfig(model=StillConfig(), group_size=2, key_interval=1, tile=16)
    assert config_from_json(config_to_json(config, EncoderInfo()))[0] == config
    assert decode_cost_problem(config, 6, 5) is None
    assert describe_render(config, "cuda") == "PyTorch fallback: architecture 'still' has no fused CUDA path"
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 9, size=(3, 3, 6, 5))  # levels of 1/8 are exact in float32
    header = VideoHeader(5, 6, Fraction(25), 3)
    stream = io.BytesIO()
    writer = BitstreamWriter(stream, header, config, EncoderInfo())
    for index, first in enumerate((0, 2)):
        count = min(2, 3 - first)
        symbols = {"images": QuantizedTensor(torch.from_numpy(frames[first : first + count]), 1 / 8)}
        writer.write_group(index, first, count, True, encode_tensors(symbols, None)[0])
    writer.finish()
    stream.seek(0)
    decoded = np.stack(list(Decoder(stream).frames()))
    want = np.round(np.clip(frames / 8, 0, 1) * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    assert np.array_equal(decoded, want)


def test_an_architecture_must_register_to_be_read(still):
    with pytest.raises(ValueError, match="unknown architecture 'nope'"):
        registry.get_architecture("nope")


def test_codec_names_no_architecture():
    """nvc.codec reaches architectures through the registry only (no HNeRV, no isinstance on configs)."""
    offenders = [p.name for p in (ROOT / "codec").glob("*.py") if "HNeRV" in p.read_text()]
    assert offenders == []


def test_cuda_ext_holds_operations_only():
    """No model in nvc.cuda_ext: it imports nothing of nvc.models, at import time or later."""
    offenders = [p.name for p in (ROOT / "cuda_ext").glob("*.py") if "nvc.models" in p.read_text()]
    assert offenders == []
    code = ("import sys, nvc.cuda_ext, nvc.cuda_ext.ops; "
            "print(sorted(m for m in sys.modules if m.startswith('nvc.models')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_decoding_never_imports_the_fitting_loop(tiny_encoded):
    path, _ = tiny_encoded
    code = ("import sys; from nvc.codec.decoder import Decoder; d = Decoder(sys.argv[1]); frames = list(d.frames()); "
            "print(len(frames), 'nvc.models.fit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["5", "False"]


def test_hnerv_sizes_itself_within_its_cost_bounds():
    """The registered HNeRV's sizing, at any quality width, passes the decoder's own bounds."""
    hnerv = registry.get_architecture("hnerv")
    for height, width in ((1, 1), (24, 40), (144, 176), (272, 640)):
        for scale in (0.5, 1.0):
            model = hnerv.size(height, width, scale)
            assert decode_cost_problem(CodecConfig(model=model), height, width) is None
            assert math.prod(model.parameter_shapes(height, width, 1)["embeddings"]) > 0
