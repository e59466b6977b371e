"""Where fitting and rendering run: the CPU, or a CUDA GPU when one is present."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .defaults import DEVICES
from .errors import UsageError

if TYPE_CHECKING:
    import torch

__all__ = ["DEVICES", "resolve_device"]


def resolve_device(name: str) -> torch.device:
    """The torch device for ``name``; refuses ``cuda`` on a machine without a usable GPU."""
    import torch  # here, not at the top: the CLI imports this module before it knows it needs torch

    if name not in DEVICES:
        raise UsageError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda asked for, but no CUDA GPU is available")
    return torch.device(name)
