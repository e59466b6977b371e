"""Names a package loads on first use (PEP 562), so that importing it stays cheap.

``nvc.codec`` and ``nvc.models`` both answer ``nvc --help`` or a decode without importing what only
an encode needs (torch, the fitting loop); each lists which submodule holds which name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, where: Mapping[str, str], namespace: dict[str, Any]
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: a name of ``where`` is imported from its
    submodule (relative to ``package``) when first asked for; ``namespace`` is the package's globals."""

    def getattr_(name: str) -> Any:
        if name in where:
            return getattr(importlib.import_module(where[name], package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return getattr_, dir_
