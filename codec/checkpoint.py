"""Per-group checkpoints, so an interrupted encode resumes instead of starting over.

After every group the encoder stores the group's payload and a record (statistics, and SHA-256s of
its input frames and of the payload) in a hidden folder next to the output (``.NAME.partial/``),
one pair of files per group, beside a manifest holding every option that changes the bytes
(:func:`~nvc.codec.encoder.byte_options`: the stored config, the scene-cut threshold, device,
thread count, torch build and CPU kind).  ``--resume`` reuses every group whose input matches,
whichever process of a ``torchrun`` job stored it and whatever the job's size, and refuses options
that differ, naming the first one; with equal options the resumed file is byte-identical to an
uninterrupted one (README, "Determinism").

A lock file beside the output (``.NAME.lock``, held with ``flock`` while the encode runs) makes a
second encode to the same output refuse instead of deleting the first one's checkpoint; in a
distributed encode rank 0 holds it and the other ranks join the checkpoint it opened.  A stream
output (``/dev/null``, a FIFO) has neither: there is nothing to resume into.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from nvc.datasets.atomic import atomic_file, is_stream, sibling

from .errors import InputError, UsageError

if TYPE_CHECKING:
    from .encoder import GroupStats

__all__ = ["Checkpoint", "SavedGroup", "checkpoint_folder", "lock_file", "OPTION_NAMES"]

_MANIFEST = "manifest.json"
_VERSION = 4
OPTION_NAMES = {
    "arch": "architecture", "model": "network size (follows --quality and the frame size)",
    "group_size": "--group-size", "key_interval": "--key-interval", "tile": "tile",
    "preset": "--preset", "quality": "--quality", "rate_lambda": "rate weight (follows --quality)",
    "seed": "--seed", "nvc_version": "nvc version", "scene_cut_db": "--scenecut", "tuning": "tuning",
    "device": "--device",
    "threads": "--threads", "torch": "torch version", "cpu": "CPU kind", "bf16": "native bfloat16 (fitting precision)",
}
"""Each option recorded in the manifest, as a refused ``--resume`` names it."""


def checkpoint_folder(dest: Path) -> Path:
    return sibling(dest, "partial")


def lock_file(dest: Path) -> Path:
    return sibling(dest, "lock")


@dataclass(frozen=True)
class SavedGroup:
    """A finished group as stored in the checkpoint."""

    input_sha256: str
    payload: bytes
    stats: dict


class _Lock:
    """An exclusive ``flock`` on a file beside the output, removed when released."""

    def __init__(self, dest: Path) -> None:
        path = lock_file(dest)
        while True:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                raise InputError(f"another nvc is encoding {dest} (lock {path})") from None
            try:
                same = os.stat(path).st_ino == os.fstat(descriptor).st_ino
            except FileNotFoundError:
                same = False
            if same:  # else its holder removed it between our open and flock: take the new one
                break
            os.close(descriptor)
        self._path, self._descriptor = path, descriptor

    def release(self) -> None:
        self._path.unlink(missing_ok=True)  # while still held, so nobody locks a file about to vanish
        os.close(self._descriptor)


class Checkpoint:
    """The checkpoint folder of one output file, and the lock that makes it this encode's.

    Use as a context manager: leaving it normally removes the folder (the file is complete);
    leaving it by an exception keeps what ``--resume`` needs, or nothing when no group was stored.
    A checkpoint joined by another rank (:meth:`join`) leaves the folder to its owner.
    """

    def __init__(self, folder: Path | None, options: dict, lock: _Lock | None, owner: bool = True) -> None:
        self._folder, self._options, self._lock, self._owner = folder, options, lock, owner

    @classmethod
    def start(cls, dest: Path, options: dict, resume: bool) -> Checkpoint:
        """Lock ``dest`` and open its checkpoint: reuse it with ``resume``, else start an empty one."""
        if is_stream(dest):
            if resume:
                raise UsageError(f"--resume: {dest} is a device or pipe, which keeps no checkpoint")
            return cls.none(options)
        lock = _Lock(dest)
        try:
            return cls._open(dest, options, resume, lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def join(cls, dest: Path, options: dict) -> Checkpoint:
        """The checkpoint another process (rank 0) opened for ``dest`` with these options."""
        if is_stream(dest):
            return cls.none(options)
        folder = checkpoint_folder(dest)
        try:
            manifest = json.loads((folder / _MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot join the checkpoint of {dest}: {exc}") from None
        _check_same(manifest.get("options", {}), options)
        return cls(folder, options, None, owner=False)

    @classmethod
    def none(cls, options: dict) -> Checkpoint:
        """A checkpoint that keeps nothing, for an output that is a stream (a pipe, a device, a file object)."""
        return cls(None, options, None)

    @classmethod
    def _open(cls, dest: Path, options: dict, resume: bool, lock: _Lock) -> Checkpoint:
        folder = checkpoint_folder(dest)
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{folder} is in the way of the checkpoint folder; remove it")
        if resume and (folder / _MANIFEST).exists():
            manifest = json.loads((folder / _MANIFEST).read_text())
            if manifest.get("version") != _VERSION:
                raise UsageError(f"{dest}: the interrupted encode was made by another nvc; rerun without --resume")
            _check_same(manifest["options"], options)
            return cls(folder, options, lock)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        with atomic_file(folder / _MANIFEST) as temporary:
            temporary.write_text(json.dumps({"version": _VERSION, "options": options}, indent=1))
        return cls(folder, options, lock)

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._folder is not None and self._owner and (kind is None or not any(self._folder.glob("group-*.json"))):
            shutil.rmtree(self._folder, ignore_errors=True)
        if self._lock is not None:
            self._lock.release()

    def saved(self, index: int, input_sha256: str) -> SavedGroup | None:
        """The stored group ``index``, after checking it was made from the same input frames."""
        if self._folder is None or not (self._folder / _record_name(index)).exists():
            return None
        record = json.loads((self._folder / _record_name(index)).read_text())
        if record["input_sha256"] != input_sha256:
            raise UsageError(f"group {index}'s input frames differ from the interrupted encode; "
                             "rerun without --resume")
        payload = (self._folder / _payload_name(index)).read_bytes()
        if hashlib.sha256(payload).hexdigest() != record["payload_sha256"]:
            raise UsageError(f"checkpoint of group {index} is damaged; rerun without --resume")
        return SavedGroup(record["input_sha256"], payload, record["stats"])

    def save(self, index: int, input_sha256: str, payload: bytes, stats: GroupStats) -> None:
        """Store a finished group: its payload first, then the record that makes it a stored group."""
        if self._folder is None:
            return
        with atomic_file(self._folder / _payload_name(index)) as temporary:
            temporary.write_bytes(payload)
        record = {"input_sha256": input_sha256, "payload_sha256": hashlib.sha256(payload).hexdigest(),
                  "stats": dataclasses.asdict(stats)}
        with atomic_file(self._folder / _record_name(index)) as temporary:
            temporary.write_text(json.dumps(record, indent=1))


def _payload_name(index: int) -> str:
    return f"group-{index:06d}.bin"


def _record_name(index: int) -> str:
    return f"group-{index:06d}.json"


def _check_same(before: dict, now: dict) -> None:
    """Refuse a resume whose options differ from the interrupted encode's, naming the first that does."""
    for key in OPTION_NAMES:
        if before.get(key) != now.get(key):
            raise UsageError(f"--resume: the interrupted encode used {OPTION_NAMES[key]} = {before.get(key)!r}, "
                             f"this one {now.get(key)!r}; rerun with the same options or without --resume")
