"""HNeRV-grid: the learned feature grids after the untiled stages, their time blend, tiles and bounds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import nvc
from nvc.codec.bitstream import decode_cost_problem
from nvc.codec.config import CodecConfig
from nvc.codec.rate import Tuning
from nvc.models import FitSettings, QuantizedTensor, dequantize, get_architecture
from nvc.models.fit import ZERO_START_RANGE, _FitState, _initial_step
from nvc.models.hnerv_grid import HNeRVGrid, HNeRVGridConfig

from ..conftest import TINY

GRID = get_architecture("hnerv-grid")


def _network(height: int, width: int, frames: int, **fields) -> HNeRVGrid:
    """A grid network with random grids (built ones start at zero, which would hide them)."""
    torch.manual_seed(0)
    config = dataclasses.replace(GRID.size(height, width, 1.0), **fields)
    network = GRID.build(config, height, width, frames).eval()
    with torch.no_grad():
        for grid in network.grids.values():
            grid.uniform_(-0.5, 0.5)
    return network


@pytest.mark.parametrize("height,width,tile", [(24, 40, 16), (33, 47, 8), (1, 1, 16), (144, 176, 32)])
def test_tiled_render_equals_whole_frame(height, width, tile):
    network = _network(height, width, 3)
    with torch.no_grad():
        whole = network(torch.tensor([2]))[0]
    tiled = network.render_tiled(2, tile)
    assert tiled.shape == (3, height, width)
    assert torch.allclose(whole, tiled, atol=1e-5)


@pytest.mark.parametrize("height,width", [(70, 90), (144, 176), (272, 640)])
def test_parameter_shapes_match_the_module(height, width):
    network = _network(height, width, 4, grid_times=3)
    shapes = network.config.parameter_shapes(height, width, 4)
    assert shapes == {n: tuple(p.shape) for n, p in network.named_parameters()}
    assert any(name.startswith("grids.") for name in shapes)


def test_frames_blend_the_two_time_slots_around_them():
    """Frame t of N sits at t (T-1) / (N-1) between the slots: the ends take a slot exactly."""
    untiled = len(GRID.size(24, 40, 1.0).grid_divisors)
    network = _network(24, 40, 5, grid_times=3, grid_divisors=(0,) * (untiled - 1) + (1,))
    grid = network.grids[str(untiled - 1)]
    with torch.no_grad():
        at = network.grid_at(untiled - 1, torch.tensor([0, 1, 2, 4]), grid.shape[-2:])
    assert torch.equal(at[0], grid[0]) and torch.equal(at[2], grid[1]) and torch.equal(at[3], grid[2])
    assert torch.allclose(at[1], 0.5 * grid[0] + 0.5 * grid[1], atol=1e-6)


def test_an_inter_fit_starts_every_time_slot_from_the_references_last():
    """Grid slots and embeddings are time-indexed: the previous group's last slice is the nearest in
    time (its first may lie before a scene cut); they pay intra rate, the shared tensors residual."""
    config = dataclasses.replace(GRID.size(24, 40, 1.0), grid_times=3)
    reference = {name: QuantizedTensor(torch.randint(-50, 50, shape), 0.01)
                 for name, shape in config.parameter_shapes(24, 40, 4).items()}
    network = GRID.build(config, 24, 40, 4)
    state = _FitState.start(network, FitSettings(), reference, 4)
    time_indexed = set(network.time_indexed_parameters)
    assert time_indexed == {"embeddings", *(f"grids.{stage}" for stage in network.grids)}
    for name, p in network.named_parameters():
        expected = dequantize(reference[name])
        if name in time_indexed:
            expected = expected[-1:].expand_as(p)
        assert torch.equal(p.detach(), expected), name
    assert set(state.anchors) == {name for name, _ in network.named_parameters()} - time_indexed


def test_a_grid_starts_at_zero_and_on_a_grid_for_values_up_to_the_zero_start_range():
    network = GRID.build(GRID.size(24, 40, 1.0), 24, 40, 2)
    grid = next(iter(network.grids.values()))
    assert not grid.any()
    assert _initial_step(grid, 8, None) == pytest.approx(ZERO_START_RANGE / 127)


@pytest.mark.parametrize("bad", [dict(grid_divisors=(2,)), dict(grid_divisors=(0, 0, 17)), dict(grid_times=0),
                                 dict(grid_times=17), dict(grid_divisors=(0, -1, 2))])
def test_config_rejects_bad_grids(bad):
    with pytest.raises(ValueError):
        HNeRVGridConfig(**bad)


def test_sizes_itself_within_the_decoders_cost_bounds():
    for height, width in ((1, 1), (24, 40), (144, 176), (272, 640), (1080, 1920), (4352, 8192)):
        for scale in (0.5, 1.0):
            config = CodecConfig(model=GRID.size(height, width, scale), group_size=600)
            assert decode_cost_problem(config, height, width) is None, (height, width)


def test_the_cuda_path_says_it_falls_back_to_pytorch():
    expected = "PyTorch fallback: architecture 'hnerv-grid' has no fused CUDA path"
    assert GRID.render_path(torch.device("cuda")) == expected


def test_the_summary_names_each_grid():
    config = dataclasses.replace(GRID.size(272, 640, 1.0), grid_times=3, grid_divisors=(1, 0, 2))
    assert config.summary().endswith(", 3-slot grids: stage 1 at 1/1, stage 3 at 1/2")


def test_encoded_with_grids_the_decoder_gives_what_the_encoder_scored(tiny_clip, tmp_path):
    """Key and inter groups (the inter group starts from its reference's grid), decoded exactly."""
    path = tmp_path / "grid.nvc"
    report = nvc.encode(tiny_clip, path, fps=25, tuning=Tuning(arch="hnerv-grid"), **TINY)
    with nvc.open(path) as video:
        assert video.info.config.arch == "hnerv-grid" and "grids: stage 1 at 1/2" in video.info.config.model.summary()
        frames = list(video.frames())
    mse = np.mean([(a.astype(np.float64) - b) ** 2 for a, b in zip(tiny_clip, frames, strict=True)])
    assert abs(10 * np.log10(255**2 / mse) - report.psnr) < 1e-9


def test_it_is_the_default_and_naming_it_changes_no_byte(tiny_clip, tmp_path):
    """The benchmark's grid curve was run as `--tuning arch=hnerv-grid` before the switch; the
    default must write the very same file."""
    named, default = tmp_path / "named.nvc", tmp_path / "default.nvc"
    nvc.encode(tiny_clip, named, fps=25, tuning=Tuning(arch="hnerv-grid"), **TINY)
    nvc.encode(tiny_clip, default, fps=25, **TINY)
    assert CodecConfig().arch == "hnerv-grid"
    assert named.read_bytes() == default.read_bytes()
