"""Decode speed and peak memory of .nvc files: medians over repeated runs, each in a fresh process.

    python -m tools.decode_bench FILE.nvc [FILE.nvc ...] --runs 5 --threads 2

Frames/s counts the whole decode (parsing, entropy decoding, rebuilding networks, rendering),
after the interpreter and torch are imported; peak RSS is the child's maximum resident set.

``--baseline-rev REV`` also decodes each file by the code at a git revision, installed into a
temporary folder, the two taking turns run by run: this machine's speed drifts by up to 1.5x over
minutes, so a change is timed against the code before it, not against a figure from another hour.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
from pathlib import Path

from .bench_nvc import decode_stats
from .revision import Installed, installed_revision

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--baseline-rev", help="also decode by the code at this git revision, taking turns")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        arms: dict[str, Installed | None] = {}
        if args.baseline_rev:
            arms[args.baseline_rev] = stack.enter_context(installed_revision(args.baseline_rev))
        arms["working tree"] = None
        for path in args.files:
            runs: dict[str, list[dict]] = {name: [] for name in arms}
            for _ in range(args.runs):
                for name, revision in arms.items():
                    runs[name].append(decode_stats(path, args.threads, revision))
            for name, stats in runs.items():
                print(json.dumps({"file": str(path), "code": name, **_summary(stats, args.threads)}))
    return 0


def _summary(runs: list[dict], threads: int) -> dict:
    return {
        "runs": len(runs),
        "threads": threads,
        "decode_fps_median": statistics.median(r["decode_fps"] for r in runs),
        "decode_fps_runs": [round(r["decode_fps"], 2) for r in runs],
        "decode_s_median": statistics.median(r["decode_s"] for r in runs),
        "peak_rss_mib_median": statistics.median(r["decode_peak_rss_mib"] for r in runs),
        "peak_rss_mib_max": max(r["decode_peak_rss_mib"] for r in runs),
    }


if __name__ == "__main__":
    sys.exit(main())
