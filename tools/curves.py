"""Rate-distortion curves out of result rows: grouped per sequence, ordered by rate, averaged.

A curve is every point of one codec configuration (the rows' `curve`, e.g. `nvc-medium` or
`x265-medium-nob`) on one sequence. The mean curve over sequences follows HiNeRV's convention:
the plain mean of bpp and of each score over the sequences, per setting, using only the settings
measured on every sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nvc.codec.metrics import SCORES

__all__ = ["Curve", "sequence_curves", "mean_curves"]


@dataclass(frozen=True)
class Curve:
    """One curve's rows, by increasing bpp."""

    name: str
    codec: str
    rows: tuple[dict, ...]

    def values(self, key: str) -> np.ndarray:
        """The rows' ``key`` as floats (NaN where a row lacks it)."""
        return np.array([row.get(key, np.nan) for row in self.rows], dtype=np.float64)


def _curve(name: str, rows: list[dict]) -> Curve:
    return Curve(name, rows[0]["codec"], tuple(sorted(rows, key=lambda row: row["bpp"])))


def sequence_curves(rows: list[dict]) -> dict[str, dict[str, Curve]]:
    """sequence -> curve name -> Curve, in the order the rows were measured."""
    grouped: dict[str, dict[str, list[dict]]] = {}
    for row in rows:
        grouped.setdefault(row["sequence"], {}).setdefault(row["curve"], []).append(row)
    return {seq: {name: _curve(name, points) for name, points in curves.items()} for seq, curves in grouped.items()}


def mean_curves(by_sequence: dict[str, dict[str, Curve]]) -> dict[str, Curve]:
    """curve name -> mean Curve over all sequences; curves with no setting common to all are left out."""
    names = dict.fromkeys(name for curves in by_sequence.values() for name in curves)
    means = {}
    for name in names:
        per_sequence = [{row["setting"]: row for row in curves[name].rows}
                        for curves in by_sequence.values() if name in curves]
        if len(per_sequence) < len(by_sequence):
            continue
        common = [s for s in per_sequence[0] if all(s in points for points in per_sequence)]
        rows = [{"setting": s, "curve": name, "codec": per_sequence[0][s]["codec"],
                 **{key: float(np.mean([points[s].get(key, np.nan) for points in per_sequence]))
                    for key in ("bpp", *SCORES)}}
                for s in common]
        if rows:
            means[name] = _curve(name, rows)
    return means
