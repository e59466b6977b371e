"""The README's first command: encode and decode the built-in sample clip, print what it cost.

The sample is made in code (camera motion over a scikit-image photograph), so nothing is
downloaded.  Writes OUT/sample.mkv (the original, lossless), OUT/sample.nvc and
OUT/decoded.mp4, and prints PSNR, bpp and times.
"""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction
from pathlib import Path

import nvc
from nvc.codec.metrics import score
from nvc.datasets import VideoInfo, synthetic_clip, write_video
from nvc.datasets.limits import parse_size

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("demo"))
    parser.add_argument("--size", default="256x144", help="WxH of the sample")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--preset", default=nvc.EncodeOptions.preset)
    parser.add_argument("--quality", type=int, default=nvc.EncodeOptions.quality)
    args = parser.parse_args(argv)
    width, height = parse_size(args.size)
    args.out.mkdir(parents=True, exist_ok=True)

    clip = synthetic_clip(width, height, args.frames)
    info = VideoInfo(width, height, Fraction(24))
    write_video(args.out / "sample.mkv", clip, info)
    print(f"sample: {args.frames} frames {width}x{height} -> {args.out / 'sample.mkv'}", file=sys.stderr)

    start = time.perf_counter()
    report = nvc.encode(clip, args.out / "sample.nvc", fps=24, preset=args.preset, quality=args.quality)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    decoded = list(nvc.decode(args.out / "sample.nvc"))
    decode_s = time.perf_counter() - start
    write_video(args.out / "decoded.mp4", decoded, info)

    size = (args.out / "sample.nvc").stat().st_size
    print(f"encoded  {args.out / 'sample.nvc'}: {size} bytes, {size * 8 / clip[..., 0].size:.4f} bpp, "
          f"{encode_s:.1f} s ({args.preset}, quality {args.quality})")
    print(f"decoded  {args.out / 'decoded.mp4'}: RGB PSNR {score(clip, decoded)['psnr_rgb']:.2f} dB, "
          f"{decode_s:.2f} s ({len(decoded) / decode_s:.1f} frames/s)")
    print("groups   " + ", ".join(f"{g.index}:{'key' if g.key else 'inter'} {g.bytes} B {g.psnr:.2f} dB"
                                   for g in report.groups))
    return 0


if __name__ == "__main__":
    sys.exit(main())
