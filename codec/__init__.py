"""nvc.codec: the file format, the encoder and decoder, the public API and the CLI.

Uses models/ (networks and fitting), entropy/ (integer tables and rANS) and datasets/ (video
in and out); nothing below it knows about files.
"""

from .api import FileInfo, VideoFile, decode, encode, open
from .container import FORMAT_VERSION
from .encoder import EncodeOptions, EncodeReport, GroupStats
from .errors import (
    BitstreamError,
    CodecRuntimeError,
    InputError,
    NewerFormatError,
    NvcError,
    UsageError,
)
from .version import __version__

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
