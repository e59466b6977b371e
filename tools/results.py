"""The benchmark's results.json: one row per (sequence, codec, setting), saved after every point.

Saving is atomic (write a temporary file, then rename), so an interrupted run leaves the last
complete file and a rerun resumes from it.  Under torchrun each process saves the rows of its own
sequences to ``parts/SEQUENCE.json`` beside results.json; loading merges them in, and rank 0 folds
them into results.json at the end (:func:`fold_parts`), so a rerun resumes on any number of processes.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["load_results", "save_results", "find_row", "part_path", "fold_parts"]


def part_path(results: Path, sequence: str) -> Path:
    """Where one process of a distributed benchmark saves the rows of ``sequence``."""
    return results.parent / "parts" / f"{sequence}.json"


def load_results(path: Path) -> list[dict]:
    """The rows of ``path`` (none if it does not exist yet).

    nvc rows written before curves were named get their curve (`nvc-<preset>`) and encode rate.
    """
    rows = json.loads(path.read_text()) if path.exists() else []
    for part in sorted((path.parent / "parts").glob("*.json")):
        rows += [row for row in json.loads(part.read_text())
                 if find_row(rows, row["sequence"], row["codec"], row["setting"]) is None]
    for row in rows:
        if row["codec"] == "nvc":
            row.setdefault("curve", f"nvc-{row['preset']}")
            row.setdefault("encode_fps", row["frames"] / row["encode_s"])
    return rows


def save_results(path: Path, rows: list[dict]) -> None:
    """Replace ``path`` with ``rows`` atomically."""
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rows, indent=1, default=float))
    tmp.replace(path)


def find_row(rows: list[dict], sequence: str, codec: str, setting: str) -> dict | None:
    """The row measured for this point, if any."""
    return next((r for r in rows if (r["sequence"], r["codec"], r["setting"]) == (sequence, codec, setting)), None)


def fold_parts(path: Path) -> list[dict]:
    """Merge the processes' part files into ``path`` and remove them; returns every row."""
    rows = load_results(path)
    save_results(path, rows)
    for part in (path.parent / "parts").glob("*.json"):
        part.unlink()
    return rows
