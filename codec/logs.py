"""Warnings from the library (logger ``nvc``) as one line each on the CLI's stderr.

The readers in nvc.datasets warn through ``logging`` (a truncated container, ...): a library user
sees the bare message on stderr through logging's last-resort handler or routes it anywhere; the
CLI prints it as ``nvc: warning: ...`` and drops it under ``--quiet``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["warnings_to_stderr", "quiet_warnings"]

_LOGGER = logging.getLogger("nvc")


@contextmanager
def warnings_to_stderr() -> Iterator[None]:
    """Inside the block, the ``nvc`` logger's warnings go to the current stderr, prefixed ``nvc: warning:``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("nvc: warning: %(message)s"))
    saved = _LOGGER.level, _LOGGER.propagate
    _LOGGER.addHandler(handler)
    _LOGGER.propagate = False
    _LOGGER.setLevel(logging.WARNING)
    try:
        yield
    finally:
        _LOGGER.removeHandler(handler)
        _LOGGER.setLevel(saved[0])
        _LOGGER.propagate = saved[1]


def quiet_warnings(quiet: bool) -> None:
    """Under ``--quiet`` only errors reach stderr."""
    if quiet:
        _LOGGER.setLevel(logging.ERROR)
