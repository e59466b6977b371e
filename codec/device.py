"""Where fitting and rendering run: the CPU, or a CUDA GPU when one is present."""

from __future__ import annotations

import torch

from .errors import UsageError

__all__ = ["DEVICES", "resolve_device"]

DEVICES = ("cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """The torch device for ``name``; refuses ``cuda`` on a machine without a usable GPU."""
    if name not in DEVICES:
        raise UsageError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda asked for, but no CUDA GPU is available")
    return torch.device(name)
