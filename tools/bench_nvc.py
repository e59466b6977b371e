"""Measure one nvc rate point: encode a clip to a real file, decode it, score it.

The decode runs in a child process, so its peak resident memory is the decoder's alone.
Bits per pixel come from the size of the file on disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

import nvc

__all__ = ["encode_point", "decode_stats"]


def encode_point(clip: np.ndarray, fps: int, dest: Path, *, preset: str, quality: int,
                 threads: int = 2, **options) -> dict:
    """Encode ``clip`` at one quality, then decode the file in a child process; returns a result row."""
    torch.set_num_threads(threads)
    start = time.perf_counter()
    report = nvc.encode(clip, dest, fps=fps, preset=preset, quality=quality, progress=False, **options)
    encode_s = time.perf_counter() - start
    decoded = decode_stats(dest, threads)
    frames, height, width = clip.shape[:3]
    return {
        "codec": "nvc",
        "setting": f"{preset}-q{quality}",
        "preset": preset,
        "quality": quality,
        "frames": frames,
        "width": width,
        "height": height,
        "bytes": dest.stat().st_size,
        "bpp": dest.stat().st_size * 8 / (frames * height * width),
        "encoder_psnr_rgb": report.psnr,
        "encode_s": encode_s,
        "file": str(dest),
        "groups": [vars(g) for g in report.groups],
        **decoded,
    }


def decode_stats(path: Path, threads: int = 2) -> dict:
    """Decode ``path`` in a fresh interpreter: seconds, frames/s and peak RSS (MiB)."""
    code = (
        "import sys, time, json, resource, torch, nvc\n"
        f"torch.set_num_threads({threads})\n"
        "t = time.perf_counter(); n = sum(1 for _ in nvc.decode(sys.argv[1])); s = time.perf_counter() - t\n"
        "print(json.dumps({'decode_s': s, 'decode_fps': n / s,"
        " 'decode_peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])

