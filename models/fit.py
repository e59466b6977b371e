"""Fit one group's network to its frames, quantization-aware, and return its integer symbols.

The loss is ``MSE + lambda * bits / pixels``: the distortion sees the exact rounded weights
(straight-through), the rate is a Laplace proxy of the symbols (or, for a group that starts from
its predecessor, of their residual against the predecessor's weights).  The last part of the
schedule freezes the step sizes, so the grid the decoder uses is the grid that was trained.
The best state by rate-distortion cost, measured on exactly rounded weights, is what is returned:
NeRV-family fits can collapse mid-run, and a late collapse must not cost the group.  A collapse
(an evaluation far below the best state's PSNR) also sends the fit back to the best state at half the
learning rates, so the rest of the budget is not spent climbing out of it.

A group that starts from its predecessor learns its own step sizes from a fine grid, like a key
group: inheriting the predecessor's (often coarse) grid frozen made the fit stall, measured on
bikes at quality 28 after its scene cut at 12.5 dB where relearned steps reach 27.0 dB in 450
iterations (at quality 22 the frozen grid did not stall and was cheaper: 26.8 dB at 109 kB against
27.6 dB at 320 kB; docs/benchmarks.md).  When the steps freeze, each tensor whose learned step
lies near its reference step adopts that step exactly, so the tensor can be coded as a residual;
the others are coded intra.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import nn
from torch.func import functional_call

from .adan import Adan
from .psnr import psnr_from_mse
from .quant import TensorQuantizer
from .quantized import GroupSymbols, QuantizedTensor, dequantize
from .registry import DecoderNetwork

__all__ = ["FitSettings", "FitEvent", "FitResult", "fit_group", "native_bfloat16"]

ZERO_START_RANGE = 0.1
"""The range a tensor built all zero is quantized for at the start (its step learns from there)."""
_PRECISIONS = ("auto", "float32", "bfloat16")
_OPTIMIZERS = {"adam": torch.optim.Adam, "adan": Adan}


@dataclass(frozen=True)
class FitSettings:
    """How hard to fit one group (derived from the preset and quality scale)."""

    iterations: int = 600
    batch_frames: int = 2
    lr: float = 2e-2
    step_lr: float = 2e-2
    rate_lambda: float = 1e-4
    final_fraction: float = 0.15
    warmup_fraction: float = 0.2
    """Of the iterations, the share over which both learning rates ramp up linearly (NeRV's and
    HNeRV's 20 %).  Against 5 % with Adan at 0.02, medium, q28, seeds 0-2: the seed spread fell
    from 1.05 to 0.47 dB on bikes' fast motion at 176x144 (+0.40 dB mean), from 0.84 to 0.31 dB on
    bikes frames 0-29 and from 0.85 to 0.36 dB on the demo sample, at equal mean PSNR or better
    (docs/design-notes.md)."""
    eval_every: int = 25
    patience: int = 8
    collapse_db: float = 3.0
    """An evaluation this many dB below the PSNR of the best state so far (by rate-distortion cost)
    is a collapse: the fit resumes from that state (weights, steps, optimizer moments) with both
    learning rates halved."""
    grad_clip: float = 1.0
    init_bits: int = 8
    reference_step_band: tuple[float, float] = (0.5, 1.25)
    """A tensor adopts its reference step when ``reference_step / learned_step`` lies in this band."""
    precision: str = "auto"
    """Of the training forward pass: "float32", "bfloat16" (autocast), or "auto": bfloat16 where
    the device computes it natively (CUDA, CPUs with AVX512-BF16 or AMX), else float32.  Measured
    on bikes at 176x144, medium: the same bytes and PSNR within 0.15 dB; 1.5x the iterations per
    second at 640x272 with 2 threads (tools.fit_bench, docs/benchmarks.md).  Evaluations, the
    best-state choice and the decoder always compute in float32."""
    optimizer: str = "adan"
    """"adan" (HiNeRV's and Boosting-NeRV's) or "adam".  Adan at lr 0.02 against Adam at 0.01, medium,
    seed 0: bikes frames 0-29 at 640x272, q28, +2.05 dB at 2 % more bytes; at 176x144 +2.35 dB
    BD-PSNR; the fast motion after bikes' cut -0.13 dB; Adan at 0.03 collapsed there (q22), at
    0.01 and 0.005 it lost 1 and 3.4 dB (docs/design-notes.md).  With the 5 % warm-up of the time
    the seed spread doubled; the 20 % warm-up (``warmup_fraction``) took it back under 0.5 dB.
    Groups that start from their predecessor fine-tune with Adam (nvc.codec.rate.INTER_GROUP_FIT)."""

    def __post_init__(self) -> None:
        if not self.collapse_db > 0:
            raise ValueError(f"collapse_db must be positive (math.inf: never resume), got {self.collapse_db}")
        if self.precision not in _PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(_PRECISIONS)}, got {self.precision!r}")
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(_OPTIMIZERS)}, got {self.optimizer!r}")


@dataclass(frozen=True)
class FitEvent:
    """One evaluation during fitting, for progress bars and TensorBoard."""

    iteration: int
    total: int
    psnr: float
    bits: float
    cost: float


@dataclass(frozen=True)
class FitResult:
    symbols: GroupSymbols
    psnr: float  # on the exactly rounded network, whole-frame render
    iterations: int
    seconds: float
    cost: float  # MSE + lambda * estimated bits / pixels of the returned state
    collapses: int = 0  # times the fit went back to its best state (FitSettings.collapse_db)


def fit_group(
    model: nn.Module,
    frames: torch.Tensor,
    settings: FitSettings,
    reference: Mapping[str, QuantizedTensor] | None = None,
    on_eval: Callable[[FitEvent], None] | None = None,
) -> FitResult:
    """Fit ``model`` to ``frames`` (N, 3, H, W) in [0, 1] and return its quantized state.

    With a ``reference`` (the previous group's symbols) the network starts from it and pays rate
    for its shared tensors' residuals against it; see the module docstring for the step sizes.
    """
    start = time.perf_counter()
    state = _FitState.start(model, settings, reference, frames.shape[0])
    schedule = _Schedule.of(settings)
    best = _Best()
    pixels = frames.shape[0] * frames.shape[-2] * frames.shape[-1]
    bfloat16 = _trains_in_bfloat16(frames.device, settings.precision)
    done = collapses = 0
    for iteration in range(schedule.total):
        state.set_lr_scale(schedule.lr_scale(iteration))
        if iteration == schedule.freeze_at:
            state.freeze_steps(reference, settings.reference_step_band)
        batch = state.next_batch(settings.batch_frames)
        with torch.autocast(frames.device.type, dtype=torch.bfloat16, enabled=bfloat16):
            out = functional_call(model, state.quantized_params(), (batch,))
        loss = torch.mean((out.float() - frames[batch]) ** 2)
        loss = loss + settings.rate_lambda * state.rate_bits() / pixels
        state.step(loss, settings.grad_clip)
        done = iteration + 1

        if done % settings.eval_every == 0 or done == schedule.total:
            psnr, est_bits = _evaluate(model, state, frames, settings.batch_frames)
            cost = 10 ** (-psnr / 10) + settings.rate_lambda * est_bits / pixels
            if on_eval is not None:
                on_eval(FitEvent(done, schedule.total, psnr, est_bits, cost))
            if best.offer(cost, psnr, state):  # no better than the best
                if best.resume_point is not None and psnr < best.psnr - settings.collapse_db:
                    state.resume_from(best.resume_point)
                    collapses += 1
                elif done >= schedule.freeze_at and best.stale >= settings.patience:
                    break

    assert best.state is not None
    return FitResult(best.state, best.psnr, done, time.perf_counter() - start, best.cost, collapses)


@dataclass(frozen=True)
class _Schedule:
    """Where a fit's phases change: warm-up, cosine decay, frozen steps."""

    total: int
    warmup: int
    freeze_at: int

    @classmethod
    def of(cls, settings: FitSettings) -> _Schedule:
        total = settings.iterations
        return cls(total, max(1, int(total * settings.warmup_fraction)), int(total * (1 - settings.final_fraction)))

    def lr_scale(self, iteration: int) -> float:
        """Linear warm-up, then cosine decay of both learning rates."""
        if iteration < self.warmup:
            return (iteration + 1) / self.warmup
        return 0.5 * (1 + math.cos(math.pi * iteration / self.total))


@dataclass
class _FitState:
    """What the fitting loop changes as it goes: the weights and their quantizers, the optimizer,
    the reference anchors still paying residual rate, and where the shuffled frame order stands."""

    params: dict[str, nn.Parameter]
    quantizers: dict[str, TensorQuantizer]
    optimizer: torch.optim.Optimizer
    base_lrs: list[float]
    anchors: dict[str, torch.Tensor]
    """Dequantized reference weights of the tensors whose rate is their residual against them."""
    residual_of: dict[str, torch.Tensor] = field(default_factory=dict)
    """Reference symbols of the tensors pinned to their reference grid (after the steps freeze)."""
    order: torch.Tensor = field(default_factory=lambda: torch.empty(0, dtype=torch.long))
    cursor: int = 0

    @classmethod
    def start(cls, model: nn.Module, settings: FitSettings, reference: Mapping[str, QuantizedTensor] | None,
              frame_count: int) -> _FitState:
        anchors = _init_from_reference(model, reference)
        params = dict(model.named_parameters())
        inherited = {name: reference[name] for name in anchors} if reference is not None else {}
        quantizers = {name: TensorQuantizer(_initial_step(p, settings.init_bits, inherited.get(name)))
                      for name, p in params.items()}
        optimizer = _OPTIMIZERS[settings.optimizer](
            [
                {"params": list(params.values()), "lr": settings.lr},
                {"params": [q.log_step for q in quantizers.values()], "lr": settings.step_lr},
            ]
        )
        base_lrs = [g["lr"] for g in optimizer.param_groups]
        return cls(params, quantizers, optimizer, base_lrs, anchors, order=torch.randperm(frame_count))

    def set_lr_scale(self, scale: float) -> None:
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * scale

    def freeze_steps(self, reference: Mapping[str, QuantizedTensor] | None, band: tuple[float, float]) -> None:
        """Stop learning the steps; pin the shared tensors whose step is near their reference's."""
        for q in self.quantizers.values():
            q.log_step.requires_grad_(False)
        self.anchors, self.residual_of = _adopt_reference_steps(self.quantizers, self.anchors, reference, band)

    def next_batch(self, size: int) -> torch.Tensor:
        """The next ``size`` frame indices of a shuffled pass over the group (a new pass when short)."""
        if self.cursor + size > len(self.order):
            self.order, self.cursor = torch.randperm(len(self.order)), 0
        batch = self.order[self.cursor : self.cursor + size]
        self.cursor += size
        return batch

    def quantized_params(self) -> dict[str, torch.Tensor]:
        return {name: self.quantizers[name].fake_quantize(p) for name, p in self.params.items()}

    def rate_bits(self) -> torch.Tensor:
        """The differentiable rate proxy of every tensor (residual rate for the anchored ones)."""
        bits = sum(self.quantizers[n].rate_bits(p, self.anchors.get(n)) for n, p in self.params.items())
        return cast(torch.Tensor, bits)  # a sum of tensors (every group has parameters)

    def step(self, loss: torch.Tensor, grad_clip: float) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(self.params.values()), grad_clip)
        self.optimizer.step()

    def resume_point(self) -> _ResumePoint:
        """A copy of everything :meth:`resume_from` needs to return to this point of the fit."""
        return _ResumePoint({name: p.detach().clone() for name, p in self.params.items()},
                            {name: q.log_step.detach().clone() for name, q in self.quantizers.items()},
                            copy.deepcopy(self.optimizer.state_dict()))

    def resume_from(self, point: _ResumePoint) -> None:
        """Go back to ``point`` after a collapse, with both learning rates halved."""
        with torch.no_grad():
            for name, p in self.params.items():
                p.copy_(point.params[name])
            for name, q in self.quantizers.items():
                q.log_step.copy_(point.log_steps[name])
        self.optimizer.load_state_dict(copy.deepcopy(point.optimizer))
        self.base_lrs = [lr / 2 for lr in self.base_lrs]

    def snapshot(self) -> GroupSymbols:
        """The exactly rounded symbols and steps of the current weights."""
        snapshot = {}
        for name, p in self.params.items():
            q = self.quantizers[name]
            snapshot[name] = QuantizedTensor(q.symbols(p).clone(), float(q.step.detach().to(torch.float32)))
        return snapshot


@dataclass(frozen=True)
class _ResumePoint:
    """The float state of a fit (weights, log-steps, optimizer), to return to after a collapse."""

    params: dict[str, torch.Tensor]
    log_steps: dict[str, torch.Tensor]
    optimizer: dict[str, Any]


@dataclass
class _Best:
    """The best state by rate-distortion cost so far, and evaluations since it last improved."""

    cost: float = math.inf
    psnr: float = 0.0
    state: GroupSymbols | None = None
    resume_point: _ResumePoint | None = None
    stale: int = 0

    def offer(self, cost: float, psnr: float, state: _FitState) -> bool:
        """Keep ``state`` if it beats the best; returns True when it did not (the fit may stop early)."""
        if cost < self.cost:
            self.cost, self.psnr, self.stale = cost, psnr, 0
            self.state, self.resume_point = state.snapshot(), state.resume_point()
            return False
        self.stale += 1
        return True


def _trains_in_bfloat16(device: torch.device, precision: str) -> bool:
    """Whether the training forward pass autocasts to bfloat16 (decided once per fit, not per step)."""
    return precision == "bfloat16" or (precision == "auto" and native_bfloat16(device))


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 convolutions natively (elsewhere autocast is slower)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private, so looked up defensively
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def _initial_step(p: torch.Tensor, bits: int, inherited: QuantizedTensor | None) -> float:
    """``max|w|`` over ``2**(bits-1) - 1``, and for an inherited tensor at least 1/16 of its reference step.

    The floor matters for a tensor the reference quantized to (nearly) all zeros: its grid would
    start near 1e-6 and its symbols run into the saturation bound (MAX_SYMBOL) after a few updates.
    For the same reason a tensor built all zero (a feature grid) starts as if its largest value
    were :data:`ZERO_START_RANGE`.
    """
    levels = 2 ** (bits - 1) - 1
    largest = p.detach().abs().max()
    if inherited is None and float(largest) == 0:
        return ZERO_START_RANGE / levels
    step = float(largest.clamp(min=1e-4)) / levels
    return step if inherited is None else max(step, inherited.step / 16)


def _init_from_reference(model: nn.Module, reference: Mapping[str, QuantizedTensor] | None) -> dict[str, torch.Tensor]:
    """Start from the reference's weights; return them (dequantized) for the shared tensors.

    Every slice of a time-indexed tensor (a frame's embedding, a grid's time slot) starts from the
    reference's last one, the nearest in time (measured on bikes: 20.6 dB after 150 iterations,
    against 19.3 dB when frame i started from the reference's frame i); those tensors pay intra rate.
    """
    if reference is None:
        return {}
    anchors = {}
    time_indexed = cast(DecoderNetwork, model).time_indexed_parameters
    with torch.no_grad():
        for name, p in model.named_parameters():
            values = dequantize(reference[name]).to(p.device)
            if name in time_indexed:
                p.copy_(values[-1:].expand_as(p))
            else:
                p.copy_(values)
                anchors[name] = values
    return anchors


def _adopt_reference_steps(
    quantizers: Mapping[str, TensorQuantizer],
    anchors: Mapping[str, torch.Tensor],
    reference: Mapping[str, QuantizedTensor] | None,
    band: tuple[float, float],
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Pin each shared tensor whose learned step is near its reference step to that step.

    Returns the anchors that still apply (the pinned tensors' residual rate) and the reference
    symbols of the pinned tensors; every other tensor pays intra rate from here on.
    """
    if reference is None:
        return {}, {}
    low, high = band
    kept, residual_of = {}, {}
    for name, anchor in anchors.items():
        coded = reference[name]
        if low <= coded.step / float(quantizers[name].step) <= high:
            quantizers[name].pin(coded.step)
            kept[name] = anchor
            residual_of[name] = coded.symbols.to(anchor.device)
    return kept, residual_of


@torch.no_grad()
def _evaluate(model: nn.Module, state: _FitState, frames: torch.Tensor, batch: int) -> tuple[float, float]:
    """Exact-rounding PSNR over the whole group, and a noise-free rate estimate.

    Renders ``batch`` frames at a time, the fit's batch: float32 maps of 4 frames at 640x272
    outgrow the cache, and a whole-group evaluation took 1.70 s against 1.00 s in pairs (bikes,
    30 frames, 2 threads).
    """
    qparams = state.quantized_params()
    sq_err = 0.0
    for start in range(0, frames.shape[0], batch):
        idx = torch.arange(start, min(start + batch, frames.shape[0]))
        out = functional_call(model, qparams, (idx,))
        sq_err += float(torch.sum((out - frames[idx]) ** 2))
    mse = sq_err / frames.numel()
    bits = 0.0
    for name, p in state.params.items():
        symbols = state.quantizers[name].symbols(p)
        if name in state.residual_of:
            symbols = symbols - state.residual_of[name]
        bits += float(_entropy_bits(symbols))
    return psnr_from_mse(mse), bits


def _entropy_bits(symbols: torch.Tensor) -> float:
    """Empirical zeroth-order entropy of the symbols, in bits (what a histogram coder achieves)."""
    _, counts = torch.unique(symbols, return_counts=True)
    probs = counts.to(torch.float64) / symbols.numel()
    return float(-(counts * torch.log2(probs)).sum())
