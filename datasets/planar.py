"""The 8-bit planar 4:2:0 frame layout shared by raw .yuv and .y4m files: Y, then Cb, then Cr."""

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .colour import ColourInfo, chroma_shape, rgb_to_yuv420, yuv420_to_rgb


def yuv420_frame_bytes(width: int, height: int) -> int:
    """Bytes in one frame: a full-size luma plane and two ceil-halved chroma planes."""
    chroma_rows, chroma_cols = chroma_shape(height, width)
    return width * height + 2 * chroma_rows * chroma_cols


def _split(buffer: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y, Cb, Cr planes of one frame's bytes."""
    chroma = chroma_shape(height, width)
    luma_end = width * height
    chroma_end = luma_end + chroma[0] * chroma[1]
    return (
        buffer[:luma_end].reshape(height, width),
        buffer[luma_end:chroma_end].reshape(chroma),
        buffer[chroma_end:].reshape(chroma),
    )


def yuv420_to_rgb_frame(payload: np.ndarray, width: int, height: int, colour: ColourInfo) -> np.ndarray:
    """The RGB frame of one frame's 4:2:0 bytes (a uint8 array of yuv420_frame_bytes)."""
    return yuv420_to_rgb(*_split(payload, width, height), colour)


def read_yuv420_frames(
    path: Path, offsets: Iterable[int], width: int, height: int, colour: ColourInfo
) -> Iterator[np.ndarray]:
    """RGB frames whose 4:2:0 payloads start at `offsets`, each read through its own memory map.

    Only one frame is mapped at a time, so a multi-gigabyte sequence never sits in memory.
    """
    frame_bytes = yuv420_frame_bytes(width, height)
    for offset in offsets:
        payload = np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=(frame_bytes,))
        yield yuv420_to_rgb_frame(payload, width, height, colour)


def yuv420_payloads(frames: Iterable[np.ndarray], colour: ColourInfo) -> Iterator[bytes]:
    """The raw 4:2:0 bytes of each RGB frame."""
    for frame in frames:
        yield b"".join(plane.tobytes() for plane in rgb_to_yuv420(frame, colour))
