"""nvc: a neural implicit video codec.

    >>> import nvc
    >>> report = nvc.encode("clip.mp4", "clip.nvc", preset="fast", quality=28)
    >>> for frame in nvc.decode("clip.nvc"):
    ...     pass  # (H, W, 3) uint8 RGB

The public API lives in :mod:`nvc.codec` and is re-exported here; torch loads on the first use
of a name that needs it. See README.md for the pipeline and docs/FORMAT.md for the bitstream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nvc import codec as _codec
from nvc.codec import __all__, __version__  # noqa: F401

if TYPE_CHECKING:  # editors and type checkers see every name of nvc.codec's __all__
    from nvc.codec import *  # noqa: F401,F403


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(_codec, name)
    raise AttributeError(f"module 'nvc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
