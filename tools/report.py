"""The benchmark's report: a Markdown file of every point and of BD-rates, and the RD plots.

Everything is regenerated from results.json, so `python -m tools.benchmark --report` redraws a
finished or interrupted run without measuring anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nvc.codec.metrics import SCORES

from .bdrate import METHODS, Method, bd_psnr, bd_rate
from .curves import Curve, mean_curves, sequence_curves
from .plots import plot_rd
from .published_uvg import PUBLISHED_UVG, PublishedCurve

__all__ = ["write_report"]

BdFunction = Callable[..., float]
_METHOD_LABELS = {"pchip": "PCHIP", "cubic": "cubic"}
_BD_COLUMNS: list[tuple[str, BdFunction, str, Method]] = [
    (f"{kind} {space} {_METHOD_LABELS[method]} ({unit})", function, metric, method)
    for kind, function, unit, space, metric in (("BD-rate", bd_rate, "%", "RGB", "psnr_rgb"),
                                                ("BD-PSNR", bd_psnr, "dB", "RGB", "psnr_rgb"),
                                                ("BD-rate", bd_rate, "%", "YUV", "psnr_yuv"))
    for method in METHODS
]
_POINT_COLUMNS = [
    ("curve", "curve", None), ("setting", "setting", None), ("bpp", "bpp", 4), ("PSNR RGB (dB)", "psnr_rgb", 2),
    ("PSNR YUV (dB)", "psnr_yuv", 2), ("PSNR Y (dB)", "psnr_y", 2), ("MS-SSIM RGB", "ms_ssim_rgb", 4),
    ("encode (s)", "encode_s", 2), ("encode (frames/s)", "encode_fps", 2), ("decode (frames/s)", "decode_fps", 1),
    ("decode peak RSS (MiB)", "decode_peak_rss_mib", 0),
]
_MEAN_COLUMNS = [column for column in _POINT_COLUMNS if column[1] in ("curve", "setting", "bpp", *SCORES)]
_NOTES = """\
- bpp: bytes of the nvc file, or of the baseline's elementary stream without SEI, x 8 / (width x height x frames).
- PSNR RGB: mean over frames of the per-frame PSNR of 8-bit RGB. PSNR YUV: mean over frames of
  (6 Y + Cb + Cr) / 8 PSNR of the BT.709 limited 4:2:0 conversion of both clips; PSNR Y its luma part.
- MS-SSIM RGB: 5-scale MS-SSIM (Wang et al. 2003, standard weights) per RGB channel, averaged over
  channels and frames; — for frames under 161 pixels a side.
- Times are wall-clock on the measuring machine with the rows' `threads`; baselines time the codec
  calls only; decode peak RSS is measured for nvc only (child process).
- BD: negative BD-rate / positive BD-PSNR mean nvc is better than the anchor. PCHIP is the JVET CTC
  interpolation, cubic the polynomial fit of Bjontegaard (VCEG-M33). Only the interval where both
  curves have points is integrated; — means the curves do not overlap, a curve has fewer than 2 points,
  or (cubic) the fit falls or swings outside its points there, as it does through a nearly flat curve.
"""


def _cell(value: str | float | None, digits: int | None) -> str:
    """A table cell: text as is, numbers to ``digits`` decimals, missing or non-finite numbers as —."""
    if digits is None:
        return str(value)
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{float(value):.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def _points_table(curves: dict[str, Curve], columns: list[tuple[str, str, int | None]]) -> list[str]:
    cells = [[_cell(row.get(key), digits) for _, key, digits in columns]
             for curve in curves.values() for row in curve.rows]
    return _table([label for label, *_ in columns], cells)


def _bd(function: BdFunction, anchor: Curve, test: Curve, metric: str, method: Method) -> float:
    """One BD value, NaN when a curve cannot be interpolated (fewer than 2 points, repeated values)."""
    try:
        return function(anchor.values("bpp"), anchor.values(metric), test.values("bpp"), test.values(metric), method)
    except ValueError:
        return float("nan")


def _bd_values(anchor: Curve, test: Curve, columns: list[tuple[str, BdFunction, str, Method]]) -> list[float]:
    return [_bd(function, anchor, test, metric, method) for _, function, metric, method in columns]


def _pairs(curves: dict[str, Curve]) -> list[tuple[Curve, Curve]]:
    """(nvc curve, baseline curve) pairs of one sequence."""
    tests = [c for c in curves.values() if c.codec == "nvc"]
    return [(test, anchor) for test in tests for anchor in curves.values() if anchor.codec != "nvc"]


def _bd_section(by_sequence: dict[str, dict[str, Curve]]) -> list[str]:
    """Per-sequence BD of every nvc curve against every baseline, then their mean over sequences."""
    header = ["sequence", "nvc", "anchor", *(label for label, *_ in _BD_COLUMNS)]
    rows, collected = [], {}
    for sequence, curves in by_sequence.items():
        for test, anchor in _pairs(curves):
            values = _bd_values(anchor, test, _BD_COLUMNS)
            collected.setdefault((test.name, anchor.name), []).append(values)
            rows.append([sequence, test.name, anchor.name, *(_cell(v, 2) for v in values)])
    for (test, anchor), per_sequence in collected.items():
        table = np.array(per_sequence)
        cells = []
        for column in table.T:
            finite = column[np.isfinite(column)]
            shown = _cell(finite.mean() if finite.size else math.nan, 2)
            partial = finite.size not in (0, len(by_sequence))
            cells.append(f"{shown} ({finite.size}/{len(by_sequence)})" if partial else shown)
        rows.append([f"mean of {len(by_sequence)}", test, anchor, *cells])
    if not rows:
        return ["No nvc and baseline curves on a common sequence yet.", ""]
    return [*_table(header, rows), "",
            "Mean rows average the per-sequence values; (k/n): only k of n sequences had a value.", ""]


def _published_section(means: dict[str, Curve], crop: bool) -> list[str]:
    """BD of each mean nvc curve against the published UVG curves (RGB PSNR)."""
    columns = [c for c in _BD_COLUMNS if c[2] == "psnr_rgb"]
    header = ["nvc (mean)", "published", *(label for label, *_ in columns)]
    rows = []
    for test in (c for c in means.values() if c.codec == "nvc"):
        for reference in PUBLISHED_UVG:
            values = _bd_values(_published_curve(reference), test, columns)
            rows.append([test.name, reference.name, *(_cell(v, 2) for v in values)])
    sources = [f"- {reference.name}: {reference.source}" for reference in PUBLISHED_UVG]
    caveat = ["", "These runs are centre-cropped; the published results use full 1920x1080 frames."] if crop else []
    return ["## Against published UVG results (mean over sequences)", "", *_table(header, rows), *caveat, "",
            "Sources (tools/published_uvg.py):", *sources, ""]


def _published_curve(reference: PublishedCurve) -> Curve:
    return Curve(reference.name, "published", tuple({"bpp": b, "psnr_rgb": p} for b, p in reference.points))


def _file_name(sequence: str) -> str:
    return "rd-" + re.sub(r"[^\w.-]+", "_", sequence) + ".png"


def write_report(rows: list[dict], out: Path) -> Path:
    """Write OUT/report.md and OUT/rd-*.png from result rows; returns the Markdown path."""
    by_sequence = sequence_curves(rows)
    means = mean_curves(by_sequence)
    uvg = any("uvg" in row for row in rows)
    lines = ["# nvc rate-distortion benchmark", "", _NOTES]
    for sequence, curves in by_sequence.items():
        plot_rd(curves, sequence, out / _file_name(sequence))
        lines += [f"## {sequence}", "", f"![{sequence}]({_file_name(sequence)})", "",
                  *_points_table(curves, _POINT_COLUMNS), ""]
    lines += ["## BD-rate and BD-PSNR of nvc against the baselines", "", *_bd_section(by_sequence)]
    if len(by_sequence) > 1 or uvg:
        title = f"mean over {len(by_sequence)} sequences"
        plot_rd(means, title, out / _file_name("mean"), PUBLISHED_UVG if uvg else ())
        lines += [f"## Mean curves ({title})", "", f"![mean]({_file_name('mean')})", "",
                  *_points_table(means, _MEAN_COLUMNS), "",
                  "Plain means over the sequences of bpp and of each score, per setting measured on all of them.", ""]
        if uvg:
            lines += _published_section(means, any("crop" in row for row in rows))
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report
