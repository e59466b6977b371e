"""The frame-modulated HNeRV (``hnerv-film``): shapes, exact tiles, conditioning, and the codec."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nvc
from nvc.codec.rate import Tuning, model_for_video
from nvc.datasets import synthetic_clip
from nvc.models import HNeRV, get_architecture
from nvc.models.hnerv_film import HNeRVFiLM, HNeRVFiLMConfig, time_features

FILM = Tuning(arch="hnerv-film")


def _network(height: int, width: int, frames: int) -> HNeRVFiLM:
    torch.manual_seed(0)
    config = model_for_video(28, height, width, FILM)
    assert isinstance(config, HNeRVFiLMConfig)
    network = get_architecture("hnerv-film").build(config, height, width, frames)
    assert isinstance(network, HNeRVFiLM)
    return network.eval()


@pytest.mark.parametrize("config", [model_for_video(28, 70, 90, FILM), model_for_video(40, 9, 17, FILM)])
def test_parameter_shapes_match_the_module_in_order(config):
    network = get_architecture("hnerv-film").build(config, 70, 90, 3)
    assert list(config.parameter_shapes(70, 90, 3).items()) == [(n, tuple(p.shape)) for n, p in
                                                                 network.named_parameters()]


@pytest.mark.parametrize("height,width,tile", [(24, 40, 16), (33, 47, 8), (70, 90, 32)])
def test_tiled_render_equals_whole_frame(height, width, tile):
    network = _network(height, width, 3)
    with torch.no_grad():
        whole = network(torch.tensor([2]))[0]
    assert torch.allclose(whole, network.render_tiled(2, tile), atol=1e-5)


def test_zero_modulation_is_plain_hnerv_and_a_modulation_follows_time():
    network = _network(24, 40, 4)
    plain = HNeRV(network.config, 24, 40, 4).eval()
    plain.load_state_dict({k: v for k, v in network.state_dict().items() if k != "modulation"})
    frames = torch.arange(4)
    with torch.no_grad():
        network.modulation.zero_()
        assert torch.equal(network(frames), plain(frames))
        network.modulation[0, 8] = 10.0  # the first stage's first channel scaled by cos(pi t)
        change = (network(frames) - plain(frames)).abs().flatten(1).amax(dim=1)
    assert (change > 0).all()
    assert change[0] > change[1] and change[3] > change[2]  # |cos(pi t)| is largest at the ends


def test_time_features_are_the_fourier_basis():
    features = time_features(4).double()
    t = (np.arange(4) + 0.5) / 4
    angles = np.pi * t[:, None] * np.arange(1, 9)
    assert torch.allclose(features, torch.from_numpy(np.concatenate([np.sin(angles), np.cos(angles)], axis=1)),
                          atol=2**-24)


def test_the_codec_encodes_and_decodes_it(tmp_path):
    """Stored under its own name; the decoded frames are the frames the encoder scored."""
    clip = synthetic_clip(48, 32, 6)
    path = tmp_path / "film.nvc"
    report = nvc.encode(clip, path, preset="ultrafast", group_size=3, key_interval=2, seed=0, progress=False,
                        tuning=FILM)
    assert nvc.open(path).info.config.arch == "hnerv-film"
    decoded = np.stack(list(nvc.decode(path)))
    mse = np.mean((decoded.astype(np.float64) - clip) ** 2)
    assert abs(10 * np.log10(255**2 / mse) - report.psnr) < 1e-9
