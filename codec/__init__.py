"""nvc.codec: the file format, the encoder and decoder, the public API and the CLI.

Uses models/ (networks and fitting), entropy/ (integer tables and rANS), datasets/ (video files
in and out) and cuda_ext/ (fused operations).  The .nvc format lives here alone: models/ and
entropy/ know tensors and bytes, never files.

The names below load on first use (PEP 562), so ``import nvc`` and ``nvc --help`` do not wait
for torch; editors and type checkers see them through the ``TYPE_CHECKING`` imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nvc._lazy import lazy_names

from .container import FORMAT_VERSION
from .errors import (
    BitstreamError,
    CodecRuntimeError,
    InputError,
    NewerFormatError,
    NvcError,
    UsageError,
)
from .version import __version__

if TYPE_CHECKING:
    from .api import FileInfo, GroupInfo, VideoFile, decode, encode, open
    from .encoder import EncodeOptions, EncodeReport, GroupStats
    from .progress import DecodeProgress, FitProgress

_LAZY = {
    "FileInfo": ".api", "GroupInfo": ".api", "VideoFile": ".api", "decode": ".api", "encode": ".api",
    "open": ".api", "EncodeOptions": ".encoder", "EncodeReport": ".encoder", "GroupStats": ".encoder",
    "DecodeProgress": ".progress", "FitProgress": ".progress",
}

__all__ = [
    "FORMAT_VERSION",
    "BitstreamError",
    "CodecRuntimeError",
    "DecodeProgress",
    "EncodeOptions",
    "EncodeReport",
    "FileInfo",
    "FitProgress",
    "GroupInfo",
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


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
