"""Keep freed memory in the process between rendered frames (glibc only).

Every rendered frame allocates and frees the same few feature maps of a few to a few tens of MiB.
glibc's defaults serve such blocks with fresh mappings and hand freed heap back to the kernel, so
each frame faults its maps in again page by page: at 640x272 on two threads that was a quarter of
a fresh process's decode time (docs/benchmarks.md).  Pinning the two thresholds lets the heap keep
and reuse those pages; peak memory still follows the largest working set, not the video's length.
The arithmetic, and so every frame, is unchanged.  (A fit, thousands of steps in one process, was
no faster with it: glibc's own adaptive threshold settles over a long run.)

Applied once per process when nvc decodes, unless the user has tuned glibc's allocator (its
``MALLOC_*`` variables or ``glibc.malloc`` tunables): their choice wins.  Elsewhere (another C
library, another system) it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Mapping

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
"""Blocks up to this size come from the heap, not a fresh mapping (glibc's ceiling on 64-bit)."""
TRIM_THRESHOLD = 256 << 20
"""Free memory at the top of the heap is handed back to the kernel only beyond this."""
_USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


@functools.cache
def keep_freed_memory() -> bool:
    """Pin glibc's mmap and trim thresholds for this process; True if they were set."""
    return _pin_thresholds(os.environ)


def _pin_thresholds(environ: Mapping[str, str]) -> bool:
    if any(name in environ for name in _USER_SETTINGS) or "glibc.malloc." in environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - raises AttributeError outside glibc
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # TypeError: no process handle (Windows)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
