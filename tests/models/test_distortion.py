"""The fit's distortion terms: MS-SSIM against scikit-image's SSIM, and the rescaling to MSE."""

from __future__ import annotations

import pytest
import torch
from skimage.metrics import structural_similarity

from nvc.models.distortion import DISTORTIONS, distortion, ms_ssim


def _pair(height: int, width: int, noise: float = 0.08) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(5)
    clean = torch.rand(1, 3, height, width, generator=generator, dtype=torch.float64)
    noisy = (clean + noise * torch.randn(clean.shape, generator=generator, dtype=torch.float64)).clamp(0, 1)
    return clean, noisy


def test_one_scale_ms_ssim_is_gaussian_ssim():
    # 20x21 leaves room for one scale only; float64 on both sides, so only rounding separates them
    clean, noisy = _pair(20, 21)
    expected = structural_similarity(clean[0].numpy(), noisy[0].numpy(), channel_axis=0, data_range=1.0,
                                     gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert abs(float(ms_ssim(clean, noisy)) - expected) < 1e-9


def test_ms_ssim_is_one_on_equal_frames_and_falls_with_noise():
    clean, noisy = _pair(144, 176)
    _, noisier = _pair(144, 176, noise=0.2)
    assert float(ms_ssim(clean, clean)) == pytest.approx(1.0, abs=1e-12)
    assert 1.0 > float(ms_ssim(clean, noisy)) > float(ms_ssim(clean, noisier)) > 0.0


def test_ms_ssim_refuses_frames_smaller_than_its_window():
    clean, noisy = _pair(10, 40)
    with pytest.raises(ValueError, match="at least 11x11"):
        ms_ssim(clean, noisy)


@pytest.mark.parametrize("name", sorted(DISTORTIONS))
def test_every_distortion_has_the_value_of_the_mse_and_a_descent_gradient(name):
    clean, noisy = _pair(48, 64)
    output = noisy.clone().requires_grad_()
    value = distortion(name, output, clean)
    mse = torch.mean((noisy - clean) ** 2)
    assert float(value.detach()) == pytest.approx(float(mse), rel=1e-12)
    value.backward()
    with torch.no_grad():  # a small step along the gradient lowers the distortion
        stepped = distortion(name, noisy - 1e-2 * output.grad / output.grad.norm(), clean)
    assert float(stepped) < float(value)


def test_the_mse_distortion_is_plain_mse_bit_for_bit():
    clean, noisy = _pair(16, 16)
    output = noisy.float().clone().requires_grad_()
    distortion("mse", output, clean.float()).backward()
    plain = noisy.float().clone().requires_grad_()
    torch.mean((plain - clean.float()) ** 2).backward()
    assert torch.equal(output.grad, plain.grad)
