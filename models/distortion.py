"""The distortion a fit minimises: MSE, or the NeRV-family papers' perceptual mixes.

HiNeRV trains on ``0.7 L1 + 0.3 (1 - MS-SSIM)`` and Boosting-NeRV adds an L1 of the frame's
Fourier transform.  nvc's rate weight λ is calibrated against MSE (it sets the bytes per
quality step), so every other term enters rescaled to the batch's MSE: ``term * mse / term``
with the ratio held constant in the gradient.  The loss then has MSE's value at every step and
λ keeps its meaning, while the gradient points where the mix says.  Evaluations, the best-state
choice and every reported figure stay PSNR.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["DISTORTIONS", "distortion", "ms_ssim"]

_MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""Wang, Simoncelli and Bovik (2003): the weight of each scale, finest first."""
_WINDOW = 11
_SIGMA = 1.5
_C1 = 0.01**2
_C2 = 0.03**2


def ms_ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean multi-scale SSIM of (N, C, H, W) images in [0, 1], differentiable.

    The standard five scales where the frame allows; a frame too small for the 11-tap window at the
    coarsest scale (176x144 reaches 9 rows at the fifth) uses the scales that fit, their weights
    renormalised to sum to one.
    """
    scales = 1
    while scales < len(_MS_SSIM_WEIGHTS) and min(x.shape[-2:]) >> scales >= _WINDOW:
        scales += 1
    if min(x.shape[-2:]) < _WINDOW:
        raise ValueError(f"MS-SSIM needs frames of at least {_WINDOW}x{_WINDOW}, got {tuple(x.shape[-2:])}")
    weights = torch.tensor(_MS_SSIM_WEIGHTS[:scales], dtype=x.dtype, device=x.device)
    weights = weights / weights.sum()
    taps = _gaussian_taps(x.dtype, x.device)
    factors = []
    for scale in range(scales):
        ssim, contrast_structure = _ssim_parts(x, y, taps)
        factors.append(ssim if scale == scales - 1 else contrast_structure)
        if scale < scales - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    per_scale = torch.stack([torch.relu(f).flatten(1).mean(1) for f in factors], dim=1)  # (N, scales)
    return torch.prod(per_scale**weights, dim=1).mean()


def _gaussian_taps(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    offsets = torch.arange(_WINDOW, dtype=dtype, device=device) - (_WINDOW - 1) / 2
    taps = torch.exp(-(offsets**2) / (2 * _SIGMA**2))
    return taps / taps.sum()


def _ssim_parts(x: torch.Tensor, y: torch.Tensor, taps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """SSIM and its contrast-structure factor maps over the valid (unpadded) window positions."""
    mu_x, mu_y = _blur(x, taps), _blur(y, taps)
    var_x = _blur(x * x, taps) - mu_x**2
    var_y = _blur(y * y, taps) - mu_y**2
    cov = _blur(x * y, taps) - mu_x * mu_y
    contrast_structure = (2 * cov + _C2) / (var_x + var_y + _C2)
    luminance = (2 * mu_x * mu_y + _C1) / (mu_x**2 + mu_y**2 + _C1)
    return luminance * contrast_structure, contrast_structure


def _blur(images: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter of every channel, valid positions only."""
    channels = images.shape[1]
    rows = taps.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    cols = taps.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    return F.conv2d(F.conv2d(images, rows, groups=channels), cols, groups=channels)


def _mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.mean((x - y) ** 2)


def _l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.mean(torch.abs(x - y))


def _ms_ssim_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 1 - ms_ssim(x, y)


def _frequency_l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L1 of the difference of the frames' 2-D Fourier transforms (orthonormal: Parseval holds)."""
    difference = torch.fft.rfft2(x - y, norm="ortho")
    return torch.mean(torch.abs(torch.view_as_real(difference)))


_Term = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
DISTORTIONS: dict[str, tuple[tuple[float, _Term], ...]] = {
    "mse": (),
    "l1-msssim": ((0.7, _l1), (0.3, _ms_ssim_loss)),
    "mse-fft": ((0.5, _mse), (0.5, _frequency_l1)),
}
"""Each name's weighted terms, each rescaled to the MSE (module docstring); "mse" is MSE alone."""


def distortion(name: str, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The ``name`` distortion of ``output`` against ``target``, with the value of their MSE."""
    mse = _mse(output, target)
    terms = DISTORTIONS[name]
    if not terms:
        return mse
    matched = mse.detach()
    total = output.new_zeros(())
    for weight, term in terms:
        value = term(output, target)
        total = total + weight * value * (matched / value.detach().clamp_min(torch.finfo(value.dtype).tiny))
    return total
