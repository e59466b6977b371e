"""SIGTERM and SIGHUP end a command the way Ctrl-C does.

``timeout``, ``kill``, ``docker stop``, systemd and a closed terminal send SIGTERM or SIGHUP, whose
default action kills the process on the spot and leaves hidden temporary files behind.  While
:func:`terminations_interrupt` is active they raise :class:`Terminated` instead, a
``KeyboardInterrupt``, so every ``finally`` and cleanup that handles Ctrl-C runs for them too; the
CLI then exits with 128 + the signal's number, as a shell reports a process killed by it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Terminated", "terminations_interrupt", "exit_code_of"]

from .errors import EXIT_INTERRUPTED

_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by ``signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise Terminated(signum)


@contextmanager
def terminations_interrupt() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_code_of(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal that stopped the command (SIGINT for a plain Ctrl-C)."""
    return 128 + interrupt.signum if isinstance(interrupt, Terminated) else EXIT_INTERRUPTED
