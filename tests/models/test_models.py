"""The decoder network, its tiled rendering, the quantizer and the fitting loop."""

from __future__ import annotations

import math

import pytest
import torch

from nvc.datasets import synthetic_clip
from nvc.entropy import MAX_ALPHABET
from nvc.models import FitSettings, HNeRV, HNeRVConfig, fit_group, load_symbols
from nvc.models.hnerv import activate, conv_pixel_shuffle
from nvc.models.quant import MAX_SYMBOL, TensorQuantizer, laplace_bits

from ..conftest import hnerv_sized


@pytest.mark.parametrize("height,width,tile", [(24, 40, 16), (33, 47, 8), (9, 17, 16), (1, 1, 16), (70, 90, 32)])
def test_tiled_render_equals_whole_frame(height, width, tile):
    torch.manual_seed(0)
    network = HNeRV(hnerv_sized(28, height, width), height, width, 2).eval()
    with torch.no_grad():
        whole = network(torch.tensor([1]))[0]
    tiled = network.render_tiled(1, tile)
    assert tiled.shape == (3, height, width)
    assert torch.allclose(whole, tiled, atol=1e-5)


def test_tiled_render_equals_whole_frame_channels_last():
    torch.manual_seed(0)
    network = HNeRV(HNeRVConfig(), 272, 640, 1).eval().to(memory_format=torch.channels_last)
    with torch.no_grad():
        whole = network(torch.tensor([0]))[0]
    assert torch.allclose(whole, network.render_tiled(0, 256), atol=1e-5)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("r,kernel", [(2, 3), (3, 1), (5, 3)])
def test_conv_pixel_shuffle_is_pixel_shuffle_of_the_conv(layout, r, kernel):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(6, 4 * r * r, kernel, padding=kernel // 2)
    x = torch.randn(2, 6, 5, 7).contiguous(memory_format=layout).requires_grad_()
    expected = torch.nn.functional.pixel_shuffle(conv(x), r)
    got = conv_pixel_shuffle(conv, r, x)
    assert got.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(got, expected)  # every output channel is the same dot product, only its place moves
    upstream = torch.randn_like(expected)
    leaves = (x, conv.weight, conv.bias)
    grads = torch.autograd.grad(expected, leaves, upstream)
    new_grads = torch.autograd.grad(got, leaves, upstream)
    # Each gradient is a float32 sum of at most `terms` products, now summed in another order; two
    # such sums differ by at most 2 * terms * eps * (the sum of the products' magnitudes).
    terms = max(4 * r * r * kernel * kernel, x.shape[0] * x.shape[2] * x.shape[3] * kernel * kernel)
    magnitudes = [leaf.detach().abs().requires_grad_() for leaf in leaves]
    sums = torch.nn.functional.pixel_shuffle(
        torch.nn.functional.conv2d(*magnitudes, padding=kernel // 2), r)
    for a, b, m in zip(grads, new_grads, torch.autograd.grad(sums, magnitudes, upstream.abs())):
        assert torch.all((a - b).abs() <= 2 * terms * torch.finfo(torch.float32).eps * m)


@pytest.mark.parametrize("act", [torch.nn.GELU(), torch.nn.SiLU(), torch.nn.ReLU()])
def test_activate_on_channels_last_bfloat16_rounds_like_the_plain_call(act):
    torch.manual_seed(0)
    x = (torch.randn(2, 8, 5, 6) * 4).contiguous(memory_format=torch.channels_last)
    assert torch.equal(activate(act, x), act(x))  # float32: the plain call itself
    half = x.bfloat16()
    got, expected = activate(act, half), act(half)
    assert got.is_contiguous(memory_format=torch.channels_last)
    # Both compute act in float32, whose 1 - erf cancels in GELU's negative tail (absolute error
    # a few eps times |x|), then round to bfloat16, whose unit is at most 2^-7 of the value.
    difference = (got.float() - expected.float()).abs()
    assert torch.all(difference <= 2**-6 * expected.float().abs() + 2**-20 * half.float().abs())


@pytest.mark.parametrize("config", [HNeRVConfig(), hnerv_sized(40, 9, 17), hnerv_sized(10, 1080, 1920)])
def test_parameter_shapes_match_the_module(config):
    network = HNeRV(config, 70, 90, 3)
    assert config.parameter_shapes(70, 90, 3) == {n: tuple(p.shape) for n, p in network.named_parameters()}


@pytest.mark.parametrize("bad", [dict(strides=(2, 2), channels=(8,), kernels=(1, 3)), dict(block_kernel=4),
                                 dict(activation="tanh"), dict(tiled_stages=0), dict(stem_channels=0)])
def test_config_rejects_inconsistent_values(bad):
    with pytest.raises(ValueError):
        HNeRVConfig(**bad)


def test_quantizer_rounds_exactly_and_passes_gradients():
    quantizer = TensorQuantizer(0.1)
    w = torch.tensor([0.26, -0.04, 1.0], requires_grad=True)
    out = quantizer.fake_quantize(w)
    step = float(quantizer.step.detach())
    assert torch.allclose(out, torch.round(w / step) * step)
    out.sum().backward()
    assert torch.allclose(w.grad, torch.ones(3))
    assert quantizer.symbols(w).tolist() == [3, 0, 10]


def test_quantizer_saturates_so_every_tensor_fits_one_entropy_table():
    quantizer = TensorQuantizer(1e-6)
    w = torch.tensor([1.0, -1.0, 0.0, 5e-6])
    assert quantizer.symbols(w).tolist() == [MAX_SYMBOL, -MAX_SYMBOL, 0, 5]
    step = float(quantizer.step.detach())
    assert torch.allclose(quantizer.fake_quantize(w), quantizer.symbols(w).to(torch.float32) * step)
    assert 2 * MAX_SYMBOL + 1 <= MAX_ALPHABET


def test_laplace_bits_is_a_probability_model():
    scale = torch.tensor(1.3)
    symbols = torch.arange(-60, 61, dtype=torch.float32)
    total = torch.sum(2.0 ** -laplace_bits(symbols, scale))
    assert math.isclose(float(total), 1.0, rel_tol=1e-4)


def _laplace_bits_float64(x: torch.Tensor, scale: float) -> torch.Tensor:
    """The definition: minus log2 of the Laplace CDF's mass over [|x| - 1/2, |x| + 1/2], in float64."""
    a, k = x.abs(), 1 / scale

    def cdf(z: torch.Tensor) -> torch.Tensor:
        return torch.where(z >= 0, 1 - 0.5 * torch.exp(-z * k), 0.5 * torch.exp(z * k))

    return -torch.log2((cdf(a + 0.5) - cdf(a - 0.5)).clamp(min=1e-9))


@pytest.mark.parametrize("scale", [0.05, 0.7, 3.0, 40.0, 1000.0])
def test_laplace_bits_and_its_gradient_follow_the_definition(scale):
    # The closed form runs about a dozen float32 operations, each within eps = 2**-24 relative: the
    # bits stay within 32 eps relative. Its slope inside the centre bin goes through exp(t/2) for t up
    # to k/2 (an error of eps t relative) and 2 sinh(t/2) = e^(t/2) - e^(-t/2), which loses eps
    # absolute of a value near t = |x|/scale: within 8 eps (2 + k + scale) of the largest slope, k/ln 2.
    eps = 2.0**-24
    torch.manual_seed(0)
    x = torch.randn(20000) * 3 * max(scale, 1.0)
    x = torch.cat([x, torch.tensor([0.0, -0.0, 0.499, -0.501, 60.0 * scale])])  # bin edges and a capped tail
    fast = x.clone().requires_grad_()
    bits = laplace_bits(fast, torch.tensor(scale))
    (slope,) = torch.autograd.grad(bits.sum(), fast)
    exact_x = x.double().requires_grad_()
    exact = _laplace_bits_float64(exact_x, scale)
    (exact_slope,) = torch.autograd.grad(exact.sum(), exact_x)
    assert torch.all((bits.double() - exact).abs() <= 32 * eps * (1 + exact.abs()))
    assert torch.all((slope.double() - exact_slope).abs() <= 8 * eps * (2 + 1 / scale + scale) / (scale * math.log(2)))
    assert float(slope[-1]) == 0.0  # past the 1e-9 floor of the probability the rate has no gradient


def _clip() -> torch.Tensor:
    return torch.from_numpy(synthetic_clip(32, 24, 3, seed=2)).permute(0, 3, 1, 2).float() / 255


def _fit(seed: int, iterations: int = 40, lam: float = 1e-4, **settings):
    clip = _clip()
    torch.manual_seed(seed)
    network = HNeRV(hnerv_sized(0, 24, 32), 24, 32, 3)
    fitted = fit_group(network, clip, FitSettings(iterations=iterations, rate_lambda=lam, eval_every=10, **settings))
    return network, clip, fitted


def test_fitting_is_deterministic_with_a_seed():
    _, _, a = _fit(seed=3, iterations=30)
    _, _, b = _fit(seed=3, iterations=30)
    assert a.psnr == b.psnr
    assert all(torch.equal(a.symbols[n].symbols, b.symbols[n].symbols) for n in a.symbols)


def test_fit_reaches_a_clear_psnr_and_reports_the_rounded_network():
    network, clip, result = _fit(seed=0, iterations=400)
    assert result.psnr > 24.0, result.psnr
    load_symbols(network, result.symbols)
    with torch.no_grad():
        mse = torch.mean((network(torch.arange(3)) - clip) ** 2)
    assert abs(10 * math.log10(1 / float(mse)) - result.psnr) < 1e-3


def test_a_collapse_resumes_from_the_best_state():
    """A fit knocked far off mid-run goes back to its best state and counts the collapse.

    From the evaluation at iteration 100 to the one at 110, a hook adds 10 to the head's output, so
    those ten steps drag the weights towards compensating it and the evaluation at 110 is far below
    the best: a collapse on any CPU.  Back at the best state, the evaluation at 120 is near it again.
    """
    clip = _clip()
    torch.manual_seed(0)
    network = HNeRV(hnerv_sized(0, 24, 32), 24, 32, 3)
    events, hooks = [], []

    def knock_off(event) -> None:
        events.append(event)
        if event.iteration == 100:
            hooks.append(network.head.register_forward_hook(lambda module, inputs, out: out + 10.0))
        elif event.iteration == 110:
            hooks.pop().remove()

    result = fit_group(network, clip, FitSettings(iterations=200, eval_every=10, collapse_db=3.0), on_eval=knock_off)
    best_cost, best_psnr, collapses = math.inf, 0.0, 0
    for event in events:
        if event.cost < best_cost:
            best_cost, best_psnr = event.cost, event.psnr
        elif event.psnr < best_psnr - 3.0:
            collapses += 1
        if event.iteration == 110:
            after = best_psnr  # the state the fit resumes from
    assert result.collapses == collapses >= 1
    assert next(e.psnr for e in events if e.iteration == 120) > after - 3.0


def test_resuming_restores_weights_steps_and_moments_at_half_the_learning_rates():
    from torch.func import functional_call

    from nvc.models.fit import _FitState

    torch.manual_seed(0)
    network = HNeRV(hnerv_sized(0, 24, 32), 24, 32, 3)
    state = _FitState.start(network, FitSettings(), None, 3)
    clip = _clip()

    def train_step() -> None:
        loss = torch.mean((functional_call(network, state.quantized_params(), (torch.arange(3),)) - clip) ** 2)
        state.step(loss, grad_clip=1.0)

    train_step()
    point = state.resume_point()
    saved_moments = {(k, name): v.clone() for k, entry in state.optimizer.state_dict()["state"].items()
                     for name, v in entry.items() if isinstance(v, torch.Tensor)}
    for _ in range(3):
        train_step()
    state.resume_from(point)
    assert all(torch.equal(p, point.params[n]) for n, p in state.params.items())
    assert all(torch.equal(q.log_step, point.log_steps[n]) for n, q in state.quantizers.items())
    moments = state.optimizer.state_dict()["state"]
    assert saved_moments and all(torch.equal(moments[k][name], v) for (k, name), v in saved_moments.items())
    assert state.base_lrs == [FitSettings().lr / 2, FitSettings().step_lr / 2]


def _fit_after(first, band: tuple[float, float]):
    torch.manual_seed(1)
    network = HNeRV(hnerv_sized(0, 24, 32), 24, 32, 3)
    settings = FitSettings(iterations=10, eval_every=10, reference_step_band=band)  # one state, after the freeze
    return fit_group(network, _clip(), settings, reference=first.symbols)


def test_an_inter_fit_adopts_the_reference_steps_inside_the_band_only():
    _, _, first = _fit(seed=0, iterations=30)
    shared = [name for name in first.symbols if name != "embeddings"]
    everywhere = _fit_after(first, (0.0, math.inf))
    assert all(everywhere.symbols[n].step == first.symbols[n].step for n in shared)
    nowhere = _fit_after(first, (math.inf, math.inf))
    assert not any(nowhere.symbols[n].step == first.symbols[n].step for n in shared)


def test_a_pinned_quantizer_keeps_the_exact_step():
    quantizer = TensorQuantizer(0.1)
    quantizer.pin(0.3)
    assert float(quantizer.step) == float(torch.tensor(0.3, dtype=torch.float32))
    assert not quantizer.log_step.requires_grad


@pytest.mark.parametrize("bad", [{"precision": "float16"}, {"precision": "auto "}, {"collapse_db": 0.0},
                                 {"collapse_db": math.nan}])
def test_fit_settings_reject_bad_values(bad):
    with pytest.raises(ValueError):
        FitSettings(**bad)


def test_fit_schedule_phases():
    """Warm-up, cosine decay and the frozen final phase, named in one place."""
    from nvc.models.fit import _Schedule

    settings = FitSettings(iterations=200, warmup_fraction=0.05, final_fraction=0.15)
    schedule = _Schedule.of(settings)
    assert (schedule.total, schedule.warmup, schedule.freeze_at) == (200, 10, 170)
    assert schedule.lr_scale(0) == 0.1 and schedule.lr_scale(9) == 1.0
    assert schedule.lr_scale(100) == 0.5 * (1 + math.cos(math.pi / 2))


def test_fit_keeps_the_best_state_and_counts_stale_evaluations():
    from nvc.models.fit import _Best

    class State:
        def __init__(self, tag):
            self.tag = tag

        def snapshot(self):
            return self.tag

        def resume_point(self):
            return f"resume {self.tag}"

    best = _Best()
    assert not best.offer(2.0, 30.0, State("a"))
    assert best.offer(3.0, 29.0, State("b")) and best.offer(2.0, 31.0, State("c"))
    assert (best.state, best.cost, best.psnr, best.stale) == ("a", 2.0, 30.0, 2)
    assert not best.offer(1.0, 32.0, State("d")) and (best.state, best.resume_point, best.stale) == ("d", "resume d", 0)
