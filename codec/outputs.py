"""Every path a command writes, checked before any work starts.

One rule for all of them (the main output, ``--recon``, ``--stats``, ``--logdir``): an existing
file is replaced only with ``-y``; no output may be an input or another output (compared with
``os.path.samefile``, like ffmpeg's "output same as input"); the folder an output goes into must
exist already (neither encode nor decode creates it) and be writable; and a character device or a
FIFO is written in place, while any other non-regular file is refused.  A bad option thus costs
seconds, not a whole encode.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nvc.datasets import VideoInputError, check_writable
from nvc.datasets.atomic import check_target, is_stream

from .errors import InputError, UsageError

__all__ = ["Output", "OutputKind", "check_outputs"]


OutputKind = Literal["file", "video", "folder"]


@dataclass(frozen=True)
class Output:
    """One path to write: ``option`` names it in messages ("output", "--recon", ...).

    kind: "file" (written whole: .nvc, JSON), "video" (anything ``write_video`` writes), or
    "folder" (a folder that is created if missing and appended to, like logs).
    """

    option: str
    path: str | os.PathLike[str] | None
    kind: OutputKind = "file"


def check_outputs(inputs: Iterable[object], outputs: Iterable[Output], *, overwrite: bool) -> None:
    """Refuse, with the error whose exit code fits, any output that breaks the rule above.

    Raises:
        UsageError: an output exists without ``overwrite``, is an input, or is another output.
        InputError: an output cannot be written (missing or read-only folder, a socket, ...).
    """
    sources = [source for source in inputs if isinstance(source, (str, os.PathLike))]
    checked: list[Output] = []
    for output in outputs:
        path = output.path
        if path is None:
            continue
        if output.kind != "folder" and os.path.lexists(path) and not overwrite:
            raise UsageError(f"{path} exists (use -y to overwrite)")
        for source in sources:
            if _same(path, source):
                raise UsageError(f"{output.option} {path} is the input; write it elsewhere")
        for other in checked:
            assert other.path is not None  # only outputs with a path are checked
            if _same(path, other.path):
                raise UsageError(f"{other.option} and {output.option} are the same file {output.path}")
        checked.append(output)
    for output in checked:
        _check_writable(output)


def _same(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): the same only if they name the same place
        return os.path.abspath(a) == os.path.abspath(b)


def _check_writable(output: Output) -> None:
    assert output.path is not None  # only outputs with a path are checked
    path = Path(output.path)
    if output.kind == "folder":
        _check_folder(output.option, path)
        return
    if not is_stream(path):
        _check_writable_folder(output.option, Path(os.path.abspath(path)).parent)
    try:
        if output.kind == "video":
            check_writable(path)
        else:
            check_target(path)
    except VideoInputError as exc:
        raise InputError(f"{output.option}: {exc}") from None
    except OSError as exc:
        raise InputError(f"{output.option} {path}: {exc.strerror}") from None


def _check_folder(option: str, path: Path) -> None:
    """A folder to write into: an existing one, or one whose nearest existing parent is writable."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path}: exists and is not a folder")
    existing = Path(os.path.abspath(path))
    while not existing.exists():
        existing = existing.parent
    _check_writable_folder(option, existing)


def _check_writable_folder(option: str, folder: Path) -> None:
    if not folder.is_dir():
        raise InputError(f"{option}: folder {folder} does not exist (nvc does not create it)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option}: folder {folder} is not writable")
