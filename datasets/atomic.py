"""Publish-or-nothing output: write under a hidden sibling name, fsync, then rename.

A crash or an exception while writing leaves the final name untouched (absent,
or its previous content) and the temporary file removed.  A character device or
a FIFO (/dev/null, a named pipe, a terminal) cannot be replaced that way and is
never renamed over: output_file writes to it directly, as a stream.
"""

import hashlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

_LONG_NAME = 64
"""Names at least this long get siblings no longer than themselves (a name may be near the 255-byte limit)."""


def sibling(path: Path, tag: str) -> Path:
    """A hidden name beside `path` ending in `tag`; never longer than the name itself when that is long.

    A long name keeps its start and gets a digest of the whole name, so two long names that share a
    start still get different siblings.
    """
    path = Path(os.path.abspath(path))  # "." and "x/.." have no name of their own
    name = f".{path.name}.{tag}"
    if len(path.name) >= _LONG_NAME and len(name) > len(path.name):
        digest = hashlib.sha256(os.fsencode(path.name)).hexdigest()[:8]
        keep = len(path.name) - len(digest) - len(tag) - 3
        name = f".{path.name[:keep]}.{digest}.{tag}"
    return path.with_name(name)


def _sibling(path: Path) -> Path:
    """A hidden, unpredictable name in the same folder, so the final rename stays on one filesystem."""
    return sibling(path, f"{secrets.token_hex(8)}.tmp")


def is_stream(path: Path) -> bool:
    """Whether `path` is a character device or a FIFO: written in place, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def check_target(path: Path) -> None:
    """Refuse a target that is neither absent, a regular file, nor a stream (a socket, a block device).

    Raises:
        IsADirectoryError, OSError: naming the path.
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(0, "is a folder", str(path))
    if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        raise OSError(0, "is not a regular file, a character device or a FIFO; refusing to replace it", str(path))


@contextmanager
def direct_file(path: Path) -> Iterator[Path]:
    """Yield `path` itself to be written in place: for streams, which have nothing to publish or undo."""
    yield path


def output_file(path: Path, *, direct: bool = False) -> AbstractContextManager[Path]:
    """The context a writer of `path` uses: atomic_file, or direct_file for a stream or when `direct`
    (e.g. /dev/stdout for "-", which may be a regular file that must not be renamed over)."""
    if direct:
        return direct_file(path)
    check_target(path)
    return direct_file(path) if is_stream(path) else atomic_file(path)


def _fsync(path: Path) -> None:
    """Flush a file's or folder's data and metadata to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a new empty temporary path; on success it replaces `path`, on failure it is deleted."""
    path = Path(os.path.abspath(path))
    temporary = _sibling(path)
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # umask applies
    try:
        yield temporary
        _fsync(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync(path.parent)


@contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """Yield a new empty temporary folder whose files are published into `path` on success.

    A new folder is renamed into place as a whole; into an existing folder the
    files are renamed one by one (each atomically), leaving its other files alone.
    """
    path = Path(os.path.abspath(path))
    temporary = _sibling(path)
    temporary.mkdir()
    try:
        yield temporary
        for item in temporary.iterdir():
            _fsync(item)
        if path.exists():
            for item in sorted(temporary.iterdir()):
                os.replace(item, path / item.name)
            temporary.rmdir()
        else:
            os.replace(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    _fsync(path)
    _fsync(path.parent)
