"""What ``nvc info`` says about a file: readable lines, and the same facts as a JSON document."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from .api import FileInfo, GroupInfo

__all__ = ["info_dict", "info_lines", "group_line", "plural"]


def plural(count: int, noun: str) -> str:
    """'1 group', '2 groups'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def info_dict(info: FileInfo, groups: Sequence[GroupInfo] | None = None) -> dict[str, Any]:
    """The JSON document of ``nvc info --json`` (with ``groups_detail`` under ``--groups``)."""
    doc = {
        "format_version": info.format_version,
        "width": info.width,
        "height": info.height,
        "fps": str(info.fps),
        "frames": info.frames,
        "groups": info.groups,
        "key_groups": info.key_groups,
        "colour": {"matrix": info.colour_matrix, "full_range": info.full_range},
        "config": json.loads(json.dumps(dataclasses.asdict(info.config))),
        "encoder": dataclasses.asdict(info.encoder),
        "bytes": {"file": info.file_bytes, "header": info.header_bytes, "groups": info.group_bytes,
                  "index": info.file_bytes - info.header_bytes - info.group_bytes},
        "bpp": info.bpp,
    }
    if groups is not None:
        doc["groups_detail"] = [dataclasses.asdict(group) for group in groups]
    return doc


def group_line(group: GroupInfo) -> str:
    """One group: its frames, key or inter (with its residual tensors), bytes and bpp."""
    last = group.first_frame + group.frame_count - 1
    kind = "key" if group.key else f"inter, {group.residual_tensors}/{group.coded_tensors} tensors residual"
    return (f"group {group.index}: frames {group.first_frame}-{last} ({group.frame_count}), {kind}, "
            f"{group.bytes} bytes, {group.bpp:.4f} bpp")


def info_lines(name: str, info: FileInfo, groups: Sequence[GroupInfo] | None = None) -> list[str]:
    """The text of ``nvc info``: one fact per line, no Python reprs."""
    seconds = float(info.frames / info.fps)
    colour = f"{info.colour_matrix.upper().replace('BT', 'BT.')} {'full' if info.full_range else 'limited'} range"
    encoder = info.encoder
    kbps = info.file_bytes * 8 / seconds / 1000
    lines = [
        f"{name}: nvc file, format version {info.format_version}",
        f"video:   {info.width}x{info.height}, {info.fps} fps, {plural(info.frames, 'frame')} ({seconds:.2f} s), "
        f"{colour}",
        f"groups:  {plural(info.groups, 'group')} of up to {info.config.group_size} frames, "
        f"{plural(info.key_groups, 'key group')} (one every {info.config.key_interval})",
        f"size:    {info.file_bytes} bytes (header {info.header_bytes}, groups {info.group_bytes}, "
        f"index {info.file_bytes - info.header_bytes - info.group_bytes}), {info.bpp:.4f} bpp, {kbps:.1f} kbit/s",
        f"model:   {info.config.arch}, {info.config.model.summary()}, tile {info.config.tile}",
        f"encoder: nvc {encoder.nvc_version or 'unknown'}, preset {encoder.preset}, quality {encoder.quality}, "
        f"seed {encoder.seed}",
    ]
    return lines + [group_line(group) for group in groups or ()]
