"""nvc: a neural implicit video codec.

    >>> import nvc
    >>> report = nvc.encode("clip.mp4", "clip.nvc", preset="fast", quality=28)
    >>> for frame in nvc.decode("clip.nvc"):
    ...     pass  # (H, W, 3) uint8 RGB

The public API lives in :mod:`nvc.codec` and is re-exported here. See README.md for the
pipeline and docs/FORMAT.md for the bitstream.

``nvc.codec`` (and with it torch) is imported on first use of a name, not by ``import nvc``, so
that the ``nvc`` command starts handling Ctrl-C before the seconds its imports take.
"""

import importlib


def _codec():
    return importlib.import_module("nvc.codec")


def __getattr__(name: str) -> object:
    if name.startswith("__") and name not in ("__all__", "__version__"):
        raise AttributeError(name)
    codec = _codec()  # the package's face is exactly nvc.codec's public API
    if name in codec.__all__ or name == "__all__":
        value = getattr(codec, name)
        globals()[name] = value
        return value
    if name in globals():  # a subpackage that importing nvc.codec imported (nvc.datasets, ...)
        return globals()[name]
    raise AttributeError(f"module 'nvc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_codec().__all__))
