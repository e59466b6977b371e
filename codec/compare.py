"""``nvc compare``: one video's quality against a reference, per frame and mean.

What people otherwise ask of ffmpeg's psnr filter, for any two videos nvc reads (an .nvc file is
decoded; anything else goes through :func:`nvc.datasets.open_video`), scored by the same code as
the benchmarks (:mod:`nvc.codec.metrics`).  Like ffmpeg, the frames both videos have are compared;
the report says when one video is longer.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from nvc.datasets import VideoInputError, open_stream, open_video
from nvc.datasets.request import ReadRequest

from .container import SIGNATURE
from .errors import InputError
from .metrics import SCORES, FrameScores, frame_scores

__all__ = ["Comparison", "compare", "comparison_lines"]


@dataclass(frozen=True)
class Comparison:
    """Per-frame scores of the frames both videos have, their means, and each video's length."""

    frames: list[FrameScores]
    reference_frames: int
    distorted_frames: int

    @property
    def mean(self) -> dict[str, float]:
        """Each metric's mean over frames (the benchmarks' convention)."""
        return {key: float(np.mean([getattr(scores, key) for scores in self.frames])) for key in SCORES}

    def as_dict(self) -> dict:
        return {"compared_frames": len(self.frames), "reference_frames": self.reference_frames,
                "distorted_frames": self.distorted_frames, "mean": self.mean,
                "frames": [{"frame": index, **dataclasses.asdict(scores)} for index, scores in enumerate(self.frames)]}


def _is_nvc(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as stream:
        return stream.read(len(SIGNATURE)) == SIGNATURE


def _frames(source: str | Path | BinaryIO, stack: ExitStack,
            input_res: tuple[int, int] | None) -> Iterator[np.ndarray]:
    try:
        if not isinstance(source, (str, Path)):
            return iter(open_stream(source, ReadRequest(input_res=input_res), getattr(source, "name", "stream")))
        if _is_nvc(Path(source)):
            from .api import VideoFile

            return stack.enter_context(VideoFile(source)).frames()
        return iter(open_video(source, input_res=input_res))
    except VideoInputError as exc:
        raise InputError(str(exc)) from None


def _name(source: str | Path | BinaryIO) -> str:
    return str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "stream")


def compare(reference: str | Path | BinaryIO, distorted: str | Path | BinaryIO, *,
            input_res: tuple[int, int] | None = None) -> Comparison:
    """Score ``distorted`` against ``reference``, frame by frame.

    Either may be a path or a binary stream of y4m (raw yuv420p for both needs ``input_res``).
    """
    scores: list[FrameScores] = []
    counts = [0, 0]
    reference_name, distorted_name = _name(reference), _name(distorted)
    with ExitStack() as stack:
        pairs = itertools.zip_longest(_frames(reference, stack, input_res), _frames(distorted, stack, input_res))
        try:
            for index, (ref, dist) in enumerate(pairs):
                counts[0] += ref is not None
                counts[1] += dist is not None
                if ref is None or dist is None:
                    continue
                if ref.shape != dist.shape:
                    raise InputError(f"frame {index}: {distorted_name} is {dist.shape[1]}x{dist.shape[0]}, "
                                     f"{reference_name} is {ref.shape[1]}x{ref.shape[0]}")
                scores.append(frame_scores(ref, dist))
        except VideoInputError as exc:
            raise InputError(str(exc)) from None
    if not scores:
        raise InputError(f"{reference_name} and {distorted_name} have no frames to compare")
    return Comparison(scores, counts[0], counts[1])


def _number(value: float, unit: str = "", digits: int = 2) -> str:
    if np.isnan(value):
        return "n/a"
    return ("inf" if np.isinf(value) else f"{value:.{digits}f}") + unit


def _scores_text(scores: FrameScores | dict[str, float]) -> str:
    values = scores if isinstance(scores, dict) else dataclasses.asdict(scores)
    return (f"PSNR RGB {_number(values['psnr_rgb'], ' dB')}, YUV {_number(values['psnr_yuv'], ' dB')} "
            f"(Y {_number(values['psnr_y'], ' dB')}), MS-SSIM {_number(values['ms_ssim_rgb'], digits=4)}")


def comparison_lines(result: Comparison) -> list[str]:
    """The text of ``nvc compare``: a line per frame, then the means (and a note on unequal lengths)."""
    lines = [f"frame {index}: {_scores_text(scores)}" for index, scores in enumerate(result.frames)]
    lines.append(f"mean of {len(result.frames)} frames: {_scores_text(result.mean)}")
    if result.reference_frames != result.distorted_frames:
        lines.append(f"note: the reference has {result.reference_frames} frames, the distorted video "
                     f"{result.distorted_frames}; the first {len(result.frames)} were compared")
    if np.isnan(result.mean["ms_ssim_rgb"]):
        lines.append("note: MS-SSIM needs frames of at least 161 pixels on each side")
    return lines
