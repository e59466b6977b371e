"""Write a tiny stand-in for UVG: raw 8-bit yuv420p files with UVG's file names but small frames.

Docs and tests run the UVG code path in seconds with it; the content is nvc.datasets.synthetic_clip
(one pan direction per sequence). The names still say 1920x1080, so the benchmark must be told the
real size:

    python -m tools.make_tiny_uvg /tmp/tiny-uvg --size 64x48 --frames 4
    python -m tools.benchmark --uvg /tmp/tiny-uvg --uvg-size 64x48 --frames 0 --out /tmp/tiny-bench
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

from nvc.datasets import UVG_FRAMES, VideoInfo, synthetic_clip, uvg_filename, write_video

from .cli import HelpFormatter, parse_size

__all__ = ["make_tiny_uvg", "main"]

UVG_FPS = Fraction(120)


def make_tiny_uvg(folder: Path, size: tuple[int, int], frames: int, names: list[str] | None = None) -> list[Path]:
    """Write each named UVG sequence (default: all seven) as ``frames`` synthetic frames of ``size``."""
    unknown = set(names or []) - set(UVG_FRAMES)
    if unknown:
        raise ValueError(f"not UVG sequences: {', '.join(sorted(unknown))}; choose from {', '.join(UVG_FRAMES)}")
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    paths = []
    for seed, name in enumerate(UVG_FRAMES):
        if names and name not in names:
            continue
        path = folder / uvg_filename(name)
        write_video(path, synthetic_clip(width, height, frames, seed=seed), VideoInfo(width, height, UVG_FPS))
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.make_tiny_uvg", description=__doc__,
                                     formatter_class=HelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--size", type=parse_size, default=(64, 48), metavar="WxH")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--names", help="comma-separated UVG sequence names (default: all seven)")
    args = parser.parse_args(argv)
    try:
        paths = make_tiny_uvg(args.folder, args.size, args.frames, args.names.split(",") if args.names else None)
    except ValueError as error:
        parser.error(str(error))
    for path in paths:
        print(path, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
