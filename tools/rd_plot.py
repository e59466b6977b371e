"""Draw the README's rate-distortion plot from its data file.

    python -m tools.rd_plot                       # docs/rd-bikes.json -> docs/rd-bikes.png

The data file holds measured points (see its "source"), not a benchmark run: redrawing takes a
second, and the numbers stay reviewable in the diff.  New measurements go into the JSON (and the
table of docs/benchmarks.md they come from), then this command redraws the PNG. A curve whose
name ends in ``-old`` (a superseded default kept for comparison) is drawn dotted.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .cli import HelpFormatter
from .curves import Curve
from .plots import plot_rd

__all__ = ["load_curves", "main"]

DOCS = Path(__file__).resolve().parents[1] / "docs"


def load_curves(path: Path) -> tuple[str, dict[str, Curve]]:
    """The plot title and the curves of a data file, each point a row with its codec and setting."""
    doc = json.loads(path.read_text())
    curves = {}
    for curve in doc["curves"]:
        rows = [{"codec": curve["codec"], "curve": curve["name"], **point} for point in curve["points"]]
        curves[curve["name"]] = Curve(curve["name"], curve["codec"], tuple(sorted(rows, key=lambda r: r["bpp"])))
    return doc["title"], curves


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.rd_plot", description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("data", nargs="?", type=Path, default=DOCS / "rd-bikes.json", help="data file (JSON)")
    parser.add_argument("png", nargs="?", type=Path, default=DOCS / "rd-bikes.png", help="the plot to write")
    args = parser.parse_args(argv)
    title, curves = load_curves(args.data)
    plot_rd(curves, title, args.png)


if __name__ == "__main__":
    main()
