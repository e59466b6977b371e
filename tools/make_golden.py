"""Make the golden files of this format version, tests/golden/vN/ (ONLY for a new format version).

    OMP_NUM_THREADS=1 python -m tools.make_golden            # writes tests/golden/v<FORMAT_VERSION>/
    OMP_NUM_THREADS=1 python -m tools.make_golden --add      # encodes only the set's missing files
    OMP_NUM_THREADS=1 python -m tools.make_golden --check --out tests/golden/v1
                                                             # recompute a set's JSON from its
                                                             # committed files and compare

The golden files pin the decoder: tests/codec/test_golden.py decodes the committed .nvc files of
every format version and compares the entropy-decoded symbols (exactly) and the rendered frames
(exactly, or within 1 where float rounding differs between CPUs) with what is stored here.
Fitting is not bit-exact across machines, so the .nvc files themselves are committed; a new set
is made once per deliberate format change, with a new FORMAT_VERSION and a changelog line, and the
older versions' sets stay: the reader must keep decoding them.

Files (all tiny, preset ultrafast, one frame per group so every group is its own network):

- ``key8x8.nvc``: 8x8, 1 frame, one key group (the smallest valid file; the bit-flip tests use it).
- ``inter16x8.nvc``: 16x8, 3 frames, key interval 3: a key group then two groups that start from
  their predecessor, with tensors coded as residuals against it (in v1 most of them, in v2 a few:
  the encoder's inter groups relearn their steps).
- ``grid24x16.nvc`` (since version 2): 24x16, 3 frames, inter16x8's grouping, architecture
  ``hnerv-grid`` (24x16 is about the smallest frame whose network has an untiled stage, so a
  learned grid); added to the v2 set with ``--add`` when it became the encoder's default.
- ``golden.json``: per file, its sha256, the sha256 of every group's symbols (every tensor in
  coding order, each symbol as a little-endian int32), the sha256 of its steps (little-endian
  float32) and the sha256 of the decoded frames (uint8, T x H x W x 3, C order).
- ``<name>.frames.npy``: the decoded frames (``np.save``, no pickle).

The v3 set holds the same three files. None of them takes table kind 2 (per-channel tables pay
only on networks far larger than these); tests/entropy/test_sliced.py pins its rules.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

import nvc
from nvc.codec.decoder import Decoder
from nvc.codec.rate import Tuning
from nvc.datasets import synthetic_clip

__all__ = ["GOLDEN", "golden_names", "main", "describe", "symbols_sha256", "steps_sha256", "frames_sha256"]

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "tests" / "golden" / f"v{nvc.FORMAT_VERSION}"

GOLDEN = {
    "key8x8.nvc": dict(size=(8, 8), frames=1, seed=1, group_size=1, key_interval=1, arch="hnerv", since=1),
    "inter16x8.nvc": dict(size=(16, 8), frames=3, seed=2, group_size=1, key_interval=3, arch="hnerv", since=1),
    "grid24x16.nvc": dict(size=(24, 16), frames=3, seed=2, group_size=1, key_interval=3, arch="hnerv-grid", since=2),
}
"""File name -> how it is made; ``since``: the first format version whose set holds it."""


def golden_names(version: int) -> list[str]:
    """The files of format version ``version``'s golden set, sorted."""
    return sorted(name for name, spec in GOLDEN.items() if spec["since"] <= version)


def symbols_sha256(symbols: dict) -> str:
    """sha256 of a group's symbols: every tensor in coding order, little-endian int32."""
    digest = hashlib.sha256()
    for coded in symbols.values():
        digest.update(coded.symbols.numpy().astype("<i4").tobytes())
    return digest.hexdigest()


def steps_sha256(symbols: dict) -> str:
    """sha256 of a group's quantization steps, little-endian float32, in coding order."""
    return hashlib.sha256(np.asarray([c.step for c in symbols.values()], dtype="<f4").tobytes()).hexdigest()


def frames_sha256(frames: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(frames, dtype=np.uint8).tobytes()).hexdigest()


def describe(path: Path) -> tuple[dict, np.ndarray]:
    """The JSON entry of one golden file, and its decoded frames."""
    with Decoder(path) as decoder:
        groups = []
        for group in decoder.bitstream.groups:
            symbols = decoder.group_symbols(group)
            groups.append({"index": group.index, "key": group.key, "symbols_sha256": symbols_sha256(symbols),
                           "steps_sha256": steps_sha256(symbols)})
        frames = np.stack(list(decoder.frames()))
    entry = {"file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": path.stat().st_size,
             "frames_shape": list(frames.shape), "groups": groups, "frames_sha256": frames_sha256(frames),
             "frames_npy": path.name.removesuffix(".nvc") + ".frames.npy"}
    return entry, frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=FOLDER)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="recompute the JSON of the committed files, compare")
    mode.add_argument("--add", action="store_true", help="encode only the files missing from --out, keep the others")
    args = parser.parse_args(argv)
    target = args.out / "golden.json"
    stored = json.loads(target.read_text()) if args.check else None
    if args.add and target.exists() and json.loads(target.read_text())["format_version"] != nvc.FORMAT_VERSION:
        parser.error(f"--add encodes files of format version {nvc.FORMAT_VERSION}; {args.out} holds another version")
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    doc = {"format_version": stored["format_version"] if stored else nvc.FORMAT_VERSION,
           "note": "regenerate only with tools/make_golden.py, and only when the format changes on purpose",
           "files": {}}
    for name in golden_names(doc["format_version"]):
        spec, path = GOLDEN[name], args.out / name
        made = not args.check and not (args.add and path.exists())
        if made:
            width, height = spec["size"]
            clip = synthetic_clip(width, height, spec["frames"], seed=spec["seed"])
            nvc.encode(clip, path, fps=25, preset="ultrafast", group_size=spec["group_size"],
                       key_interval=spec["key_interval"], tile=16, progress=False, tuning=Tuning(arch=spec["arch"]))
        entry, frames = describe(path)
        doc["files"][name] = entry
        if made:
            np.save(args.out / entry["frames_npy"], frames, allow_pickle=False)
        print(f"{name}: {entry['bytes']} bytes, {len(entry['groups'])} groups, frames {entry['frames_sha256'][:16]}")
    if stored is not None:
        if stored != doc:
            print("golden.json differs from what the committed files decode to", file=sys.stderr)
            return 1
        print("golden.json matches")
        return 0
    target.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
