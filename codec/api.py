"""The library API: ``nvc.encode``, ``nvc.decode`` and ``nvc.open``.

Sources can be paths (anything ``nvc.datasets.open_video`` reads), numpy arrays, torch tensors or
iterators of frames, so a pipeline can encode frames it already holds.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator, overload

import numpy as np
import torch

from nvc.datasets import DEFAULT_FPS, MAX_SIDE, MIN_SIDE, VideoInfo, VideoInputError, open_video
from nvc.datasets.colour import ColourInfo

from . import checks
from .bitstream import Bitstream
from .config import CodecConfig, EncoderInfo, VideoHeader
from .container import FORMAT_VERSION
from .decoder import Decoder
from .encoder import EncodeOptions, EncodeReport, encode_video
from .errors import InputError, UsageError
from .outputs import Output, check_outputs
from .ratecontrol import search_quality, target_bpp

__all__ = ["encode", "decode", "open", "VideoFile", "FileInfo"]



def encode(
    source: str | Path | np.ndarray | torch.Tensor | Iterable[Any],
    dest: str | Path,
    *,
    fps: Fraction | int | None = None,
    frames: int | None = None,
    seek: int = 0,
    input_res: tuple[int, int] | None = None,
    pix_fmt: str | None = None,
    colour: ColourInfo | None = None,
    bpp: float | None = None,
    kbps: float | None = None,
    log: Callable[[str], None] = lambda _: None,
    **options: Any,
) -> EncodeReport:
    """Encode a video into an .nvc file.

    Args:
        source: a video path; a (T, H, W, 3) uint8 array or tensor; or an iterator of frames
            (uint8 H x W x 3 arrays, tensors, or PyAV ``VideoFrame`` objects).
        dest: the output file (written atomically).
        fps: frame rate for arrays and iterators (default 30), or for raw ``.yuv`` files.
        frames: encode at most this many frames; ``seek``: skip this many first.
        input_res, pix_fmt: (width, height) and pixel format of a raw ``.yuv`` file.
        colour: colour matrix/range of the source, when the file does not say.
        bpp, kbps: a target rate instead of ``quality``; reached by probe encodes
            (see :mod:`nvc.codec.ratecontrol`), which needs the frames in memory.
        log: receives one-line progress messages of the rate search.
        **options: fields of :class:`EncodeOptions` (preset, quality, group_size, key_interval,
            seed, device, tile, progress, logdir).

    Returns:
        An :class:`EncodeReport` (bytes, bpp, PSNR, per-group statistics).
    """
    try:
        encode_options = EncodeOptions(**options)
    except TypeError as exc:
        raise UsageError(str(exc)) from None
    check_outputs([source], [Output("output", checks.path("dest", dest))], overwrite=True)
    frame_iter, info = _frames_and_info(source, fps=fps, frames=frames, seek=seek, input_res=input_res,
                                        pix_fmt=pix_fmt, colour=colour)
    bpp, kbps = (None if v is None else checks.real(name, v, 0, math.inf) for name, v in (("bpp", bpp), ("kbps", kbps)))
    target = target_bpp(bpp, kbps, info.width, info.height, info.fps)
    if target is not None:
        clip = np.stack(list(frame_iter))
        quality = search_quality(clip, info, target, encode_options, log)
        encode_options, frame_iter = replace(encode_options, quality=quality), iter(clip)
    return encode_video(frame_iter, info, dest, encode_options)


def _frames_and_info(source: Any, *, fps, frames, seek, input_res, pix_fmt,
                     colour) -> tuple[Iterator[np.ndarray], VideoInfo]:
    fps = None if fps is None else checks.fraction("fps", fps)
    frames = None if frames is None else checks.integer("frames", frames, 1)
    seek = checks.integer("seek", seek, 0)
    if input_res is not None:
        if not (isinstance(input_res, (tuple, list)) and len(input_res) == 2):
            raise UsageError(f"input_res must be (width, height), got {input_res!r}")
        input_res = tuple(checks.integer(name, v, MIN_SIDE, MAX_SIDE) for name, v in zip(("width", "height"), input_res))
    if pix_fmt is not None:
        checks.text("pix_fmt", pix_fmt)
    if colour is not None and not isinstance(colour, ColourInfo):
        raise UsageError(f"colour must be a ColourInfo, got {colour!r}")
    try:
        if isinstance(source, (str, Path)):
            video = open_video(source, input_res=input_res, fps=fps, pix_fmt=pix_fmt, max_frames=frames, seek=seek,
                               colour=colour)
            if frames is not None and video.info.frame_count is not None and video.info.frame_count < frames:
                raise InputError(f"{source}: {frames} frames asked for, the input has only "
                                 f"{video.info.frame_count} from frame {seek} on")
            return _exactly(_guarded(iter(video)), frames), video.info
        if frames is not None and hasattr(source, "__len__") and len(source) - seek < frames:
            raise InputError(f"{frames} frames asked for, the input has only {max(0, len(source) - seek)} "
                             f"from frame {seek} on")
        stream = (_as_frame(f) for f in itertools.islice(_iterate(source), seek, None if frames is None else seek + frames))
        first = next(stream, None)
        if first is None:
            raise InputError("the input holds no frames")
        height, width = first.shape[:2]
        info = VideoInfo(width, height, DEFAULT_FPS if fps is None else fps, None, colour or ColourInfo())
        return _exactly(itertools.chain([first], stream), frames), info
    except VideoInputError as exc:
        raise InputError(str(exc)) from None


def _exactly(frames: Iterator[np.ndarray], count: int | None) -> Iterator[np.ndarray]:
    """The frames, refusing at their end a source that held fewer than the ``count`` asked for."""
    got = 0
    for got, frame in enumerate(frames, 1):
        yield frame
    if count is not None and got < count:
        raise InputError(f"{count} frames asked for, the input has only {got}")


def _iterate(source: Any) -> Iterable[Any]:
    if isinstance(source, torch.Tensor):
        source = source.detach().cpu().numpy()
    if isinstance(source, np.ndarray):
        if source.ndim != 4 or source.shape[-1] != 3:
            raise InputError(f"a frame array must be (T, H, W, 3), got shape {source.shape}")
        return iter(source)
    try:
        return iter(source)
    except TypeError:
        raise InputError(f"cannot read frames from a {type(source).__name__}") from None


def _as_frame(frame: Any) -> np.ndarray:
    """Accept uint8 arrays and tensors (H, W, 3) and PyAV frames."""
    if hasattr(frame, "to_ndarray"):
        frame = frame.to_ndarray(format="rgb24")
    if isinstance(frame, torch.Tensor):
        frame = frame.detach().cpu().numpy()
    if not (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3):
        raise InputError(f"frames must be uint8 (H, W, 3), got {getattr(frame, 'dtype', type(frame).__name__)} "
                         f"{getattr(frame, 'shape', '')}")
    return frame


def _guarded(frames: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """Turn a reader's failure midway through the file into the codec's input error."""
    try:
        yield from frames
    except VideoInputError as exc:
        raise InputError(str(exc)) from None


class FrameIndexError(UsageError, IndexError):
    """A frame index outside the video: an nvc error, and the IndexError that ends a sequence."""


@dataclass(frozen=True)
class FileInfo:
    """What ``nvc info`` shows about a file."""

    format_version: int
    width: int
    height: int
    fps: Fraction
    frames: int
    groups: int
    key_groups: int
    config: CodecConfig
    encoder: EncoderInfo
    file_bytes: int
    header_bytes: int
    group_bytes: int
    colour_matrix: str
    full_range: bool

    @property
    def bpp(self) -> float:
        return self.file_bytes * 8 / (self.width * self.height * self.frames)

    @classmethod
    def of(cls, bitstream: Bitstream) -> "FileInfo":
        header: VideoHeader = bitstream.header
        return cls(FORMAT_VERSION, header.width, header.height, header.fps, header.frame_count,
                   len(bitstream.groups), sum(g.key for g in bitstream.groups), bitstream.config,
                   bitstream.encoder, bitstream.size, bitstream.groups[0].chunk.offset, bitstream.group_bytes,
                   header.colour_matrix, header.full_range)


class VideoFile:
    """An opened .nvc file: ``len()``, ``info``, and frames by index or slice."""

    def __init__(self, source: str | Path | BinaryIO, device: str = "cpu") -> None:
        if not isinstance(source, (str, os.PathLike)) and not all(hasattr(source, a) for a in ("read", "seek", "tell")):
            raise UsageError(f"cannot read an .nvc file from a {type(source).__name__}; pass a path or binary stream")
        self._decoder = Decoder(source, device)
        self.info = FileInfo.of(self._decoder.bitstream)

    def __len__(self) -> int:
        return self._decoder.frame_count

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...
    @overload
    def __getitem__(self, index: slice) -> list[np.ndarray]: ...

    def __getitem__(self, index: int | slice) -> np.ndarray | list[np.ndarray]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return list(self._decoder.frames(start, stop))
        index = checks.integer("frame index", index, -(1 << 63))
        if not -len(self) <= index < len(self):
            raise FrameIndexError(f"frame {index} outside 0..{len(self) - 1}")
        index %= len(self)
        return next(self._decoder.frames(index, index + 1))

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Iterate frames ``start <= t < stop`` (uint8 H x W x 3)."""
        return self._decoder.frames(start, stop)

    def close(self) -> None:
        self._decoder.close()

    def __enter__(self) -> "VideoFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open(source: str | Path | BinaryIO, device: str = "cpu") -> VideoFile:  # noqa: A001 - like the builtin
    """Open an .nvc file for random access (frames render on ``device``)."""
    return VideoFile(source, device)


def decode(source: str | Path | BinaryIO, frames: range | tuple[int, int] | None = None,
           as_tensor: bool = False, device: str = "cpu") -> Iterator[np.ndarray | torch.Tensor]:
    """Decode an .nvc file lazily.

    Args:
        source: path or binary stream.
        frames: a ``range`` or ``(start, stop)`` of frame indices; all frames when None.
        as_tensor: yield (3, H, W) uint8 torch tensors instead of (H, W, 3) numpy arrays.
        device: where to render ("cpu" or "cuda").
    """
    if isinstance(frames, range) and frames.step == 1:
        frames = frames.start, frames.stop
    if frames is not None and not (isinstance(frames, tuple) and len(frames) == 2):
        raise UsageError(f"frames must be a range with step 1 or a (start, stop) pair, got {frames!r}")
    start, stop = (0, None) if frames is None else (checks.integer("start", frames[0], 0),
                                                     checks.integer("stop", frames[1], 0))
    video = VideoFile(source, device)

    def generate() -> Iterator[np.ndarray | torch.Tensor]:
        with video:
            for frame in video.frames(start, stop):
                yield torch.from_numpy(frame).permute(2, 0, 1) if as_tensor else frame

    return generate()
