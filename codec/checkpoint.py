"""Per-group checkpoints, so an interrupted encode resumes instead of starting over.

After every group the encoder stores the group's payload and statistics in a hidden folder next
to the output (``.NAME.partial/``), with a manifest holding the stored config and a SHA-256 of
each group's input frames.  ``--resume`` reuses the groups whose input and config match; since
fitting is seeded per group, the resumed file is byte-identical to an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from nvc.datasets.atomic import atomic_file

from .errors import UsageError

__all__ = ["Checkpoint", "SavedGroup", "checkpoint_folder"]

_MANIFEST = "manifest.json"
_VERSION = 2


def checkpoint_folder(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.partial")


@dataclass(frozen=True)
class SavedGroup:
    """A finished group as stored in the checkpoint."""

    input_sha256: str
    payload: bytes
    stats: dict


class Checkpoint:
    """The checkpoint folder of one output file."""

    def __init__(self, folder: Path, config: str, groups: list[dict]) -> None:
        self._folder, self._config, self._groups = folder, config, groups

    @classmethod
    def start(cls, dest: Path, config: bytes, resume: bool) -> "Checkpoint":
        """Open the checkpoint for ``dest``: reuse it with ``resume``, else start an empty one."""
        folder = checkpoint_folder(dest)
        text = config.decode()
        if resume and (folder / _MANIFEST).exists():
            manifest = json.loads((folder / _MANIFEST).read_text())
            if manifest.get("version") != _VERSION or manifest.get("config") != text:
                raise UsageError(f"{dest}: the interrupted encode used other options; rerun without --resume")
            return cls(folder, text, manifest["groups"])
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        checkpoint = cls(folder, text, [])
        checkpoint._write_manifest()
        return checkpoint

    def saved(self, index: int, input_sha256: str) -> SavedGroup | None:
        """The stored group ``index``, after checking it was made from the same input frames."""
        if index >= len(self._groups):
            return None
        record = self._groups[index]
        if record["input_sha256"] != input_sha256:
            raise UsageError(f"group {index}'s input frames differ from the interrupted encode; "
                             "rerun without --resume")
        payload = (self._folder / record["payload"]).read_bytes()
        if hashlib.sha256(payload).hexdigest() != record["payload_sha256"]:
            raise UsageError(f"checkpoint of group {index} is damaged; rerun without --resume")
        return SavedGroup(record["input_sha256"], payload, record["stats"])

    def save(self, index: int, input_sha256: str, payload: bytes, stats: object) -> None:
        """Store a finished group (payload first, then the manifest that names it)."""
        name = f"group-{index:06d}.bin"
        with atomic_file(self._folder / name) as temporary:
            temporary.write_bytes(payload)
        self._groups = self._groups[:index] + [{
            "input_sha256": input_sha256,
            "payload": name,
            "payload_sha256": hashlib.sha256(payload).hexdigest(),
            "stats": dataclasses.asdict(stats),
        }]
        self._write_manifest()

    def remove(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)

    def _write_manifest(self) -> None:
        doc = {"version": _VERSION, "config": self._config, "groups": self._groups}
        with atomic_file(self._folder / _MANIFEST) as temporary:
            temporary.write_text(json.dumps(doc, indent=1))
