"""Fitting throughput: iterations per second of tunings of the same fit, measured side by side.

Each run fits one group (the first ``--frames`` frames of a clip of tools.ab) from the same seed
for ``--iterations`` iterations with one evaluation at the end; the tunings take turns, so a
noisy machine slows them alike. Prints the median iterations per second of each and its ratio
to the first.

    python -m tools.fit_bench --clip bikes --iterations 60 --runs 3 --tunings precision=float32 ""
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from nvc.codec.config import CodecConfig
from nvc.codec.rate import Tuning, fit_settings, model_for_video
from nvc.codec.render import build_network
from nvc.models import fit_group

from .ab import CLIPS, load_clip

__all__ = ["main", "iterations_per_second"]


def iterations_per_second(frames: torch.Tensor, tuning: Tuning, iterations: int) -> float:
    """Fit a fresh default network (quality 28, medium) to ``frames`` and time it."""
    count, _, height, width = frames.shape
    config = CodecConfig(model=model_for_video(28, height, width, tuning),
                         group_size=count)
    settings = fit_settings("medium", 28, True, Tuning(tuning.fit + (("iterations", iterations),
                                                                     ("eval_every", iterations))))
    torch.manual_seed(0)
    network = build_network(config, height, width, count)
    start = time.perf_counter()
    fit_group(network, frames, settings)
    return iterations / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", default="bikes", choices=list(CLIPS))
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tunings", nargs="+", default=["precision=float32", ""],
                        help="space-separated NAME=VALUE lists, one string per tuning ('' = the default)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    frames = torch.from_numpy(load_clip(args.clip)).permute(0, 3, 1, 2).float().div_(255)
    tunings = {text: Tuning.parse(text.split()) for text in args.tunings}
    rates: dict[str, list[float]] = {text: [] for text in tunings}
    for _ in range(args.runs):
        for text, tuning in tunings.items():
            rates[text].append(iterations_per_second(frames, tuning, args.iterations))
    first = statistics.median(rates[args.tunings[0]])
    print(f"{args.clip}, {tuple(frames.shape)}, {args.iterations} iterations, {args.threads} threads, "
          f"{args.runs} runs (median):")
    for text, values in rates.items():
        median = statistics.median(values)
        print(f"  {text or '(default)':40s} {median:6.2f} it/s  x{median / first:.2f}  "
              f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
