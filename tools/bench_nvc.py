"""Measure one nvc rate point: encode a clip to a real file, decode it, score it.

The timed decode runs in a child process, so its peak resident memory is the decoder's alone;
scoring decodes the file once more in this process. Bits per pixel come from the size of the
file on disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

import nvc
from nvc.codec.metrics import score
from nvc.codec.rate import Tuning

from .revision import Installed

__all__ = ["encode_point", "decode_stats", "score_file", "nvc_setting", "nvc_curve"]


def _variant(group_size: int | None, key_interval: int | None, tuning: Sequence[str]) -> str:
    """Suffix naming a grouping or tuning other than the codec's default, e.g. `-gs4`, `-ki1`, `-arch=hnerv-grid`."""
    return (("" if group_size is None else f"-gs{group_size}") + ("" if key_interval is None else f"-ki{key_interval}")
            + "".join(f"-{item}" for item in tuning))


def nvc_curve(preset: str, group_size: int | None = None, key_interval: int | None = None,
              tuning: Sequence[str] = ()) -> str:
    """Name of the RD curve of one preset, e.g. `nvc-medium` (`nvc-fast-gs4`, `nvc-medium-arch=hnerv-grid`)."""
    return f"nvc-{preset}" + _variant(group_size, key_interval, tuning)


def nvc_setting(preset: str, quality: int, group_size: int | None = None, key_interval: int | None = None,
                tuning: Sequence[str] = ()) -> str:
    """The results' `setting` of one point, e.g. `medium-q28` (`fast-q28-gs4`, `medium-q28-arch=hnerv-grid`)."""
    return f"{preset}-q{quality}" + _variant(group_size, key_interval, tuning)


def encode_point(clip: np.ndarray, fps: Fraction | int, dest: Path, *, preset: str, quality: int,
                 group_size: int | None = None, key_interval: int | None = None, tuning: Sequence[str] = (),
                 threads: int = 2, **options) -> dict:
    """Encode ``clip`` at one quality, decode and score the file; returns a result row.

    ``group_size`` and ``key_interval`` None keep the codec's defaults; ``tuning`` holds
    nvc.codec.rate.Tuning ``NAME=VALUE`` items (design experiments); ``options`` are further
    nvc.encode options.
    """
    torch.set_num_threads(threads)
    if group_size is not None:
        options["group_size"] = group_size
    if key_interval is not None:
        options["key_interval"] = key_interval
    start = time.perf_counter()
    report = nvc.encode(clip, dest, fps=fps, preset=preset, quality=quality, progress=False,
                        tuning=Tuning.parse(tuning), **options)
    encode_s = time.perf_counter() - start
    decoded = decode_stats(dest, threads)
    frames, height, width = clip.shape[:3]
    return {
        "codec": "nvc",
        "setting": nvc_setting(preset, quality, group_size, key_interval, tuning),
        "curve": nvc_curve(preset, group_size, key_interval, tuning),
        "preset": preset,
        "quality": quality,
        "options": dict(options),
        "tuning": list(tuning),
        "threads": threads,
        "frames": frames,
        "width": width,
        "height": height,
        "bytes": dest.stat().st_size,
        "bpp": dest.stat().st_size * 8 / (frames * height * width),
        "encoder_psnr_rgb": report.psnr,
        "encode_s": encode_s,
        "encode_fps": frames / encode_s,
        "file": str(dest),
        "groups": [vars(g) for g in report.groups],
        **decoded,
        **score_file(clip, dest),
    }


def score_file(clip: np.ndarray, path: Path) -> dict[str, float]:
    """Every metric of nvc.codec.metrics.score for the decoded file against ``clip``."""
    return score(clip, nvc.decode(path))


def decode_stats(path: Path, threads: int = 2, revision: Installed | None = None) -> dict:
    """Decode ``path`` in a fresh interpreter: seconds, frames/s and peak RSS (MiB); by the code of
    an installed ``revision`` if given, else the working tree's.

    Peak RSS is the child's VmHWM: on Linux ``ru_maxrss`` survives exec, so a child started by a
    large benchmark process would report the parent's peak instead of the decoder's.
    """
    code = (
        "import sys, time, json, resource, torch, nvc\n"
        f"torch.set_num_threads({threads})\n"
        "t = time.perf_counter(); n = sum(1 for _ in nvc.decode(sys.argv[1])); s = time.perf_counter() - t\n"
        "try:\n"
        "    with open('/proc/self/status') as status:\n"
        "        peak = next(int(line.split()[1]) for line in status if line.startswith('VmHWM:')) / 1024\n"
        "except (OSError, StopIteration):\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'decode_s': s, 'decode_fps': n / s, 'decode_peak_rss_mib': peak}))\n"
    )
    folder, env = revision if revision is not None else (None, None)
    out = subprocess.run([sys.executable, "-c", code, str(Path(path).resolve())], cwd=folder, env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
