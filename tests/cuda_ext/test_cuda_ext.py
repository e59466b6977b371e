"""nvc.cuda_ext: the fused ops' PyTorch forms (always), the extension's build (wherever nvcc is) and
the kernels against the PyTorch forms (on a GPU only: ``needs_cuda``)."""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nvc import cuda_ext
from nvc.codec.config import CodecConfig
from nvc.codec.render import build_network, render_frames
from nvc.cuda_ext import build, ops
from nvc.models import HNeRV, HNeRVConfig, QuantizedTensor, hnerv_fused, load_symbols, tiling
from nvc.models.hnerv import Window, zero_outside
from nvc.models.rendering import to_uint8

from ..conftest import hnerv_sized

HAS_GPU = torch.cuda.is_available()
NVCC = shutil.which("nvcc") or ("/usr/local/cuda/bin/nvcc" if Path("/usr/local/cuda/bin/nvcc").exists() else None)
ACTS = {"gelu": nn.GELU, "relu": nn.ReLU, "silu": nn.SiLU}


def needs_cuda(fn):
    """The project's ``needs_cuda`` marker, skipped where no GPU is present."""
    return pytest.mark.needs_cuda(pytest.mark.skipif(not HAS_GPU, reason="needs a CUDA GPU")(fn))


@contextlib.contextmanager
def fallback():
    """Serve every op by its PyTorch form, even on a GPU with the extension loaded."""
    old = build.set_enabled(False)
    try:
        yield
    finally:
        build.set_enabled(old)


def uint8_close(a, b, *, max_diff: int = 1, fraction: float = 1e-3) -> None:
    """uint8 frames equal but for values on a rounding boundary (one level, rarely)."""
    a, b = (torch.as_tensor(np.asarray(v)).to(torch.int16) for v in (a, b))
    assert a.shape == b.shape
    diff = (a - b).abs()
    assert int(diff.max()) <= max_diff, f"max diff {int(diff.max())}"
    assert float((diff > 0).float().mean()) <= fraction, f"{float((diff > 0).float().mean()):.2e} of values differ"


ROUNDING_UNIT = 2.0**-24
"""float32's unit roundoff."""


def float32_error_levels(network: nn.Module, index: int, tile: int) -> tuple[torch.Tensor, float]:
    """The frame ``render_tiled`` should give in exact arithmetic (float64, in 8-bit levels), and a
    bound, in levels, on how far any float32 render of it may stray, whatever kernels compute it.

    A convolution summing K products computes, in float32, its exact result within about
    K u (|W| * |x| + |b|) (u = 2^-24, the standard bound for a sum of K terms).  Summed over the
    layers an output passes through, using each layer's largest such magnitude, and doubled for the
    skip, the final sums and the factor 255, this bounds the float32 error to first order.  Rounding
    errors of real kernels grow like sqrt(K) u, so the bound holds with a wide margin on any CPU.
    """
    exact_network = copy.deepcopy(network).double().cpu()
    worst: dict[nn.Module, float] = {}

    def record(module: nn.Conv2d, inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
        bias = None if module.bias is None else module.bias.abs()
        magnitude = F.conv2d(inputs[0].abs(), module.weight.abs(), bias, module.stride, module.padding,
                             module.dilation, module.groups)
        terms = module.weight[0].numel()
        worst[module] = max(worst.get(module, 0.0), terms * float(magnitude.max()))

    hooks = [m.register_forward_hook(record) for m in exact_network.modules() if isinstance(m, nn.Conv2d)]
    try:
        exact = exact_network.render_tiled(index, tile).clamp(0, 1) * 255
    finally:
        for hook in hooks:
            hook.remove()
    return exact.permute(1, 2, 0), 2 * 255 * ROUNDING_UNIT * sum(worst.values())


def rounds_like_exact(got, network: nn.Module, index: int, tile: int) -> None:
    """An 8-bit frame of ``network`` equals its exactly computed frame, rounded, except where that lies
    within the float32 error bound of a rounding boundary: there it may be one level off."""
    exact, bound = float32_error_levels(network, index, tile)
    got = torch.as_tensor(np.asarray(got)).cpu().to(torch.int16)
    diff = (got - exact.round().to(torch.int16)).abs()
    near_boundary = (exact - exact.floor() - 0.5).abs() <= bound
    assert int(diff.max()) <= 1, f"max diff {int(diff.max())}"
    off = (diff > 0) & ~near_boundary
    assert not off.any(), f"{int(off.sum())} values off by one farther than {bound:.3g} levels from a boundary"


def frame(t: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t.contiguous()


# ----------------------------------------------------------------------------- (a) PyTorch forms


@pytest.mark.parametrize("act", sorted(ACTS))
@pytest.mark.parametrize("r", [2, 3, 5])
@pytest.mark.parametrize("channels_last", [False, True])
def test_shuffle_bias_act_equals_conv_pixelshuffle_act(act, r, channels_last):
    torch.manual_seed(r)
    conv = nn.Conv2d(6, 4 * r * r, 3, padding=1)
    x = frame(torch.randn(2, 6, 7, 9), channels_last)
    conv = conv.to(memory_format=torch.channels_last) if channels_last else conv
    with torch.no_grad():
        want = ACTS[act]()(nn.PixelShuffle(r)(conv(x)))
        got = ops.shuffle_bias_act(F.conv2d(x, conv.weight, None, padding=1), conv.bias, r, act)
    assert got.shape == want.shape == (2, 4, 7 * r, 9 * r)
    assert torch.allclose(got, want, atol=1e-5, rtol=0)


def test_frame_mask_equals_zero_outside_per_sample():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 6, 8)
    windows = [Window(-2, -3, 10, 12), Window(5, 7, 10, 12), Window(0, 0, 10, 12), Window(-7, 9, 10, 12)]
    mask = ops.FrameMask(torch.tensor([(w.top, w.left) for w in windows], dtype=torch.int32), 10, 12)
    got = mask.apply(x)
    for i, w in enumerate(windows):
        assert torch.equal(got[i : i + 1], zero_outside(x[i : i + 1], w))
    scaled = mask.scaled(2).apply(torch.ones(4, 1, 12, 16))
    for i, w in enumerate(windows):
        assert torch.equal(scaled[i : i + 1], zero_outside(torch.ones(1, 1, 12, 16), w.scaled(2)))


def test_shuffle_bias_act_mask_zeroes_outside_the_frame():
    x = torch.randn(2, 8, 3, 3)
    mask = ops.FrameMask(torch.tensor([[-1, 0], [2, 3]], dtype=torch.int32), 5, 5)
    got = ops.shuffle_bias_act(x, None, 2, "none", mask)
    assert torch.equal(got, mask.apply(F.pixel_shuffle(x, 2)))


@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("act", sorted(ACTS))
def test_depthwise_bias_act_equals_depthwise_conv_act(k, act):
    torch.manual_seed(k)
    conv = nn.Conv2d(5, 5, k, padding=k // 2, groups=5)
    x = frame(torch.randn(2, 5, 6, 7), True)
    with torch.no_grad():
        assert torch.allclose(ops.depthwise_bias_act(x, conv.weight, conv.bias, act), ACTS[act]()(conv(x)), atol=1e-5)


def test_bias_residual_equals_residual_block_sum():
    torch.manual_seed(0)
    pointwise = nn.Conv2d(6, 6, 1)
    x, d = torch.randn(2, 6, 5, 5), torch.randn(2, 6, 5, 5)
    with torch.no_grad():
        assert torch.allclose(ops.bias_residual(F.conv2d(d, pointwise.weight), pointwise.bias, x), x + pointwise(d),
                              atol=1e-5)


def test_to_uint8_frame_equals_render_to_uint8():
    torch.manual_seed(0)
    body, skip = torch.randn(3, 9, 11) * 0.6, torch.randn(3, 9, 11) * 0.2
    want = torch.from_numpy(to_uint8(body + skip + 0.5))
    assert torch.equal(ops.to_uint8_frame(body, skip), want)
    assert torch.equal(ops.to_uint8_frame(body + skip + 0.5, offset=0.0), want)
    big = torch.zeros(20, 30, 3, dtype=torch.uint8)
    ops.to_uint8_frame(body[None], skip[None], out=big[4:13, 10:21])
    assert torch.equal(big[4:13, 10:21], want) and int(big.sum()) == int(want.sum())


def test_ops_are_differentiable_through_the_fallback():
    x = torch.randn(1, 8, 3, 3, requires_grad=True)
    bias = torch.randn(8, requires_grad=True)
    ops.shuffle_bias_act(x, bias, 2, "gelu").sum().backward()
    assert x.grad is not None and bias.grad is not None


def test_balanced_tiles_cover_exactly():
    for length in range(1, 60):
        for step in (1, 4, 16, 128):
            size, starts = tiling.balanced_tiles(length, step)
            assert size <= max(step, 1) and starts[0] == 0 and starts[-1] < length <= starts[-1] + size
            assert len(starts) == -(-length // step)


@pytest.mark.parametrize("height,width,tile", [(24, 40, 16), (33, 47, 8), (9, 17, 16), (1, 1, 16), (70, 90, 32)])
def test_batched_render_equals_tile_loop(height, width, tile):
    torch.manual_seed(0)
    network = HNeRV(hnerv_sized(28, height, width), height, width, 3).eval()
    got = hnerv_fused.render_batch(network, [2, 0], tile)
    assert got.shape == (2, height, width, 3) and got.dtype == torch.uint8
    for g, i in zip(got, (2, 0)):
        rounds_like_exact(g, network, i, tile)
        rounds_like_exact(to_uint8(network.render_tiled(i, tile)), network, i, tile)


def test_batched_render_equals_tile_loop_channels_last():
    torch.manual_seed(0)
    network = HNeRV(HNeRVConfig(), 272, 640, 2).eval().to(memory_format=torch.channels_last)
    got = list(hnerv_fused.render_uint8(network, [1, 0], 256, batch=2))
    for g, i in zip(got, (1, 0)):
        rounds_like_exact(g, network, i, 256)


def test_half_precision_render_on_cpu_stays_close():
    torch.manual_seed(0)
    network = HNeRV(hnerv_sized(28, 48, 64), 48, 64, 1).eval()
    want = hnerv_fused.render_batch(network, [0], 32).float()
    got = hnerv_fused.render_batch(network.to(torch.bfloat16), [0], 32).float()
    assert float((got - want).abs().mean()) < 2.0  # bf16 has 8 bits of mantissa: a couple of levels at most


def test_render_frames_accepts_a_dtype():
    config = CodecConfig()
    height, width = 24, 40
    shapes = config.model.parameter_shapes(height, width, 2)
    gen = torch.Generator().manual_seed(0)
    symbols = {n: QuantizedTensor(torch.randint(-20, 21, s, generator=gen), 0.01) for n, s in shapes.items()}
    fp32 = list(render_frames(config, height, width, symbols, 2))
    bf16 = list(render_frames(config, height, width, symbols, 2, dtype=torch.bfloat16))
    assert len(bf16) == 2 and bf16[0].shape == (height, width, 3) and bf16[0].dtype == np.uint8
    assert np.abs(fp32[0].astype(int) - bf16[0].astype(int)).mean() < 2.0


@pytest.mark.skipif(HAS_GPU, reason="describes the machine without a GPU")
def test_without_a_gpu_the_fallback_serves_and_says_so(monkeypatch):
    def no_build(*args, **kwargs):
        raise AssertionError("the extension must not be built for CPU tensors")

    monkeypatch.setattr(build, "load", no_build)
    assert not cuda_ext.available()
    assert cuda_ext.describe() == "PyTorch fallback: no GPU"
    ops.shuffle_bias_act(torch.randn(1, 4, 2, 2), None, 2, "relu")
    with fallback():
        assert cuda_ext.describe() == "PyTorch fallback: disabled by NVC_CUDA_EXT=0"


def test_a_failed_build_warns_once_and_falls_back(monkeypatch):
    def broken(*args, **kwargs):
        raise build.ExtensionBuildError("nvc.cuda_ext: cannot build the CUDA extension: nvcc exploded")

    monkeypatch.setattr(build, "_module", None)
    monkeypatch.setattr(build, "_tried", False)
    monkeypatch.setattr(build, "_error", None)
    monkeypatch.setattr(build, "_enabled", True)
    monkeypatch.setattr(build, "load", broken)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert build.extension() is None
        assert build.extension() is None
        assert not cuda_ext.available()
    assert len(caught) == 1 and "nvcc exploded" in str(caught[0].message)
    assert cuda_ext.describe() == "PyTorch fallback: nvc.cuda_ext: cannot build the CUDA extension: nvcc exploded"


def test_import_nvc_builds_and_loads_nothing():
    code = ("import sys, nvc; mods = sys.modules; "
            "print(any(m.startswith('torch.utils.cpp_extension') for m in mods), build_ext := 'nvc_cuda_ext' in mods)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"}).stdout.split()
    assert out == ["False", "False"]


def test_architecture_flags_are_explicit(monkeypatch):
    monkeypatch.setenv("NVC_CUDA_ARCH", "8.0;9.0+PTX")
    assert build._gencode_flags(build.arch_list()) == [
        "-gencode=arch=compute_80,code=sm_80",
        "-gencode=arch=compute_90,code=sm_90",
        "-gencode=arch=compute_90,code=compute_90",
    ]
    with pytest.raises(build.ExtensionBuildError):
        build._gencode_flags("sm_90")
    assert build.build_dir("9.0") != build.build_dir("8.0")


# ----------------------------------------------------------------------------- (b) the build


@pytest.mark.skipif(NVCC is None or torch.version.cuda is None, reason="needs nvcc and a CUDA build of torch")
def test_extension_compiles_and_loads(tmp_path):
    """CI compiles and loads the extension (no GPU needed; about a minute on two cores)."""
    module = cuda_ext.load(tmp_path / "build")
    for name in ("shuffle_bias_act", "depthwise_bias_act", "bias_residual", "compose_frames", "to_uint8_frame"):
        assert callable(getattr(module, name))
    assert (module.ACT_NONE, module.ACT_GELU, module.ACT_RELU, module.ACT_SILU) == tuple(
        ops.ACTIVATIONS[a] for a in ("none", "gelu", "relu", "silu"))
    assert list((tmp_path / "build").glob("*.so"))
    with pytest.raises(RuntimeError, match="CUDA tensor"):
        module.shuffle_bias_act(torch.zeros(1, 4, 2, 2), None, 2, 0, None, 0, 0)


# ----------------------------------------------------------------------------- (c) on a GPU

TOL = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


@pytest.fixture
def exact_convs():
    """cuDNN in true float32 (no TF32), so references differ from kernels only by rounding order."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def both(fn):
    """fn() by the extension and by the PyTorch form."""
    got = fn()
    with fallback():
        want = fn()
    return got, want


def assert_close(got, want, dtype):
    tol = TOL[dtype]
    assert got.dtype == want.dtype and got.shape == want.shape
    difference = float((got.float() - want.float()).abs().max())
    assert torch.allclose(got.float(), want.float(), atol=tol, rtol=tol), difference


@needs_cuda
def test_the_extension_serves_ops_on_the_gpu():
    assert cuda_ext.available(), cuda_ext.describe()
    assert cuda_ext.describe().startswith("cuda_ext: fused kernels")
    assert ops.active(torch.zeros(1, device="cuda"))


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("act", ["gelu", "relu", "silu", "none"])
@pytest.mark.parametrize("r", [2, 4, 5])
def test_gpu_shuffle_bias_act_matches(dtype, channels_last, act, r):
    torch.manual_seed(r)
    x = frame(torch.randn(3, 6 * r * r, 11, 13, device="cuda", dtype=dtype) * 2, channels_last)
    bias = torch.randn(6 * r * r, device="cuda", dtype=dtype)
    mask = ops.FrameMask(torch.tensor([[-3, 2], [0, 0], [9, -40]], dtype=torch.int32, device="cuda"), 11 * r, 13 * r)
    for m in (None, mask):
        got, want = both(lambda m=m: ops.shuffle_bias_act(x, bias, r, act, m))
        assert got.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        assert_close(got, want, dtype)
    crop = x[:, :, 2:9, 1:12]  # a strided view
    assert_close(*both(lambda: ops.shuffle_bias_act(crop, None, r, act)), dtype)


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("k", [3, 5])
def test_gpu_depthwise_bias_act_matches(exact_convs, dtype, channels_last, k):
    torch.manual_seed(k)
    x = frame(torch.randn(2, 24, 37, 29, device="cuda", dtype=dtype), channels_last)
    w = torch.randn(24, 1, k, k, device="cuda", dtype=dtype) * 0.3
    b = torch.randn(24, device="cuda", dtype=dtype)
    for act in ("gelu", "silu"):
        assert_close(*both(lambda act=act: ops.depthwise_bias_act(x, w, b, act)), dtype)


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("channels_last", [False, True])
def test_gpu_bias_residual_and_uint8_match(dtype, channels_last):
    torch.manual_seed(1)
    p = frame(torch.randn(3, 16, 20, 24, device="cuda", dtype=dtype), channels_last)
    res = frame(torch.randn(3, 16, 20, 24, device="cuda", dtype=dtype), not channels_last)
    b = torch.randn(16, device="cuda", dtype=dtype)
    mask = ops.FrameMask(torch.tensor([[-5, -5], [3, 4], [15, 20]], dtype=torch.int32, device="cuda"), 22, 26)
    for m in (None, mask):
        assert_close(*both(lambda m=m: ops.bias_residual(p, b, res, m)), dtype)
    body, skip = p[0, :3] * 0.4, res[1, :3, 2:, 1:-1] * 0.2
    got, want = both(lambda: ops.to_uint8_frame(body[:, 2:, 1:-1], skip, b[:3]))
    uint8_close(got.cpu(), want.cpu())


def random_symbols(config: CodecConfig, height: int, width: int, frames: int) -> dict[str, QuantizedTensor]:
    gen = torch.Generator().manual_seed(3)
    shapes = config.model.parameter_shapes(height, width, frames)
    return {n: QuantizedTensor(torch.randint(-30, 31, s, generator=gen), 0.004) for n, s in shapes.items()}


@needs_cuda
def test_gpu_decoder_render_matches_the_cpu(exact_convs):
    height, width = 180, 320
    config = CodecConfig(model=hnerv_sized(28, height, width), tile=64)
    symbols = random_symbols(config, height, width, 3)
    cpu = list(render_frames(config, height, width, symbols, 3))
    gpu = list(render_frames(config, height, width, symbols, 3, device="cuda", batch=2))
    assert len(gpu) == 3
    network = build_network(config, height, width, 3)
    load_symbols(network, symbols)
    for i, (a, b) in enumerate(zip(gpu, cpu)):
        rounds_like_exact(a, network, i, config.tile)
        rounds_like_exact(b, network, i, config.tile)


@needs_cuda
@pytest.mark.parametrize("height,width,tile", [(180, 320, 64), (97, 131, 32), (720, 1280, 512)])
def test_gpu_fused_render_matches_the_pytorch_tile_loop(exact_convs, height, width, tile):
    torch.manual_seed(0)
    network = HNeRV(hnerv_sized(28, height, width), height, width, 2).eval().cuda()
    network = network.to(memory_format=torch.channels_last)
    with fallback():
        want = [to_uint8(network.render_tiled(i, tile)) for i in (0, 1)]
        batched_fallback = hnerv_fused.render_batch(network, [0, 1], tile).cpu()
    got = hnerv_fused.render_batch(network, [0, 1], tile).cpu()
    for i, (g, f, w) in enumerate(zip(got, batched_fallback, want)):
        for frame_8bit in (g, f, w):
            rounds_like_exact(frame_8bit, network, i, tile)
    # The UpStage / block hooks: whole-frame inference with fused ops equals the unfused forward.
    with torch.no_grad():
        fused_whole = network(torch.tensor([1], device="cuda"))
        with fallback():
            plain_whole = network(torch.tensor([1], device="cuda"))
    assert torch.allclose(fused_whole, plain_whole, atol=1e-5)


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_gpu_half_precision_render(dtype):
    torch.manual_seed(0)
    height, width = 360, 640
    network = HNeRV(hnerv_sized(28, height, width), height, width, 2).eval().cuda()
    network = network.to(memory_format=torch.channels_last)
    full = hnerv_fused.render_batch(network, [0, 1], 256).float()
    network = network.to(dtype)
    got = hnerv_fused.render_batch(network, [0, 1], 256)
    with fallback():
        want = hnerv_fused.render_batch(network, [0, 1], 256)
    diff = (got.float() - want.float()).abs()
    assert float(diff.max()) <= 4 and float(diff.mean()) < 0.1  # same dtype, same rounding points
    mse = float(((got.float() - full) ** 2).mean()) / 255**2
    assert 10 * np.log10(1 / max(mse, 1e-12)) > 35  # half vs float32 on random weights


@needs_cuda
def test_gpu_fitting_still_takes_the_differentiable_path():
    torch.manual_seed(0)
    network = HNeRV(hnerv_sized(28, 48, 64), 48, 64, 2).cuda()
    out = network(torch.tensor([0, 1], device="cuda"))
    out.mean().backward()
    assert network.stages[-1].conv.weight.grad is not None
