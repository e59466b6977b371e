"""HNeRV-style frame decoder with NeRV++ separable residual blocks and a bilinear skip.

A frame is rendered from a tiny per-frame embedding ``(C_e, h0, w0)``:

    embedding -> 1x1 stem -> [conv(k) -> PixelShuffle(r) -> act -> separable residual block] x S
              -> 3x3 head -> + bilinear(skip 1x1 conv of the features entering the last stages)

The first ``S - tiled_stages`` stages are cheap (low resolution) and run on the whole frame.  The
last ``tiled_stages`` stages run either on the whole frame (fitting) or tile by tile with a halo
(decoding), so decode memory depends on the tile size, not on the frame size.  Tiles reproduce the
whole-frame result exactly: before every spatial convolution, positions outside the frame are set
to zero, which is what the whole-frame convolution's zero padding sees.

On CUDA with nvc.cuda_ext's kernels available, inference composes the fused ops instead (layer by
layer here, every tile of a batch at once in :mod:`.hnerv_fused`); :data:`HNERV` is what the model
registry knows of this architecture: its config, its sizing and its renderer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nvc import cuda_ext
from nvc.cuda_ext import ops as fused

from .rendering import render_tile_by_tile
from .tiling import tile_grid

__all__ = ["HNERV", "HNeRV", "HNeRVArchitecture", "HNeRVConfig", "Window"]

_ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "silu": nn.SiLU}
MAX_CHANNELS = 1024
MAX_STAGES = 8
MAX_STRIDE = 8
MAX_KERNEL = 7


@dataclass(frozen=True)
class HNeRVConfig:
    """Architecture of the per-group decoder network (stored in the bitstream header)."""

    embed_channels: int = 16
    stem_channels: int = 64
    strides: tuple[int, ...] = (5, 4, 2, 2, 2)
    channels: tuple[int, ...] = (64, 48, 32, 24, 16)
    kernels: tuple[int, ...] = (1, 3, 3, 3, 3)
    block_kernel: int = 3
    tiled_stages: int = 2
    activation: str = "gelu"

    def __post_init__(self) -> None:
        stages = len(self.strides)
        if not 1 <= stages <= MAX_STAGES:
            raise ValueError(f"strides: between 1 and {MAX_STAGES} stages required, got {stages}")
        if len(self.channels) != stages or len(self.kernels) != stages:
            raise ValueError("strides, channels and kernels must have one entry per stage")
        if not all(1 <= s <= MAX_STRIDE for s in self.strides):
            raise ValueError(f"strides must lie in 1..{MAX_STRIDE}")
        widths = (self.embed_channels, self.stem_channels, *self.channels)
        if not all(1 <= c <= MAX_CHANNELS for c in widths):
            raise ValueError(f"channel counts must lie in 1..{MAX_CHANNELS}")
        for k in (*self.kernels, self.block_kernel):
            if not (1 <= k <= MAX_KERNEL and k % 2 == 1):
                raise ValueError(f"kernels must be odd and at most {MAX_KERNEL}, got {k}")
        if not 1 <= self.tiled_stages <= stages:
            raise ValueError(f"tiled_stages must lie in 1..{stages}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}")

    @property
    def total_stride(self) -> int:
        return math.prod(self.strides)

    def summary(self) -> str:
        """One line for ``nvc info``: stages, strides and channels."""
        stages = len(self.strides)
        return (f"{stages} stage{'' if stages == 1 else 's'}, strides {'/'.join(map(str, self.strides))}, "
                f"channels {'/'.join(map(str, self.channels))}")

    def geometry_problem(self, height: int, width: int) -> str | None:
        """Why this network cannot sensibly render frames of this size (nothing allocated), or None.

        The untiled stages run on the whole padded frame, ``ceil(side / total stride) * total stride``
        per side, so a total stride far above the frame size (a tiny frame with strides 8^8) would
        make the decoder allocate terabytes for an 8x8 video.
        """
        longer = max(width, height, 16)
        if self.total_stride > longer:
            return (f"total stride {self.total_stride} exceeds the frame's longer side ({longer}): "
                    "the frame would be mostly padding")
        return None

    @property
    def tiled_stride(self) -> int:
        """Upsampling factor between the tile boundary features and the output frame."""
        return math.prod(self.strides[-self.tiled_stages :])

    def embed_grid(self, height: int, width: int) -> tuple[int, int]:
        """Embedding size for a frame: the frame is padded up to a multiple of the total stride."""
        s = self.total_stride
        return -(-height // s), -(-width // s)

    def halo(self) -> int:
        """Boundary-resolution pixels of context a tile needs on each side (convs, blocks, head)."""
        total, scale = 0.0, 1
        for kernel, stride in zip(self.kernels[-self.tiled_stages :], self.strides[-self.tiled_stages :]):
            total += (kernel // 2 + (self.block_kernel // 2) / stride) / scale
            scale *= stride
        return math.ceil(total + 1 / scale)  # + the 3x3 head

    def largest_feature_map(self, height: int, width: int, tile: int) -> int:
        """Values in the largest tensor :meth:`HNeRV.render_tiled` makes for one frame (nothing allocated).

        The decoder bounds this before building a network, so a hostile header cannot make it
        allocate far more than any encoder-made file needs.
        """
        widths = (self.stem_channels, *self.channels)
        split = len(self.strides) - self.tiled_stages

        def through_stages(stages: range, rows: int, cols: int) -> tuple[int, int, int]:
            """Largest conv output (before PixelShuffle) of these stages on a rows x cols input."""
            largest = 0
            for i in stages:
                s = self.strides[i]
                largest = max(largest, widths[i + 1] * s * s * rows * cols)
                rows, cols = rows * s, cols * s
            return largest, rows, cols

        rows, cols = self.embed_grid(height, width)
        stem = max(self.embed_channels, self.stem_channels) * rows * cols
        untiled, rows, cols = through_stages(range(split), rows, cols)  # the whole padded frame
        halo = self.halo()
        boundary = widths[split] * (rows + 2 * halo) * (cols + 2 * halo)  # the padded boundary map
        r = self.tiled_stride
        step = max(1, tile // r)
        rows, cols = min(step, -(-height // r)) + 2 * halo, min(step, -(-width // r)) + 2 * halo  # one tile
        tiled, rows, cols = through_stages(range(split, len(self.strides)), rows, cols)
        return max(stem, untiled, boundary, tiled, 3 * rows * cols)

    def render_macs(self, height: int, width: int, tile: int) -> int:
        """Multiply-accumulates :meth:`HNeRV.render_tiled` spends on one frame (nothing built).

        Counts the convolutions: stem, the untiled stages and the skip on the whole padded frame,
        then the tiled stages and the head on every tile with its halo (elementwise work and the
        bilinear skip are a few operations per pixel, left out).  The decoder bounds it before
        building a network, so a small file cannot make a frame cost far more than any
        encoder-made file's frames do.
        """
        widths = (self.stem_channels, *self.channels)
        split = len(self.strides) - self.tiled_stages

        def stages(indices: range, area: int) -> tuple[int, int]:
            """MACs of these stages (conv, then the block on the upsampled map) on an input of ``area``
            positions, and the area they output."""
            macs = 0
            for i in indices:
                s, c_out = self.strides[i], widths[i + 1]
                conv = widths[i] * c_out * s * s * self.kernels[i] ** 2
                block = s * s * c_out * (self.block_kernel**2 + c_out)
                macs, area = macs + area * (conv + block), area * s * s
            return macs, area

        rows, cols = self.embed_grid(height, width)
        untiled, area = stages(range(split), rows * cols)
        macs = rows * cols * self.embed_channels * self.stem_channels + untiled + area * widths[split] * 3
        r, halo = self.tiled_stride, self.halo()
        step = max(1, tile // r)
        rows, cols = -(-height // r), -(-width // r)  # visible boundary positions; tiles add a halo each
        tiled, area = stages(range(split, len(self.strides)),
                             (rows + 2 * halo * -(-rows // step)) * (cols + 2 * halo * -(-cols // step)))
        return macs + tiled + area * self.channels[-1] * 3 * 9  # + the 3x3 head

    def parameter_shapes(self, height: int, width: int, num_frames: int) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every parameter of :class:`HNeRV`, in its order, without building it.

        The decoder checks a file's tensors against these before allocating anything.
        """
        h0, w0 = self.embed_grid(height, width)
        shapes: dict[str, tuple[int, ...]] = {"embeddings": (num_frames, self.embed_channels, h0, w0)}
        shapes.update(_conv("stem", self.embed_channels, self.stem_channels, 1))
        widths = (self.stem_channels, *self.channels)
        for i, (s, k) in enumerate(zip(self.strides, self.kernels)):
            c_in, c_out = widths[i], widths[i + 1]
            shapes.update(_conv(f"stages.{i}.conv", c_in, c_out * s * s, k))
            shapes.update(_conv(f"stages.{i}.block.depthwise", 1, c_out, self.block_kernel))
            shapes.update(_conv(f"stages.{i}.block.pointwise", c_out, c_out, 1))
        shapes.update(_conv("skip", widths[len(self.strides) - self.tiled_stages], 3, 1))
        shapes.update(_conv("head", self.channels[-1], 3, 3))
        return shapes


def _conv(name: str, c_in: int, c_out: int, kernel: int) -> dict[str, tuple[int, ...]]:
    return {f"{name}.weight": (c_out, c_in, kernel, kernel), f"{name}.bias": (c_out,)}


@dataclass(frozen=True)
class Window:
    """Where a crop sits in the full (padded) feature map of its resolution."""

    top: int
    left: int
    height: int
    width: int

    def scaled(self, r: int) -> Window:
        return Window(self.top * r, self.left * r, self.height * r, self.width * r)


def _fused_inference(x: torch.Tensor) -> bool:
    """Inference on CUDA with the extension available: convolutions without bias + fused kernels."""
    return x.device.type == "cuda" and not torch.is_grad_enabled() and fused.active(x)


def conv_pixel_shuffle(conv: nn.Conv2d, r: int, x: torch.Tensor) -> torch.Tensor:
    """``PixelShuffle(r)(conv(x))``, channels-last, with the same values bit for bit, 3-4x faster.

    PixelShuffle takes output channel c's sub-pixel (i, j) from input channel ``c*r*r + i*r + j``:
    in channels-last memory that scatters runs of r values, and its backward (pixel_unshuffle)
    took 8-16 ms a stage of a 640x272 fitting step (8 % of the step, torch.profiler).  Here the
    convolution computes its output channels in (i, j, c) order instead (its weight and bias
    reordered, a small copy), so each sub-pixel is a contiguous run of c values and the shuffle is
    one block copy forward and backward.  Every output channel is the same dot product as before.
    """
    n, _, h, w = x.shape
    c = conv.out_channels // (r * r)
    weight = conv.weight.unflatten(0, (c, r * r)).transpose(0, 1).flatten(0, 1)
    bias = None if conv.bias is None else conv.bias.view(c, r * r).t().flatten()
    y = F.conv2d(x, weight, bias, conv.stride, conv.padding)
    nhwc = y.permute(0, 2, 3, 1).reshape(n, h, w, r, r, c).transpose(2, 3).reshape(n, h * r, w * r, c)
    return nhwc.permute(0, 3, 1, 2)


def activate(act: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``act(x)``; on a channels-last bfloat16 map, computed on its memory viewed as dense NHWC.

    PyTorch's CPU GELU takes a slow strided path on channels-last bfloat16 maps (6.3 against 3.4 ms
    on a 2x64x160x320 map, design-notes.md).  The dense view rounds differently from that path, so
    float32 (the decoder's precision, equally fast either way) keeps the plain call.
    """
    if x.dtype == torch.bfloat16 and x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return act(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    return act(x)


def zero_outside(x: torch.Tensor, window: Window | None) -> torch.Tensor:
    """Zero, in place, the positions of a crop that lie outside the frame (what conv zero padding sees).

    In place is safe where tiles use it (inference only): every convolution reads its input
    through this function, so values a block leaves outside the frame are never read, and the
    first stage's input lies in a zero-padded map whose outside positions are zero already.
    It saves a copy of every tile's feature maps (13% of a CPU decode of bikes, py-spy).
    """
    if window is None:
        return x
    h, w = x.shape[-2:]
    r0 = min(max(0, -window.top), h)
    r1 = max(r0, min(h, window.height - window.top))
    c0 = min(max(0, -window.left), w)
    c1 = max(c0, min(w, window.width - window.left))
    if (r0, r1, c0, c1) != (0, h, 0, w):
        x[..., :r0, :].zero_()
        x[..., r1:, :].zero_()
        x[..., :c0].zero_()
        x[..., c1:].zero_()
    return x


class SeparableResidual(nn.Module):
    """NeRV++ residual block: x + pointwise(act(depthwise_k(x)))."""

    def __init__(self, channels: int, kernel: int, activation: type[nn.Module]) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels, kernel, padding=kernel // 2, groups=channels)
        self.pointwise = nn.Conv2d(channels, channels, 1)
        self.act = activation()

    def forward(self, x: torch.Tensor, window: Window | None = None) -> torch.Tensor:
        if _fused_inference(x):
            d = fused.depthwise_bias_act(zero_outside(x, window), self.depthwise.weight, self.depthwise.bias,
                                         fused.activation_name(self.act))
            return fused.bias_residual(F.conv2d(d, self.pointwise.weight, None), self.pointwise.bias, x)
        return x + self.pointwise(activate(self.act, self.depthwise(zero_outside(x, window))))


class UpStage(nn.Module):
    """conv(k) -> PixelShuffle(r) -> act -> separable residual block."""

    def __init__(self, c_in: int, c_out: int, stride: int, kernel: int, block_kernel: int,
                 activation: type[nn.Module]) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(c_in, c_out * stride * stride, kernel, padding=kernel // 2)
        self.act = activation()
        self.block = SeparableResidual(c_out, block_kernel, activation)

    def forward(self, x: torch.Tensor, window: Window | None = None) -> torch.Tensor:
        x = zero_outside(x, window)
        if _fused_inference(x):
            conv = self.conv
            x = fused.shuffle_bias_act(F.conv2d(x, conv.weight, None, conv.stride, conv.padding), conv.bias,
                                       self.stride, fused.activation_name(self.act))
        else:
            x = activate(self.act, conv_pixel_shuffle(self.conv, self.stride, x))
        return self.block(x, None if window is None else window.scaled(self.stride))


class HNeRV(nn.Module):
    """The decoder network of one group.

    Args:
        config: architecture.
        height, width: frame size; the network renders the padded frame and crops.
        num_frames: number of per-frame embeddings this group holds.
    """

    def __init__(self, config: HNeRVConfig, height: int, width: int, num_frames: int) -> None:
        super().__init__()
        self.config = config
        self.height, self.width = height, width
        act = _ACTIVATIONS[config.activation]
        h0, w0 = config.embed_grid(height, width)
        self.embeddings = nn.Parameter(torch.randn(num_frames, config.embed_channels, h0, w0) * 0.5)
        self.stem = nn.Conv2d(config.embed_channels, config.stem_channels, 1)
        widths = (config.stem_channels, *config.channels)
        self.stages = nn.ModuleList(
            UpStage(widths[i], widths[i + 1], s, k, config.block_kernel, act)
            for i, (s, k) in enumerate(zip(config.strides, config.kernels))
        )
        boundary_width = widths[len(config.strides) - config.tiled_stages]
        self.skip = nn.Conv2d(boundary_width, 3, 1)
        self.head = nn.Conv2d(config.channels[-1], 3, 3, padding=1)
        self.tile_plans: dict[tuple[object, ...], object] = {}
        """The fused path's index tensors per layout (:mod:`.hnerv_fused`), built once."""

    @property
    def num_frames(self) -> int:
        return self.embeddings.shape[0]

    @property
    def time_indexed_parameters(self) -> tuple[str, ...]:
        """Parameters whose first axis is time within the group: the per-frame embeddings."""
        return ("embeddings",)

    @property
    def untiled_stages(self) -> list[UpStage]:
        """The low-resolution stages, run on whole frames."""
        return cast(list[UpStage], list(self.stages))[: len(self.stages) - self.config.tiled_stages]

    @property
    def tiled_stages(self) -> list[UpStage]:
        """The high-resolution stages, run tile by tile when decoding."""
        return cast(list[UpStage], list(self.stages))[len(self.stages) - self.config.tiled_stages :]

    def boundary_features(self, frame_indices: torch.Tensor) -> torch.Tensor:
        """Run the untiled low-resolution stages on whole frames."""
        x = self.stem(self.embeddings[frame_indices])
        for i, stage in enumerate(self.untiled_stages):
            x = self.after_untiled_stage(i, stage(x), frame_indices)
        return x

    def after_untiled_stage(self, stage: int, x: torch.Tensor, frame_indices: torch.Tensor) -> torch.Tensor:
        """What follows untiled stage ``stage``: nothing here; a subclass adds its encodings."""
        return x

    def tiled_part(self, x: torch.Tensor, window: Window | None) -> torch.Tensor:
        """Run the high-resolution stages and the head on a (cropped) boundary feature map."""
        for stage in self.tiled_stages:
            x = stage(x, window)
            window = None if window is None else window.scaled(stage.stride)
        return self.head(zero_outside(x, window))

    def forward(self, frame_indices: torch.Tensor) -> torch.Tensor:
        """Whole-frame render of the given frames of this group, cropped to the frame size."""
        feats = self.boundary_features(frame_indices)
        r = self.config.tiled_stride
        skip = F.interpolate(self.skip(feats), scale_factor=r, mode="bilinear", align_corners=False)
        out = self.tiled_part(feats, None) + skip + 0.5
        return out[..., : self.height, : self.width]

    @torch.inference_mode()
    def render_tiled(self, frame_index: int, tile: int) -> torch.Tensor:
        """Render one frame tile by tile; returns (3, H, W) float32 in [0, 1] before rounding.

        The network may be float16 / bfloat16 (a half-precision render); the final sum is float32.
        """
        feats = self.boundary_features(torch.tensor([frame_index], device=self.embeddings.device))
        skip_lr = self.skip(feats)
        hb, wb = feats.shape[-2:]
        halo, r = self.config.halo(), self.config.tiled_stride
        padded = F.pad(feats, (halo, halo, halo, halo))
        out = torch.empty(3, self.height, self.width, dtype=torch.float32, device=feats.device)
        for t in tile_grid(-(-self.height // r), -(-self.width // r), tile // r):
            crop = padded[..., t.top : t.top + t.rows + 2 * halo, t.left : t.left + t.cols + 2 * halo]
            window = Window(t.top - halo, t.left - halo, hb, wb)
            body = self.tiled_part(crop, window)[..., halo * r : (halo + t.rows) * r, halo * r : (halo + t.cols) * r]
            skip = fused.bilinear_crop(skip_lr, t.top, t.left, t.rows, t.cols, r)
            y0, x0 = t.top * r, t.left * r
            y1, x1 = min(y0 + t.rows * r, self.height), min(x0 + t.cols * r, self.width)
            out[:, y0:y1, x0:x1] = (body.float() + skip.float() + 0.5)[0, :, : y1 - y0, : x1 - x0]
        return out

    def render_frames(self, frame_indices: Iterable[int], tile: int, batch: int | None = None) -> Iterator[np.ndarray]:
        """Frames as (H, W, 3) uint8: all tiles of ``batch`` frames at once through the fused kernels
        where they serve (CUDA, extension built), else tile by tile."""
        if fused.active(self.embeddings):
            from .hnerv_fused import render_uint8

            yield from render_uint8(self, frame_indices, tile, batch)
        else:
            yield from render_tile_by_tile(self, frame_indices, tile)


class HNeRVArchitecture:
    """HNeRV as the model registry sees it: config type, sizing for a video, network, render path."""

    name = "hnerv"
    config_type = HNeRVConfig

    def size(self, height: int, width: int, width_scale: float) -> HNeRVConfig:
        """Network for a frame size: strides from the size, channels scaled by ``width_scale``.

        The total stride is the largest of the ladder that keeps the embedding grid at least about
        1.6 positions on the short side, so small frames are not mostly padding.
        """
        short = min(height, width)
        strides = next((s for s in _STRIDE_LADDER if math.prod(s) * 1.6 <= short), _STRIDE_LADDER[-1])
        channels = tuple(max(8, int(round(c * width_scale / 4)) * 4) for c in _BASE_CHANNELS[-len(strides):])
        kernels = (1,) + (3,) * (len(strides) - 1)
        return HNeRVConfig(stem_channels=channels[0], channels=channels, strides=strides, kernels=kernels,
                           tiled_stages=min(2, len(strides)))

    def build(self, config: HNeRVConfig, height: int, width: int, num_frames: int) -> HNeRV:
        return HNeRV(config, height, width, num_frames)

    def render_path(self, device: torch.device) -> str:
        return cuda_ext.describe() if device.type == "cuda" else "PyTorch on the CPU"


_BASE_CHANNELS = (64, 48, 32, 24, 16)
_STRIDE_LADDER = ((5, 4, 2, 2, 2), (4, 4, 2, 2, 2), (4, 2, 2, 2, 2), (4, 2, 2, 2), (2, 2, 2, 2), (2, 2, 2), (2, 2))

HNERV = HNeRVArchitecture()
