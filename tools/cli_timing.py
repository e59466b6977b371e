"""How fast the command line answers: wall-clock time of fresh ``nvc`` processes that need no torch.

    python -m tools.cli_timing --runs 10        # a Markdown table for docs/benchmarks.md

Each command runs ``--runs`` times in a new process (as a user's shell starts it, through the
installed ``nvc`` script beside this Python); the table gives the median and the slowest run.  A
benchmark figure, not a test: the time depends on the machine and on what else it runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .cli import HelpFormatter

__all__ = ["COMMANDS", "time_command", "main"]

COMMANDS = (
    ("nvc --help", ["--help"]),
    ("nvc --version", ["--version"]),
    ("nvc (bare)", []),
    ("nvc encode --help", ["encode", "--help"]),
    ("nvc encode (usage error: no files)", ["encode"]),
    ("nvc encode a.mp4 b.nvc --frob (usage error)", ["encode", "a.mp4", "b.nvc", "--frob"]),
)


def time_command(command: list[str], runs: int) -> list[float]:
    """Seconds each of ``runs`` fresh runs of ``command`` took, start to exit."""
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        seconds.append(time.perf_counter() - start)
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.cli_timing", description=__doc__,
                                     formatter_class=HelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="fresh processes per command")
    args = parser.parse_args(argv)
    script = Path(sys.executable).with_name("nvc")
    print("| command | median | slowest |\n|---|---|---|")
    for label, extra in COMMANDS:
        seconds = time_command([str(script), *extra], args.runs)
        print(f"| `{label}` | {statistics.median(seconds):.2f} s | {max(seconds):.2f} s |")
    imports = time_command([sys.executable, "-c", "import nvc"], args.runs)
    print(f"| `python -c 'import nvc'` | {statistics.median(imports):.2f} s | {max(imports):.2f} s |")


if __name__ == "__main__":
    main()
