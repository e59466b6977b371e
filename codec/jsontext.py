"""Strict JSON for nvc's machine-readable output (``--json``, ``--progress json``).

JSON has no infinity or NaN, yet a PSNR of identical frames is infinite and MS-SSIM of a small
frame undefined; both are written as null.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["strict", "dumps"]


def strict(value: Any) -> Any:
    """``value`` with every non-finite float (at any depth of dicts and lists) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(item) for item in value]
    return value


def dumps(doc: Any, indent: int | None = None) -> str:
    """Strict JSON text of ``doc`` (see :func:`strict`)."""
    return json.dumps(strict(doc), indent=indent, allow_nan=False)
