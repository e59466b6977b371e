"""The library API: ``nvc.encode``, ``nvc.decode`` and ``nvc.open``.

Sources can be paths (anything ``nvc.datasets.open_video`` reads), binary streams of y4m (a pipe),
numpy arrays, torch tensors or iterators of frames, so a pipeline can encode frames it already
holds; the file goes to a path, a binary stream, or comes back as bytes.
"""

from __future__ import annotations

import io
import itertools
import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, overload

import numpy as np
import torch

from nvc.datasets import (
    DEFAULT_FPS,
    MAX_SIDE,
    MIN_SIDE,
    VideoInfo,
    VideoInputError,
    VideoSource,
    open_stream,
    open_video,
)
from nvc.datasets.colour import ColourInfo, Matrix
from nvc.datasets.request import ReadRequest

from . import checks
from .bitstream import Bitstream, GroupRef
from .config import CodecConfig, EncoderInfo, VideoHeader
from .decoder import Decoder
from .defaults import DEVICE, GROUP_SIZE, KEY_INTERVAL, PRESET, SCENE_CUT_DB, SEED, TILE
from .distributed import DEFAULT_RANK_TIMEOUT, MAX_RANK_TIMEOUT, Job, current_job
from .encoder import EncodeOptions, EncodeReport, Session, encode_video
from .errors import InputError, UsageError
from .outputs import Output, check_outputs
from .progress import DecodeProgress, OnProgress, combined, job_only, progress_bars
from .rate import DEFAULT_QUALITY, Tuning
from .ratecontrol import search_quality, target_bpp
from .render import expected_shapes
from .tensor_coding import RESIDUAL, tensor_modes

__all__ = ["encode", "decode", "open", "VideoFile", "FileInfo", "GroupInfo"]


def encode(
    source: str | Path | BinaryIO | np.ndarray | torch.Tensor | Iterable[Any],
    dest: str | Path | BinaryIO | None = None,
    *,
    quality: int = DEFAULT_QUALITY,
    preset: str = PRESET,
    bpp: float | None = None,
    kbps: float | None = None,
    group_size: int = GROUP_SIZE,
    key_interval: int = KEY_INTERVAL,
    scene_cut_db: float = SCENE_CUT_DB,
    seed: int = SEED,
    device: str = DEVICE,
    tile: int = TILE,
    fps: Fraction | int | None = None,
    frames: int | None = None,
    seek: int = 0,
    input_res: tuple[int, int] | None = None,
    pix_fmt: str | None = None,
    colour: ColourInfo | None = None,
    logdir: str | None = None,
    resume: bool = False,
    tuning: Tuning = Tuning(),
    distributed: bool = False,
    rank_timeout: float = DEFAULT_RANK_TIMEOUT,
    progress: bool = False,
    on_progress: OnProgress | None = None,
    log: Callable[[str], None] | None = None,
) -> EncodeReport:
    """Encode a video into an .nvc file (or a stream, or bytes).

    Args:
        source: a video path; a binary stream of y4m (or raw yuv420p with ``input_res``), such
            as ``sys.stdin.buffer``; a (T, H, W, 3) uint8 array or tensor; or an iterator of
            frames (uint8 H x W x 3 arrays, tensors, or PyAV ``VideoFrame`` objects).
        dest: an output path (written atomically), a binary stream (written once every group is
            coded), or None: the file's bytes are returned in the report's ``data``.
        quality: 0..51, lower is better; 6 steps double or halve the rate weight (like x265's CRF).
        preset: fitting effort, "ultrafast", "fast", "medium" or "slow".
        bpp, kbps: a target rate instead of ``quality``; reached by probe encodes
            (see :mod:`nvc.codec.ratecontrol`), which needs the frames in memory.
        group_size: frames per network; key_interval: every N-th group is fitted from scratch
            and decodable on its own; scene_cut_db: a group holding two consecutive frames below
            this RGB PSNR is fitted from scratch too (0: never).
        seed: seeds every fit (CPU fits are deterministic for a seed); device: "cpu" or "cuda";
            tile: rendering tile size in pixels.
        fps: frame rate for arrays and iterators (default 30), or for raw ``.yuv`` files.
        frames: encode at most this many frames; seek: skip this many first.
        input_res, pix_fmt: (width, height) and pixel format of a raw ``.yuv`` file.
        colour: colour matrix/range of the source, when the file does not say.
        logdir: write TensorBoard logs there; resume: continue an interrupted encode of ``dest``.
        tuning: expert overrides of the derived network and fitting settings (design experiments,
            ``tools.ab``); see :class:`~nvc.codec.rate.Tuning`.
        distributed: share the encode among the processes of the torchrun job this one belongs to
            (each fits whole segments, rank 0 writes the file; every rank must call with the same
            source and options); rank_timeout: seconds a rank may stop responding before the job
            gives it up.  See docs/scaling.md.
        progress: draw tqdm bars on stderr (off: the library prints nothing; in a distributed
            encode, rank 0 draws one bar for the whole job).
        on_progress: receives a :class:`~nvc.codec.progress.FitProgress` per evaluation of a
            fit and each group's :class:`GroupStats` once it is coded.
        log: receives one-line messages of the rate search.

    Returns:
        An :class:`EncodeReport` (bytes, bpp, PSNR, per-group statistics).

    Raises:
        UsageError: an option outside its range; TypeError names a misspelled option.
    """
    options = EncodeOptions(preset=preset, quality=quality, group_size=group_size, key_interval=key_interval,
                            scene_cut_db=scene_cut_db, seed=seed, device=device, tile=tile, tuning=tuning)
    rank_timeout = checks.real("rank_timeout", rank_timeout, 0.1, MAX_RANK_TIMEOUT)
    job = current_job(rank_timeout) if checks.flag("distributed", distributed) else Job()
    if dest is not None and not _is_binary_writer(dest):
        dest = checks.path("dest", dest)
        check_outputs([source], [Output("output", dest)], overwrite=True)  # a stream or bytes has no path to check
    bpp, kbps = (None if v is None else checks.real(name, v, 0, math.inf) for name, v in (("bpp", bpp), ("kbps", kbps)))
    bars = progress_bars() if checks.flag("progress", progress) else None
    report_progress = combined(job_only(bars) if job.distributed else bars, on_progress)
    frame_iter, info = _frames_and_info(source, fps=fps, frames=frames, seek=seek, input_res=input_res,
                                        pix_fmt=pix_fmt, colour=colour)
    target = target_bpp(bpp, kbps, info.width, info.height, info.fps)
    if target is not None:
        clip = np.stack(list(frame_iter))
        options = replace(options, quality=search_quality(clip, info, target, options, log or (lambda _: None)))
        frame_iter = iter(clip)
    session = Session(logdir=logdir, resume=resume, on_progress=report_progress, job=job, label=_label(source))
    if dest is not None:
        return encode_video(frame_iter, info, dest, options, session)
    buffer = io.BytesIO()
    report = encode_video(frame_iter, info, buffer, options, session)
    if job.rank == 0:
        report.data = buffer.getvalue()
    return report


def _label(source: Any) -> str:
    """The source as messages about it name it."""
    if isinstance(source, (str, Path)):
        return str(source)
    return str(getattr(source, "name", f"the {type(source).__name__} input"))


def _frames_and_info(source: Any, *, fps, frames, seek, input_res, pix_fmt,
                     colour) -> tuple[Iterator[np.ndarray], VideoInfo]:
    fps = None if fps is None else checks.fraction("fps", fps)
    frames = None if frames is None else checks.integer("frames", frames, 1)
    seek = checks.integer("seek", seek, 0)
    if input_res is not None:
        if not (isinstance(input_res, (tuple, list)) and len(input_res) == 2):
            raise UsageError(f"input_res must be (width, height), got {input_res!r}")
        input_res = tuple(checks.integer(name, v, MIN_SIDE, MAX_SIDE)
                          for name, v in zip(("width", "height"), input_res))
    if pix_fmt is not None:
        checks.text("pix_fmt", pix_fmt)
    if colour is not None and not isinstance(colour, ColourInfo):
        raise UsageError(f"colour must be a ColourInfo, got {colour!r}")
    try:
        if isinstance(source, (str, Path)) or _is_binary_stream(source):
            if isinstance(source, (str, Path)):
                name = str(source)
                video: VideoSource = open_video(source, input_res=input_res, fps=fps, pix_fmt=pix_fmt,
                                                max_frames=frames, seek=seek, colour=colour)
            else:
                name = getattr(source, "name", "stream")
                video = open_stream(source, ReadRequest(input_res, fps, pix_fmt, colour, frames, seek), name)
            if frames is not None and video.info.frame_count is not None and video.info.frame_count < frames:
                raise InputError(f"{name}: {frames} frames asked for, the input has only "
                                 f"{video.info.frame_count} from frame {seek} on")
            return _exactly(_guarded(iter(video)), frames), video.info
        if frames is not None and hasattr(source, "__len__") and len(source) - seek < frames:
            raise InputError(f"{frames} frames asked for, the input has only {max(0, len(source) - seek)} "
                             f"from frame {seek} on")
        stop = None if frames is None else seek + frames
        stream = (_as_frame(f) for f in itertools.islice(_iterate(source), seek, stop))
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
    for frame in frames:
        got += 1
        yield frame
    if count is not None and got < count:
        raise InputError(f"{count} frames asked for, the input has only {got}")


def _is_binary_stream(source: Any) -> bool:
    """A readable binary file object (``sys.stdin.buffer``, an open file, ``io.BytesIO``)."""
    return callable(getattr(source, "read", None)) and not isinstance(source, io.TextIOBase)


def _is_binary_writer(dest: Any) -> bool:
    """A writable binary file object (``sys.stdout.buffer``, an open file, ``io.BytesIO``)."""
    return callable(getattr(dest, "write", None)) and not isinstance(dest, io.TextIOBase)


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
    colour_matrix: Matrix
    full_range: bool

    @property
    def bpp(self) -> float:
        return self.file_bytes * 8 / (self.width * self.height * self.frames)

    @classmethod
    def of(cls, bitstream: Bitstream) -> FileInfo:
        header: VideoHeader = bitstream.header
        return cls(bitstream.format_version, header.width, header.height, header.fps, header.frame_count,
                   len(bitstream.groups), sum(g.key for g in bitstream.groups), bitstream.config,
                   bitstream.encoder, bitstream.size, bitstream.groups[0].chunk.offset, bitstream.group_bytes,
                   header.colour_matrix, header.full_range)


@dataclass(frozen=True)
class GroupInfo:
    """One group as ``nvc info --groups`` shows it; ``bytes`` is its whole GRUP chunk."""

    index: int
    first_frame: int
    frame_count: int
    key: bool
    bytes: int
    bpp: float
    residual_tensors: int
    coded_tensors: int


class VideoFile:
    """An opened .nvc file: ``len()``, iteration, ``info``, and frames by index or slice."""

    def __init__(self, source: str | Path | BinaryIO, device: str = "cpu") -> None:
        if not isinstance(source, (str, os.PathLike)) and not all(hasattr(source, a) for a in ("read", "seek", "tell")):
            raise UsageError(f"cannot read an .nvc file from a {type(source).__name__}; pass a path or binary stream")
        self._decoder = Decoder(source, device)
        self.info = FileInfo.of(self._decoder.bitstream)

    def __len__(self) -> int:
        return self._decoder.frame_count

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.frames()

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...
    @overload
    def __getitem__(self, index: slice) -> list[np.ndarray]: ...

    def __getitem__(self, index: int | slice) -> np.ndarray | list[np.ndarray]:
        """A frame, or a list of frames selected by Python's slice rules (``video[5:3] == []``)."""
        if isinstance(index, slice):
            return list(self._selected(range(*index.indices(len(self)))))
        index = checks.integer("frame index", index, -(1 << 63))
        if not -len(self) <= index < len(self):
            raise FrameIndexError(f"frame {index} outside 0..{len(self) - 1}")
        index %= len(self)
        return next(self._decoder.frames(index, index + 1))

    def frames(self, start: int = 0, stop: int | None = None,
               on_progress: OnProgress | None = None) -> Iterator[np.ndarray]:
        """Iterate frames ``start <= t < stop`` (uint8 H x W x 3); ``on_progress`` hears of each group."""
        stop = len(self) if stop is None else stop
        frames = self._decoder.frames(start, stop)
        if on_progress is None:
            return frames
        return _reporting(frames, range(start, stop), self.info.config.group_size, on_progress)

    def _selected(self, indices: range) -> Iterator[np.ndarray]:
        """The frames at ``indices``: one pass for a contiguous run, else frame by frame."""
        if indices.step == 1 or len(indices) <= 1:
            return self._decoder.frames(indices[0], indices[-1] + 1) if indices else iter(())
        return (self[i] for i in indices)

    def group_info(self) -> list[GroupInfo]:
        """Per group: frames, key or inter, bytes, bpp, and how many tensors are coded as residuals."""
        bitstream = self._decoder.bitstream
        header = bitstream.header
        return [_group_info(bitstream, group, header.width * header.height) for group in bitstream.groups]

    def verify(self) -> int:
        """Entropy-decode every group (nothing rendered); returns the group count.

        Raises:
            BitstreamError: the first group that fails a check (CRC, table, coded data, symbols).
        """
        return self._decoder.verify()

    def close(self) -> None:
        self._decoder.close()

    def __enter__(self) -> VideoFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _group_info(bitstream: Bitstream, group: GroupRef, pixels: int) -> GroupInfo:
    header = bitstream.header
    shapes = expected_shapes(bitstream.config, header.height, header.width, group.frame_count)
    modes = tensor_modes(bitstream.group_payload(group), group.payload_offset, shapes)
    size = group.chunk.end - group.chunk.offset
    return GroupInfo(group.index, group.first_frame, group.frame_count, group.key, size,
                     size * 8 / (pixels * group.frame_count), sum(mode == RESIDUAL for mode in modes), len(modes))


def _reporting(frames: Iterator[np.ndarray], indices: range, group_size: int,
               on_progress: OnProgress) -> Iterator[np.ndarray]:
    """The frames, reporting a DecodeProgress once the caller has taken a group's last one."""
    for done, (t, frame) in enumerate(zip(indices, frames), 1):
        yield frame
        if done == len(indices) or (t + 1) % group_size == 0:
            on_progress(DecodeProgress(t // group_size, done, len(indices)))


def open(source: str | Path | BinaryIO, device: str = "cpu") -> VideoFile:  # noqa: A001 - like the builtin
    """Open an .nvc file for random access (frames render on ``device``)."""
    return VideoFile(source, device)


def decode(source: str | Path | BinaryIO, frames: range | tuple[int, int] | None = None,
           as_tensor: bool = False, device: str = "cpu") -> Iterator[np.ndarray | torch.Tensor]:
    """Decode an .nvc file lazily.

    Args:
        source: path or binary stream.
        frames: a ``range`` of frame indices (its step is honoured) or ``(start, stop)``; all when None.
        as_tensor: yield (3, H, W) uint8 torch tensors instead of (H, W, 3) numpy arrays.
        device: where to render ("cpu" or "cuda").
    """
    indices = _requested(frames)
    video = VideoFile(source, device)
    try:
        indices = _indices(indices, len(video))
    except BaseException:
        video.close()
        raise

    def generate() -> Iterator[np.ndarray | torch.Tensor]:
        with video:
            for frame in video._selected(indices):
                yield torch.from_numpy(frame).permute(2, 0, 1) if as_tensor else frame

    return generate()


def _requested(frames: object) -> range | None:
    """``decode(frames=...)`` as a range (None: every frame), refused unless a range or two integers >= 0."""
    if frames is None or isinstance(frames, range):
        return frames
    if not (isinstance(frames, tuple) and len(frames) == 2):
        raise UsageError(f"frames must be a range or a (start, stop) pair, got {frames!r}")
    return range(checks.integer("start", frames[0], 0), checks.integer("stop", frames[1], 0))


def _indices(indices: range | None, count: int) -> range:
    """The frame indices a ``decode(frames=...)`` asks for, refused when any lies outside the file."""
    if indices is None:
        return range(count)
    if indices and not (0 <= min(indices) and max(indices) < count):
        raise InputError(f"frame range {indices.start}:{indices.stop} outside 0:{count}")
    return indices
