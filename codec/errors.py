"""nvc's exception hierarchy: one base class, one exit code per kind of failure.

The CLI maps each class to its exit code and prints the message on one line; library users catch
:class:`NvcError` (or a subclass) and never see the exceptions of the libraries underneath.
"""

from __future__ import annotations

__all__ = [
    "NvcError",
    "UsageError",
    "InputError",
    "BitstreamError",
    "NewerFormatError",
    "CodecRuntimeError",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_INPUT",
    "EXIT_BITSTREAM",
    "EXIT_RUNTIME",
    "EXIT_INTERRUPTED",
    "is_out_of_memory",
]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_BITSTREAM = 4
EXIT_RUNTIME = 5
EXIT_INTERRUPTED = 130


class NvcError(Exception):
    """Base of every error nvc raises on purpose."""

    exit_code = EXIT_RUNTIME


class UsageError(NvcError):
    """Options that contradict each other or lie outside their documented range."""

    exit_code = EXIT_USAGE


class InputError(NvcError):
    """An input video (or output path) that cannot be read, is unsupported, or is refused."""

    exit_code = EXIT_INPUT


class BitstreamError(NvcError):
    """A corrupt, truncated or unsupported .nvc file.

    Attributes:
        field: the bitstream field that failed its check.
        offset: byte offset in the file where that field starts.
    """

    exit_code = EXIT_BITSTREAM

    def __init__(self, message: str, *, field: str, offset: int) -> None:
        super().__init__(f"{message} (field '{field}', byte {offset})")
        self.field = field
        self.offset = offset


class NewerFormatError(BitstreamError):
    """The file needs a newer nvc to be read."""


class CodecRuntimeError(NvcError):
    """A failure while fitting or rendering that is not the input's fault."""

    exit_code = EXIT_RUNTIME


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocator giving up (Python's and numpy's MemoryError, torch's CPU and CUDA
    allocators), which is the machine's limit, not a bug: the CLI reports it as exit code 5."""
    return (isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"
            or "can't allocate memory" in str(exc))
