"""Progress as events: the library prints nothing and hands each event to an ``on_progress`` callback.

An encode sends a :class:`FitProgress` at every evaluation of a group's fit and the group's
:class:`~nvc.codec.encoder.GroupStats` when it is coded (in a distributed encode, rank 0 also sends
a :class:`JobProgress` as the job's groups get done, whichever rank codes them); a decode sends a
:class:`DecodeProgress` per group rendered.  :func:`progress_bars` shows them as tqdm bars and :func:`json_lines` as one
JSON object per line (``nvc --progress json``, for GUIs and job runners), both on stderr.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO, Union

from .jsontext import dumps

if TYPE_CHECKING:
    from .encoder import GroupStats

__all__ = ["FitProgress", "JobProgress", "DecodeProgress", "ProgressEvent", "OnProgress", "combined", "job_only",
           "progress_bars", "json_lines"]


@dataclass(frozen=True)
class FitProgress:
    """An evaluation while fitting group ``group``: ``iteration`` of ``iterations`` done."""

    group: int
    iteration: int
    iterations: int
    psnr: float
    bits: float


@dataclass(frozen=True)
class JobProgress:
    """A distributed encode: ``groups_done`` of the job's ``groups`` coded (None: the input did not say)."""

    groups_done: int
    groups: int | None


@dataclass(frozen=True)
class DecodeProgress:
    """Group ``group`` rendered: ``frames_done`` of the ``frames`` asked for are out."""

    group: int
    frames_done: int
    frames: int


ProgressEvent = Union[FitProgress, "GroupStats", JobProgress, DecodeProgress]
OnProgress = Callable[[ProgressEvent], None]

_EVENT_NAMES = {FitProgress: "fit", JobProgress: "job", DecodeProgress: "decode"}


def event_name(event: ProgressEvent) -> str:
    """The ``event`` field of a JSON line: "fit", "group", "job" or "decode"."""
    return _EVENT_NAMES.get(type(event), "group")


def json_lines(stream: TextIO | None = None) -> OnProgress:
    """A callback printing each event as one JSON object on a line of ``stream`` (stderr)."""

    def report(event: ProgressEvent) -> None:
        print(dumps({"event": event_name(event), **dataclasses.asdict(event)}), file=stream or sys.stderr, flush=True)

    return report


class _Bars:
    """tqdm bars on stderr: one per group while it is fitted, one for a whole decode or distributed encode."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._key: tuple[str, int] | None = None

    def _open(self, key: tuple[str, int], total: int, label: str, unit: str) -> Any:
        if self._key != key:
            self.close()
            from tqdm import tqdm

            self._bar, self._key = tqdm(total=total, desc=label, file=sys.stderr, unit=unit, leave=False), key
        return self._bar

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._key = None, None

    def __call__(self, event: ProgressEvent) -> None:
        if isinstance(event, FitProgress):
            bar = self._open(("fit", event.group), event.iterations, f"group {event.group + 1}", "it")
            bar.update(event.iteration - bar.n)
            bar.set_postfix(psnr=f"{event.psnr:.2f}", kbit=f"{event.bits / 1000:.1f}")
        elif isinstance(event, JobProgress):
            bar = self._open(("job", 0), event.groups or 0, "encode", "group")
            bar.total = event.groups  # None when the input does not say how long it is
            bar.update(event.groups_done - bar.n)
            if event.groups_done == event.groups:
                self.close()
        elif isinstance(event, DecodeProgress):
            bar = self._open(("decode", 0), event.frames, "decode", "frame")
            bar.update(event.frames_done - bar.n)
            if event.frames_done == event.frames:
                self.close()
        else:
            self.close()


def progress_bars() -> OnProgress:
    """A callback drawing tqdm bars on stderr."""
    return _Bars()


def job_only(callback: OnProgress | None) -> OnProgress | None:
    """``callback`` fed only the job's overall progress: what rank 0 of a distributed encode shows,
    where one bar per rank (or per group of one rank) would be noise."""
    if callback is None:
        return None

    def report(event: ProgressEvent) -> None:
        if isinstance(event, JobProgress):
            callback(event)

    return report


def combined(*callbacks: OnProgress | None) -> OnProgress | None:
    """One callback calling each given one in turn (None when none is given)."""
    present = [callback for callback in callbacks if callback is not None]
    if not present:
        return None

    def report(event: ProgressEvent) -> None:
        for callback in present:
            callback(event)

    return report
