"""HNeRV's fused CUDA path: every tile of one or more frames through each layer in one batch.

``HNeRV.render_tiled`` runs the high-resolution stages tile by tile (a Python loop, ~20 kernel
launches per tile).  Here all tiles of a batch of frames go through each layer together, built
from nvc.cuda_ext's model-agnostic ops:

    boundary features of F frames (whole frames, low resolution)
      -> one gather of B equal-sized crops (tiles + halo), channels-last
      -> per tiled stage: conv (cuDNN, no bias) -> shuffle_bias_act (masked)
                          -> depthwise_bias_act -> 1x1 conv (cuDNN, no bias) -> bias_residual (masked)
      -> 3x3 head (cuDNN, no bias) -> compose_frames: + bias + bilinear skip + 0.5 -> uint8 frames

Tiles come from the one tiler (:mod:`.tiling`), so every crop has one shape; positions beyond the
frame are zeroed by the masks exactly where ``zero_outside`` zeroes them, and the result equals the
whole-frame render like the tile loop does.  The same code runs on the CPU through the ops'
PyTorch fallbacks (that is how the tests check it against ``render_tiled``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from nvc.cuda_ext import ops

from .tiling import balanced_tiles

if TYPE_CHECKING:
    from .hnerv import HNeRV

__all__ = ["BATCH_PIXELS", "frames_per_batch", "render_batch", "render_uint8"]

BATCH_PIXELS = 4 * 1024 * 1024
"""Default output pixels per batch (two 1080p frames, four 720p ones): a few hundred MB in fp32."""

_PLANS_KEPT = 4


def frames_per_batch(height: int, width: int, budget: int = BATCH_PIXELS) -> int:
    return max(1, budget // max(1, height * width))


class _Plan:
    """Index tensors and placements of one (frame size, tile, frames-per-batch) layout."""

    def __init__(self, network: HNeRV, frames: int, tile: int, device: torch.device) -> None:
        cfg = network.config
        r, halo = cfg.tiled_stride, cfg.halo()
        s = math.prod(cfg.strides[: len(cfg.strides) - cfg.tiled_stages])
        h0, w0 = cfg.embed_grid(network.height, network.width)
        self.hb, self.wb = h0 * s, w0 * s  # boundary feature map of the whole (padded) frame
        rows, cols = -(-network.height // r), -(-network.width // r)  # visible boundary rows / cols
        self.size_r, tops = balanced_tiles(rows, tile // r)
        self.size_c, lefts = balanced_tiles(cols, tile // r)
        self.halo, self.r = halo, r
        th, tw = self.size_r + 2 * halo, self.size_c + 2 * halo
        # Pad so every crop, the last ones too, lies inside the padded map.
        self.pad = (halo, halo + max(0, len(lefts) * self.size_c - self.wb),
                    halo, halo + max(0, len(tops) * self.size_r - self.hb))
        tiles = [(f, t, c) for f in range(frames) for t in tops for c in lefts]
        self.count = len(tiles)
        fidx = torch.tensor([f for f, _, _ in tiles], device=device)
        self.fidx = fidx[:, None, None]
        self.ridx = (torch.tensor([t for _, t, _ in tiles], device=device)[:, None]
                     + torch.arange(th, device=device))[:, :, None]
        self.cidx = (torch.tensor([c for _, _, c in tiles], device=device)[:, None]
                     + torch.arange(tw, device=device))[:, None, :]
        origins = torch.tensor([(t - halo, c - halo) for _, t, c in tiles], dtype=torch.int32, device=device)
        self.mask = ops.FrameMask(origins.reshape(-1, 2), self.hb, self.wb)
        height, width = network.height, network.width
        self.placements = ops.Placements([
            (f, (t - halo) * r, (c - halo) * r, t * r, c * r,
             min((t + self.size_r) * r, height), min((c + self.size_c) * r, width))
            for f, t, c in tiles
        ])


def _plan(network: HNeRV, frames: int, tile: int, device: torch.device) -> _Plan:
    cache = network.tile_plans
    key = (network.height, network.width, frames, tile, device)
    if key not in cache:
        if len(cache) >= _PLANS_KEPT:
            cache.pop(next(iter(cache)))
        cache[key] = _Plan(network, frames, tile, device)
    plan = cache[key]
    assert isinstance(plan, _Plan)
    return plan


@torch.inference_mode()
def render_batch(network: HNeRV, frame_indices: Sequence[int], tile: int,
                 out: torch.Tensor | None = None) -> torch.Tensor:
    """Render frames of ``network`` as one batch: (F, H, W, 3) uint8 on its device.

    Runs in the network's dtype (cast the network to float16 / bfloat16 for a half-precision
    render); the final sum and rounding are done in float32.
    """
    device = network.embeddings.device
    frames = len(frame_indices)
    plan = _plan(network, frames, tile, device)
    if out is None:
        out = torch.empty(frames, network.height, network.width, 3, dtype=torch.uint8, device=device)
    idx = torch.as_tensor(list(frame_indices), device=device)
    feats = network.boundary_features(idx)
    skip_lr = network.skip(feats)
    padded = F.pad(feats, plan.pad)
    # (B, th, tw, C) gathered in one pass; the permuted view is channels-last (B, C, th, tw).
    x = padded[plan.fidx, :, plan.ridx, plan.cidx].permute(0, 3, 1, 2)
    mask = plan.mask
    for stage in network.tiled_stages:
        conv = stage.conv
        mask = mask.scaled(stage.stride)
        a = F.conv2d(x, conv.weight, None, conv.stride, conv.padding)
        x = ops.shuffle_bias_act(a, conv.bias, stage.stride, ops.activation_name(stage.act), mask)
        block = stage.block
        d = ops.depthwise_bias_act(x, block.depthwise.weight, block.depthwise.bias, ops.activation_name(block.act))
        p = F.conv2d(d, block.pointwise.weight, None)
        x = ops.bias_residual(p, block.pointwise.bias, x, mask)
    head = network.head
    h = F.conv2d(x, head.weight, None, head.stride, head.padding)
    return ops.compose_frames(h, head.bias, skip_lr, plan.r, plan.placements, out)


def render_uint8(network: HNeRV, frame_indices: Iterable[int], tile: int,
                 batch: int | None = None) -> Iterator[np.ndarray]:
    """Frames of ``network`` as (H, W, 3) uint8 numpy arrays, ``batch`` frames per render batch."""
    indices = list(frame_indices)
    batch = batch or frames_per_batch(network.height, network.width)
    for start in range(0, len(indices), batch):
        frames = render_batch(network, indices[start : start + batch], tile).cpu().numpy()
        yield from frames
