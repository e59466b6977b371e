"""nvc: a neural implicit video codec.

    >>> import nvc
    >>> report = nvc.encode("clip.mp4", "clip.nvc", preset="fast", quality=28)
    >>> for frame in nvc.decode("clip.nvc"):
    ...     pass  # (H, W, 3) uint8 RGB

See README.md for the pipeline and docs/FORMAT.md for the bitstream.
"""

from nvc.codec import (
    FORMAT_VERSION,
    BitstreamError,
    CodecRuntimeError,
    EncodeOptions,
    EncodeReport,
    FileInfo,
    GroupStats,
    InputError,
    NewerFormatError,
    NvcError,
    UsageError,
    VideoFile,
    __version__,
    decode,
    encode,
    open,
)

__all__ = [
    "FORMAT_VERSION",
    "BitstreamError",
    "CodecRuntimeError",
    "EncodeOptions",
    "EncodeReport",
    "FileInfo",
    "GroupStats",
    "InputError",
    "NewerFormatError",
    "NvcError",
    "UsageError",
    "VideoFile",
    "__version__",
    "decode",
    "encode",
    "open",
]
