"""Fitting throughput: iterations per second of tunings of the same fit, measured side by side.

Each run fits one group (the first ``--frames`` frames of a clip of tools.ab) from the same seed
for ``--iterations`` iterations with one evaluation at the end; the tunings take turns, so a
noisy machine slows them alike. Prints the median iterations per second of each and its ratio
to the first.

    python -m tools.fit_bench --clip bikes --iterations 60 --runs 3 --tunings precision=float32 ""

``--baseline-rev REV`` also times tunings of the code at a git revision (798cfd9 or later), installed
into a temporary folder and run in its own process, taking turns with the working tree's: a change to
the fitting code is then measured against the code before it, not against another tuning of itself.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import torch

from nvc.codec.config import CodecConfig
from nvc.codec.rate import Tuning, fit_settings, model_for_video
from nvc.codec.render import build_network
from nvc.models import fit_group

from .ab import CLIPS, load_clip
from .revision import installed_revision

__all__ = ["main", "iterations_per_second"]

_PROBE = """
import sys, torch
from nvc.codec.rate import Tuning
from tools.ab import load_clip
from tools.fit_bench import iterations_per_second
clip, text, iterations, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
frames = torch.from_numpy(load_clip(clip)).permute(0, 3, 1, 2).float().div_(255)
iterations_per_second(frames, Tuning.parse(text.split()), 3)  # warm-up, as the working tree's arms are
print(iterations_per_second(frames, Tuning.parse(text.split()), iterations))
"""
"""One timing by the code of another revision (the API of tools.fit_bench and tools.ab since 798cfd9), after
a short untimed fit: a fresh process pays for creating its kernels on the first one."""


def iterations_per_second(frames: torch.Tensor, tuning: Tuning, iterations: int) -> float:
    """Fit a fresh default network (quality 28, medium) to ``frames`` and time it."""
    count, _, height, width = frames.shape
    config = CodecConfig(model=model_for_video(28, height, width, tuning),
                         group_size=count)
    settings = fit_settings("medium", 28, True, (height, width),
                            Tuning(tuning.fit + (("iterations", iterations), ("eval_every", iterations))))
    torch.manual_seed(0)
    network = build_network(config, height, width, count)
    start = time.perf_counter()
    fit_group(network, frames, settings)
    return iterations / (time.perf_counter() - start)


@contextlib.contextmanager
def _revision_timer(rev: str, clip: str, iterations: int, threads: int) -> Iterator[Callable[[str], float]]:
    """Yield a timer of tunings of the code at git revision ``rev`` (each timing a fresh process)."""
    with installed_revision(rev) as revision:

        def timer(text: str) -> float:
            probe = [sys.executable, "-c", _PROBE, clip, text, str(iterations), str(threads)]
            done = subprocess.run(probe, cwd=revision.folder, env=revision.env, check=True, capture_output=True,
                                  text=True)
            return float(done.stdout.split()[-1])

        yield timer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", default="bikes", choices=list(CLIPS))
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tunings", nargs="+", default=["precision=float32", ""],
                        help="space-separated NAME=VALUE lists, one string per tuning ('' = the default)")
    parser.add_argument("--baseline-rev", help="also time --baseline-tunings of the code at this git revision")
    parser.add_argument("--baseline-tunings", nargs="+", default=[""], help="as --tunings, for --baseline-rev")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    frames = torch.from_numpy(load_clip(args.clip)).permute(0, 3, 1, 2).float().div_(255)
    timers: dict[str, Callable[[], float]] = {}
    with contextlib.ExitStack() as stack:
        if args.baseline_rev:
            timer = stack.enter_context(_revision_timer(args.baseline_rev, args.clip, args.iterations, args.threads))
            for text in args.baseline_tunings:
                timers[f"{args.baseline_rev}: {text or '(default)'}"] = functools.partial(timer, text)
        for text in args.tunings:
            timers[text or "(default)"] = functools.partial(iterations_per_second, frames, Tuning.parse(text.split()),
                                                            args.iterations)
        rates: dict[str, list[float]] = {name: [] for name in timers}
        for _ in range(args.runs):
            for name, time_it in timers.items():
                rates[name].append(time_it())
    first = statistics.median(next(iter(rates.values())))
    print(f"{args.clip}, {tuple(frames.shape)}, {args.iterations} iterations, {args.threads} threads, "
          f"{args.runs} runs (median):")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:40s} {median:6.2f} it/s  x{median / first:.2f}  "
              f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
