"""Publish-or-nothing output: write under a hidden sibling name, fsync, then rename.

A crash or an exception while writing leaves the final name untouched (absent,
or its previous content) and the temporary file removed.
"""

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _sibling(path: Path) -> Path:
    """A hidden, unpredictable name in the same folder, so the final rename stays on one filesystem."""
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")


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
