"""The fused decoder operations: one call each, served by the CUDA extension or by PyTorch.

Every op takes ordinary tensors.  On a CUDA tensor, with the extension available and no gradient
wanted, the fused kernel runs; anywhere else (the CPU, autograd, an unsupported dtype, a tensor of
2^31 elements or more, the extension disabled or unbuildable) the PyTorch composition below gives
the same result: within 1e-5 absolute in float32, within a few units in the last place of the
storage type for float16 / bfloat16 (both paths round the same intermediates; uint8 outputs agree
except where a value sits on a rounding boundary, then by one level).

Layouts: 4-D inputs may be NCHW, channels-last or any strided view; outputs keep the input's
suggested memory format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import build

__all__ = ["ACTIVATIONS", "FrameMask", "Placements", "activation_name", "active", "apply_activation",
           "bias_residual", "bilinear_crop", "compose_frames", "depthwise_bias_act", "shuffle_bias_act",
           "to_uint8_frame"]

ACTIVATIONS = {"none": 0, "gelu": 1, "relu": 2, "silu": 3}
_FUSED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_MAX_ELEMENTS = 2**31 - 1


def activation_name(module: nn.Module) -> str:
    """The op name of an activation module (GELU must be the exact erf form)."""
    if isinstance(module, nn.GELU) and module.approximate == "none":
        return "gelu"
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.SiLU):
        return "silu"
    if isinstance(module, nn.Identity):
        return "none"
    raise ValueError(f"no fused form of activation {module!r}")


def apply_activation(x: torch.Tensor, name: str) -> torch.Tensor:
    if name == "gelu":
        return F.gelu(x)
    if name == "relu":
        return F.relu(x)
    if name == "silu":
        return F.silu(x)
    if name == "none":
        return x
    raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")


@dataclass(frozen=True)
class FrameMask:
    """Which positions of a batch of tiles lie inside the frame (the rest is zeroed).

    ``origins`` (N, 2) int32 holds each sample's (top, left) in frame coordinates at the tensor's
    resolution; the frame spans rows 0..height-1 and columns 0..width-1.  Zeroing outside the
    frame before every spatial convolution is what makes a tile equal the whole-frame render.
    """

    origins: torch.Tensor
    height: int
    width: int

    def scaled(self, r: int) -> FrameMask:
        return FrameMask(self.origins * r, self.height * r, self.width * r)

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """PyTorch form: zero the positions of ``x`` (N, C, h, w) outside the frame."""
        h, w = x.shape[-2:]
        o = self.origins.to(device=x.device, dtype=torch.long)
        rows = o[:, :1] + torch.arange(h, device=x.device)
        cols = o[:, 1:] + torch.arange(w, device=x.device)
        keep = ((rows >= 0) & (rows < self.height))[:, :, None] & ((cols >= 0) & (cols < self.width))[:, None, :]
        return torch.where(keep[:, None], x, torch.zeros((), dtype=x.dtype, device=x.device))


class Placements:
    """Where each sample of a batch of rendered tiles lands in a stack of frames.

    One row per sample: ``(frame, oy, ox, y0, x0, y1, x1)``: the sample's pixel (0, 0) is frame
    pixel (oy, ox), and its core rectangle rows y0..y1-1, columns x0..x1-1 (frame coordinates,
    already clipped to the frame) is written.
    """

    def __init__(self, rows: Sequence[tuple[int, int, int, int, int, int, int]]) -> None:
        self.rows = tuple(tuple(int(v) for v in row) for row in rows)
        if any(len(row) != 7 for row in self.rows):
            raise ValueError("placements: 7 values per sample")
        self.core_h = max((y1 - y0 for _, _, _, y0, _, y1, _ in self.rows), default=0)
        self.core_w = max((x1 - x0 for _, _, _, _, x0, _, x1 in self.rows), default=0)
        self._tensors: dict[torch.device, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def tensor(self, device: torch.device) -> torch.Tensor:
        if device not in self._tensors:
            self._tensors[device] = torch.tensor(self.rows, dtype=torch.int32).reshape(-1, 7).to(device)
        return self._tensors[device]


def active(t: torch.Tensor) -> bool:
    """True when ops on tensors like ``t`` run the fused kernels (may build the extension once)."""
    return t.device.type == "cuda" and build.extension() is not None


def _ext(*tensors: torch.Tensor | None, out_numel: int = 0):
    """The extension if it should serve an op on these tensors, else None."""
    x = tensors[0]
    if x is None or x.device.type != "cuda" or x.dtype not in _FUSED_DTYPES:
        return None
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        return None  # the fallback is differentiable; the kernels are forward-only
    if max(x.numel(), out_numel) > _MAX_ELEMENTS:
        return None
    return build.extension()


def _bias4(bias: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return bias.to(dtype=x.dtype).reshape(1, -1, 1, 1)


def _mask_args(mask: FrameMask | None):
    return (None, 0, 0) if mask is None else (mask.origins, mask.height, mask.width)


def shuffle_bias_act(x: torch.Tensor, bias: torch.Tensor | None, r: int, activation: str = "gelu",
                     mask: FrameMask | None = None) -> torch.Tensor:
    """act(PixelShuffle(r)(x + bias)), zeroed outside ``mask``'s frame.

    ``x`` (N, C*r*r, H, W) is an upsampling convolution's output computed without its bias, so
    ``shuffle_bias_act(conv2d(x, w, None), b, r)`` equals ``act(PixelShuffle(r)(conv2d(x, w, b)))``.
    """
    code = ACTIVATIONS[activation]
    ext = _ext(x, bias)
    if ext is not None:
        return ext.shuffle_bias_act(x, bias, int(r), code, *_mask_args(mask))
    y = x if bias is None else x + _bias4(bias, x)
    y = apply_activation(F.pixel_shuffle(y, r), activation)
    return y if mask is None else mask.apply(y)


def depthwise_bias_act(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                       activation: str = "gelu") -> torch.Tensor:
    """act(depthwise k x k convolution of x (stride 1, zero padding k // 2) + bias); weight (C, 1, k, k)."""
    code = ACTIVATIONS[activation]
    k = weight.shape[-1]
    ext = _ext(x, weight, bias)
    if ext is not None and k % 2 == 1 and k <= 7:
        return ext.depthwise_bias_act(x, weight, bias, code)
    return apply_activation(F.conv2d(x, weight, bias, padding=k // 2, groups=x.shape[1]), activation)


def bias_residual(p: torch.Tensor, bias: torch.Tensor | None, residual: torch.Tensor,
                  mask: FrameMask | None = None) -> torch.Tensor:
    """residual + (p + bias), zeroed outside ``mask``'s frame: a residual block's output, with its
    last 1x1 convolution ``p`` computed without bias."""
    ext = _ext(p, bias, residual)
    if ext is not None and residual.device == p.device and residual.dtype == p.dtype:
        return ext.bias_residual(p, bias, residual, *_mask_args(mask))
    y = residual + (p if bias is None else p + _bias4(bias, p))
    return y if mask is None else mask.apply(y)


def to_uint8_frame(body: torch.Tensor, skip: torch.Tensor | None = None, bias: torch.Tensor | None = None,
                   offset: float = 0.5, out: torch.Tensor | None = None) -> torch.Tensor:
    """The output frame: round(clamp(body + bias + skip + offset, 0, 1) * 255) as (h, w, 3) uint8.

    ``body`` (and ``skip``) are (3, h, w) or (1, 3, h, w) in any float dtype; the sum is formed in
    float32 (a half-precision sum would move values across rounding boundaries).  ``out`` may be a
    (h, w, 3) view into a larger frame.  With ``offset=0`` and no skip it is ``render.to_uint8``.
    """
    if body.dim() == 4:
        body = body[0]
        skip = None if skip is None else skip[0]
    ext = _ext(body, skip, bias)
    if ext is not None and (skip is None or (skip.dtype == body.dtype and skip.device == body.device)):
        return ext.to_uint8_frame(body, skip, bias, float(offset), out)
    v = body.float()
    if bias is not None:
        v = (body + bias.to(body.dtype).reshape(3, 1, 1)).float()
    if skip is not None:
        v = v + skip.float()
    frame = ((v + offset).clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0)
    if out is None:
        return frame.contiguous()
    out.copy_(frame)
    return out


def compose_frames(head: torch.Tensor, bias: torch.Tensor | None, skip: torch.Tensor, r: int,
                   placements: Placements, out: torch.Tensor) -> torch.Tensor:
    """Write a batch of rendered tiles into uint8 frames: head + bias + bilinear_r(skip) + 0.5.

    head (B, 3, th, tw): the 3x3 head convolution of each tile, without its bias; skip (F, 3, h, w):
    the low-resolution skip branch of each frame, upsampled here exactly like
    ``F.interpolate(skip, scale_factor=r, mode="bilinear")`` on the whole frame; out (F, H, W, 3)
    contiguous uint8.  Each sample's core rectangle (``placements``) is written.
    """
    ext = _ext(head, bias, skip)
    if ext is not None and skip.dtype == head.dtype and out.is_contiguous():
        ext.compose_frames(head, bias, skip, 1.0 / r, placements.tensor(head.device), placements.core_h,
                           placements.core_w, out)
        return out
    for b, (f, oy, ox, y0, x0, y1, x1) in enumerate(placements.rows):
        if y1 <= y0 or x1 <= x0:
            continue
        top, left = y0 // r, x0 // r
        rows, cols = -(-(y1 - top * r) // r), -(-(x1 - left * r) // r)
        up = bilinear_crop(skip[f : f + 1].float(), top, left, rows, cols, r)[0]
        up = up[:, y0 - top * r : y1 - top * r, x0 - left * r : x1 - left * r]
        body = head[b, :, y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        to_uint8_frame(body, up.to(torch.float32), bias, 0.5, out[f, y0:y1, x0:x1])
    return out


def bilinear_crop(low: torch.Tensor, top: int, left: int, rows: int, cols: int, r: int) -> torch.Tensor:
    """Bilinear x r upsampling of a crop, equal to the same region of the whole-map upsampling.

    ``low`` (N, C, h, w); the crop is rows ``top..top+rows-1``, columns ``left..left+cols-1``; the
    result is (N, C, rows * r, cols * r), what ``F.interpolate(low, scale_factor=r, mode="bilinear")``
    holds there.  A one-pixel ring, clamped at the map's edges like ``F.interpolate`` does, gives
    every output pixel of the crop the same two neighbours it has in the whole map.
    """
    h, w = low.shape[-2:]
    ys = torch.arange(top - 1, top + rows + 1, device=low.device).clamp(0, h - 1)
    xs = torch.arange(left - 1, left + cols + 1, device=low.device).clamp(0, w - 1)
    ring = low[..., ys[:, None], xs[None, :]]
    up = F.interpolate(ring, size=((rows + 2) * r, (cols + 2) * r), mode="bilinear", align_corners=False)
    return up[..., r : (rows + 1) * r, r : (cols + 1) * r]
