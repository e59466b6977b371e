"""nvc: a neural implicit video codec.

    >>> import nvc
    >>> report = nvc.encode("clip.mp4", "clip.nvc", preset="fast", quality=28)
    >>> for frame in nvc.decode("clip.nvc"):
    ...     pass  # (H, W, 3) uint8 RGB

The public API lives in :mod:`nvc.codec` and is re-exported here. See README.md for the
pipeline and docs/FORMAT.md for the bitstream.
"""

from nvc.codec import *  # noqa: F401,F403 - the package's face is exactly nvc.codec's public API
from nvc.codec import __all__, __version__  # noqa: F401
