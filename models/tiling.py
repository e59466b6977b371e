"""The one tiler: how a frame's boundary feature map is cut into tiles for decoding.

Both of HNeRV's renderers use it, the tile-by-tile loop (``HNeRV.render_tiled``, any device) and
the batched fused path (:mod:`.hnerv_fused`, every tile of a batch of frames in one pass), so they
cut frames the same way.  Parts are balanced (equal sizes, no larger than the tile), so the
batched path gathers crops of one shape; the decoder's cost bounds count at most ``tile`` pixels
per part, which balanced parts never exceed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Tile", "balanced_tiles", "tile_grid"]


@dataclass(frozen=True)
class Tile:
    """One tile of the boundary feature map: its first row and column, and its size."""

    top: int
    left: int
    rows: int
    cols: int


def balanced_tiles(length: int, step: int) -> tuple[int, list[int]]:
    """Split ``length`` into equal parts of at most ``step``: (part size, starts)."""
    parts = max(1, -(-length // max(1, step)))
    size = -(-length // parts)
    return size, list(range(0, length, size))


def tile_grid(rows: int, cols: int, step: int) -> Iterator[Tile]:
    """The tiles covering a ``rows`` x ``cols`` map, row by row; the last ones are clipped to the map."""
    size_r, tops = balanced_tiles(rows, step)
    size_c, lefts = balanced_tiles(cols, step)
    for top in tops:
        for left in lefts:
            yield Tile(top, left, min(size_r, rows - top), min(size_c, cols - left))
