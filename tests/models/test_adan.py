"""The Adan optimizer against a float64 transcription of its update rule."""

from __future__ import annotations

import math

import pytest
import torch

from nvc.models import FitSettings
from nvc.models.adan import Adan

BETAS = (0.98, 0.92, 0.99)
EPS = 1e-8


def _reference_steps(start: torch.Tensor, lr: float, steps: int) -> torch.Tensor:
    """Adan on f(w) = sum(w**4), written out term by term (gradient 4 w**3)."""
    b1, b2, b3 = BETAS
    w, mean, change, square = start.clone(), *(torch.zeros_like(start) for _ in range(3))
    previous = None
    for k in range(1, steps + 1):
        grad = 4 * w**3
        diff = torch.zeros_like(grad) if previous is None else grad - previous
        mean = b1 * mean + (1 - b1) * grad
        change = b2 * change + (1 - b2) * diff
        square = b3 * square + (1 - b3) * (grad + b2 * diff) ** 2
        direction = mean / (1 - b1**k) + b2 * change / (1 - b2**k)
        w = w - lr * direction / (square.sqrt() / math.sqrt(1 - b3**k) + EPS)
        previous = grad
    return w


def test_adan_follows_its_update_rule():
    torch.manual_seed(0)
    start = torch.randn(7, dtype=torch.float64)
    w = start.clone().requires_grad_(True)
    optimizer = Adan([w], lr=0.1, betas=BETAS, eps=EPS)
    for _ in range(6):
        optimizer.zero_grad()
        (w**4).sum().backward()
        optimizer.step()
    # the same float64 operations in the same order, up to the in-place forms: a few ulps of |w| <= 3
    assert torch.allclose(w.detach(), _reference_steps(start, 0.1, 6), rtol=0, atol=64 * torch.finfo(torch.float64).eps)


def _per_tensor_steps(start: list[torch.Tensor], lr: float, steps: int) -> list[torch.Tensor]:
    """Adan on f(w) = sum(w**4) as the per-tensor operations the foreach operations stand for."""
    b1, b2, b3 = BETAS
    ws = [w.clone() for w in start]
    states = [dict(mean=torch.zeros_like(w), change=torch.zeros_like(w), square=torch.zeros_like(w)) for w in ws]
    for k in range(1, steps + 1):
        for w, state in zip(ws, states, strict=True):
            grad = 4 * w**3
            previous = state.setdefault("previous", grad.clone())
            change = grad - previous
            nesterov = grad + b2 * change
            state["mean"].mul_(b1).add_(grad, alpha=1 - b1)
            state["change"].mul_(b2).add_(change, alpha=1 - b2)
            state["square"].mul_(b3).addcmul_(nesterov, nesterov, value=1 - b3)
            denominator = (state["square"].sqrt() / math.sqrt(1 - b3**k)).add_(EPS)
            direction = state["mean"] / (1 - b1**k) + b2 * state["change"] / (1 - b2**k)
            w.addcdiv_(direction, denominator, value=-lr)
            previous.copy_(grad)
    return ws


def test_adan_updates_many_tensors_as_their_per_tensor_operations_would():
    # float32 tensors of odd sizes (vector bodies and scalar tails) and a 0-dim one, gradients set
    # as the oracle computes them: bit for bit
    torch.manual_seed(0)
    start = [torch.randn(size) for size in ((), (5,), (33, 7), (3, 4, 3, 3))]
    params = [w.clone().requires_grad_(True) for w in start]
    optimizer = Adan(params, lr=0.05, betas=BETAS, eps=EPS)
    for _ in range(5):
        for w in params:
            w.grad = 4 * w.detach() ** 3
        optimizer.step()
    for fitted, expected in zip(params, _per_tensor_steps(start, 0.05, 5), strict=True):
        assert torch.equal(fitted.detach(), expected)


def test_adan_skips_parameters_without_a_gradient_and_survives_a_state_round_trip():
    frozen, live = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    optimizer = Adan([frozen, live], lr=0.1)
    live.sum().backward()
    optimizer.step()
    assert torch.equal(frozen.detach(), torch.ones(3)) and not torch.equal(live.detach(), torch.ones(3))
    saved = optimizer.state_dict()
    Adan([frozen, live], lr=0.1).load_state_dict(saved)


@pytest.mark.parametrize("betas", [(1.0, 0.92, 0.99), (0.98, -0.1, 0.99)])
def test_adan_rejects_betas_outside_the_unit_interval(betas):
    with pytest.raises(ValueError):
        Adan([torch.ones(1, requires_grad=True)], betas=betas)


def test_fit_settings_name_a_known_optimizer():
    with pytest.raises(ValueError):
        FitSettings(optimizer="sgd")
