"""Decode speed and peak memory of .nvc files: medians over repeated runs, each in a fresh process.

    python -m tools.decode_bench FILE.nvc [FILE.nvc ...] --runs 5 --threads 2

Frames/s counts the whole decode (parsing, entropy decoding, rebuilding networks, rendering),
after the interpreter and torch are imported; peak RSS is the child's maximum resident set.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from .bench_nvc import decode_stats

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    for path in args.files:
        runs = [decode_stats(path, args.threads) for _ in range(args.runs)]
        summary = {
            "file": str(path),
            "runs": args.runs,
            "threads": args.threads,
            "decode_fps_median": statistics.median(r["decode_fps"] for r in runs),
            "decode_s_median": statistics.median(r["decode_s"] for r in runs),
            "peak_rss_mib_median": statistics.median(r["decode_peak_rss_mib"] for r in runs),
            "peak_rss_mib_max": max(r["decode_peak_rss_mib"] for r in runs),
        }
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
