"""The benchmark's results.json: one row per (sequence, codec, setting), saved after every point.

Saving is atomic (write a temporary file, then rename), so an interrupted run leaves the last
complete file and a rerun resumes from it.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["load_results", "save_results", "find_row"]


def load_results(path: Path) -> list[dict]:
    """The rows of ``path`` (none if it does not exist yet).

    nvc rows written before curves were named get their curve (`nvc-<preset>`) and encode rate.
    """
    rows = json.loads(path.read_text()) if path.exists() else []
    for row in rows:
        if row["codec"] == "nvc":
            row.setdefault("curve", f"nvc-{row['preset']}")
            row.setdefault("encode_fps", row["frames"] / row["encode_s"])
    return rows


def save_results(path: Path, rows: list[dict]) -> None:
    """Replace ``path`` with ``rows`` atomically."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rows, indent=1, default=float))
    tmp.replace(path)


def find_row(rows: list[dict], sequence: str, codec: str, setting: str) -> dict | None:
    """The row measured for this point, if any."""
    return next((r for r in rows if (r["sequence"], r["codec"], r["setting"]) == (sequence, codec, setting)), None)
