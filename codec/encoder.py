"""The encoder: walk the video group by group, fit, code, and write one .nvc file.

Group g's network starts from group g-1's fitted, quantized network unless g is a key group
(every ``key_interval``-th group, for random access) or holds a scene cut (then it is fitted from
scratch with a key group's effort, but stays an inter group in the file); its tensors are then
coded intra or as residuals, whichever is smaller.  Every group is rendered through the decoder's
own path, so the reported PSNR is exactly what ``nvc decode`` will produce.

A key group and the inter groups after it form a *segment* that depends on nothing before it, so
the ranks of a ``torchrun`` job (:mod:`nvc.codec.distributed`) fit whole segments each, round
robin, and rank 0 gathers the coded groups and writes the file.  Seeds and every choice depend on
the group's index only, so 1, 2 or N processes give the same bytes at the same threads per process.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from nvc.datasets import VideoInfo
from nvc.datasets.atomic import output_file
from nvc.models import FitEvent, QuantizedTensor, fit_group, native_bfloat16, psnr_from_mse

from . import checks
from .bitstream import BitstreamWriter, decode_cost_problem, is_key_group
from .checkpoint import Checkpoint
from .config import MAX_FRAMES, MAX_GROUP_SIZE, CodecConfig, EncoderInfo, VideoHeader, config_to_json
from .defaults import DEVICE, GROUP_SIZE, KEY_INTERVAL, PRESET, SEED, TILE
from .device import resolve_device
from .distributed import Board, Job
from .errors import InputError, UsageError
from .progress import FitProgress, JobProgress, OnProgress
from .rate import DEFAULT_QUALITY, PRESETS, QUALITY_RANGE, Tuning, fit_settings, model_for_video, rate_lambda
from .render import build_network, expected_shapes, render_frames
from .scenes import SCENE_CUT_DB, holds_scene_cut
from .tensor_coding import RESIDUAL, decode_tensors, encode_tensors
from .version import __version__

__all__ = ["EncodeOptions", "Session", "GroupStats", "EncodeReport", "encode_video", "byte_options"]


MAX_SEED = (1 << 64) - 1
"""Seeds are 64-bit, like torch's generator."""
_CHECKED_FRAME_SIZE = (1080, 1920)
"""(height, width) at which options are checked before a video is open: the network and fitting
settings they derive must be valid for a 1080p frame."""


@dataclass(frozen=True)
class EncodeOptions:
    """What the file's bytes depend on (see ``nvc encode --help``), together with the machine's facts
    that :func:`byte_options` adds (threads, torch build, CPU kind): ``--resume`` compares exactly these."""

    preset: str = PRESET
    quality: int = DEFAULT_QUALITY
    group_size: int = GROUP_SIZE
    key_interval: int = KEY_INTERVAL
    scene_cut_db: float = SCENE_CUT_DB
    seed: int = SEED
    device: str = DEVICE
    tile: int = TILE
    tuning: Tuning = Tuning()
    """Expert overrides of the derived network and fitting settings (design experiments)."""

    def __post_init__(self) -> None:
        low, high = QUALITY_RANGE
        checked = dict(
            preset=checks.text("preset", self.preset), quality=checks.integer("quality", self.quality, low, high),
            group_size=checks.integer("group_size", self.group_size, 1, MAX_GROUP_SIZE),
            key_interval=checks.integer("key_interval", self.key_interval, 1, MAX_FRAMES),
            scene_cut_db=checks.real("scene-cut threshold (dB)", self.scene_cut_db, 0, 100),
            seed=checks.integer("seed", self.seed, 0, MAX_SEED), device=checks.text("device", self.device),
            tile=checks.integer("tile", self.tile, 1))
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        if self.preset not in PRESETS:
            raise UsageError(f"unknown preset {self.preset!r} (choose {', '.join(PRESETS)})")
        resolve_device(self.device)
        if not isinstance(self.tuning, Tuning):
            raise UsageError(f"tuning must be an nvc.codec.rate.Tuning, got {type(self.tuning).__name__}")
        try:
            self.codec_config(*_CHECKED_FRAME_SIZE)
            for from_scratch in (True, False):
                fit_settings(self.preset, self.quality, from_scratch, _CHECKED_FRAME_SIZE, self.tuning)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def codec_config(self, height: int, width: int) -> CodecConfig:
        """The stored config for a video of this size."""
        model = model_for_video(self.quality, height, width, self.tuning)
        return CodecConfig(model=model, group_size=self.group_size,
                           key_interval=self.key_interval, tile=self.tile)


@dataclass(frozen=True)
class Session:
    """How one encode runs, as opposed to what it makes: nothing here changes a byte of the file."""

    logdir: str | None = None
    resume: bool = False
    on_progress: OnProgress | None = None
    job: Job = field(default_factory=Job)
    """The torchrun job whose ranks share the encode (default: this process alone)."""
    label: str = "the input"
    """Names the input in messages about a rank's work."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "logdir", checks.optional_path("logdir", self.logdir))
        object.__setattr__(self, "resume", checks.flag("resume", self.resume))


@dataclass(frozen=True)
class GroupStats:
    """Per-group results, as written by ``--stats``."""

    index: int
    first_frame: int
    frame_count: int
    key: bool
    scene_cut: bool  # an inter group fitted from scratch because it holds a scene cut
    bytes: int
    psnr: float
    squared_error: float  # sum over the group's 8-bit RGB samples
    iterations: int
    fit_seconds: float
    residual_tensors: int
    coded_tensors: int
    residual_saved_bytes: float  # estimated bytes residual coding saved against coding every tensor intra
    collapses: int = 0  # times the fit fell far below its best and resumed from it (FitSettings.collapse_db)


@dataclass
class EncodeReport:
    """What an encode produced; ``bpp`` counts every byte of the file (``data``: the file, when no
    destination was given; in a distributed encode, on rank 0 only)."""

    bytes: int
    width: int
    height: int
    frames: int
    psnr: float
    seconds: float
    quality: int
    groups: list[GroupStats] = field(default_factory=list)
    data: builtins.bytes | None = field(default=None, repr=False)  # builtins: the class has a bytes field

    @property
    def bpp(self) -> float:
        return self.bytes * 8 / (self.width * self.height * self.frames)


@dataclass(frozen=True)
class _CodedGroup:
    payload: bytes
    stats: GroupStats

    def packed(self) -> bytes:
        """As one rank hands it to rank 0: the statistics as a JSON line, then the payload."""
        return json.dumps(asdict(self.stats)).encode() + b"\n" + self.payload

    @classmethod
    def unpacked(cls, data: bytes) -> _CodedGroup:
        stats, _, payload = data.partition(b"\n")
        return cls(payload, GroupStats(**json.loads(stats)))


def encode_video(
    frames: Iterable[np.ndarray],
    video: VideoInfo,
    dest: str | Path | BinaryIO,
    options: EncodeOptions,
    session: Session = Session(),
) -> EncodeReport:
    """Encode RGB uint8 frames into ``dest`` (written once every group is coded).

    Args:
        frames: (H, W, 3) uint8 frames in display order; the count need not be known in advance.
            In a distributed encode every rank reads the same frames and fits its own segments.
        video: size, frame rate and colour of the video (its ``frame_count`` is not needed).
        dest: output path, replaced atomically once the whole file is written; or a binary stream,
            written only then (checkpoints for ``resume`` need a path).  Only rank 0 writes.
        options: what the bytes depend on; session: how this encode runs (progress, resume, job).
    """
    start = time.perf_counter()
    config = options.codec_config(video.height, video.width)
    if problem := decode_cost_problem(config, video.height, video.width):
        raise UsageError(f"the decoder would refuse this network for {video.width}x{video.height}: {problem}")
    encoder_info = EncoderInfo(options.preset, options.quality, rate_lambda(options.quality), options.seed, __version__)
    job = session.job
    board = job.board() if job.distributed else None
    try:
        with _open_checkpoint(dest, byte_options(options, config, encoder_info), session.resume, job, board) as saved:
            tracker = _JobTracker(board, video, config, session.on_progress) if job.rank == 0 and board else None
            coder = _GroupCoder(config, video, options, session, tracker)
            coded, frame_count = _code_own_segments(frames, video, config, coder, saved, session, board)
            if job.rank != 0:
                assert board is not None
                return _report_from(json.loads(board.wait("report", owner=0)), video, options)
            _gather(coded, frame_count, config, board, tracker)
            header = VideoHeader(video.width, video.height, video.fps, frame_count, video.colour.matrix,
                                 video.colour.full_range)
            size = _write(dest, header, config, encoder_info, [coded[i] for i in sorted(coded)])
            stats = [coded[i].stats for i in sorted(coded)]
            samples = frame_count * video.width * video.height * 3
            report = EncodeReport(size, video.width, video.height, frame_count,
                                  psnr_from_mse(sum(g.squared_error for g in stats) / samples, 255.0),
                                  time.perf_counter() - start, options.quality, stats)
            if board is not None:
                board.post("report", json.dumps({"bytes": size, "frames": frame_count, "psnr": report.psnr,
                                                 "seconds": report.seconds, "groups": [asdict(g) for g in stats]}))
            return report
    except BaseException as error:
        if board is not None:
            board.fail(error)
        raise


def _open_checkpoint(dest: str | Path | BinaryIO, recorded: dict, resume: bool, job: Job,
                     board: Board | None) -> Checkpoint:
    """Rank 0 locks and opens the checkpoint beside a destination path; the other ranks join it once
    rank 0 says it is ready.  A stream keeps none, so cannot resume."""
    if job.rank != 0:
        assert board is not None
        board.wait("ready", owner=0)
        joined = Checkpoint.join(Path(dest), recorded) if isinstance(dest, (str, Path)) else Checkpoint.none(recorded)
        board.post(f"joined/{job.rank}", "1")  # rank 0 writes the file only once every rank is past its checks
        return joined
    if isinstance(dest, (str, Path)):
        checkpoint = Checkpoint.start(Path(dest), recorded, resume)
    elif resume:
        raise UsageError("resume needs a destination path (the checkpoint lives beside it), not a stream")
    else:
        checkpoint = Checkpoint.none(recorded)
    if board is not None:
        board.post("ready", "1")
    return checkpoint


def _code_own_segments(frames: Iterable[np.ndarray], video: VideoInfo, config: CodecConfig, coder: _GroupCoder,
                       checkpoint: Checkpoint, session: Session, board: Board | None
                       ) -> tuple[dict[int, _CodedGroup], int]:
    """Fit and code (or take from the checkpoint) the groups of this rank's segments; every group
    when the job is this process alone.  Returns them by index, and the video's frame count."""
    job = session.job
    coded: dict[int, _CodedGroup] = {}
    reference: dict[str, QuantizedTensor] | None = None
    previous_frame: np.ndarray | None = None
    first = 0
    for index, group in enumerate(_grouped(iter(frames), config.group_size, video)):
        if first + len(group) > MAX_FRAMES:
            raise InputError(f"the input holds more than {MAX_FRAMES} frames; select fewer")
        segment, key = index // config.key_interval, is_key_group(index, config.key_interval)
        if job.owns(segment):
            if board is not None:
                board.check_others()
                board.doing(f"encoding segment {segment} (group {index}, from frame {first}) of {session.label}")
            scene_cut = not key and holds_scene_cut(group, previous_frame, coder.options.scene_cut_db)
            digest = hashlib.sha256(group.tobytes()).hexdigest()
            saved = checkpoint.saved(index, digest)
            if saved is not None:
                done = _CodedGroup(saved.payload, GroupStats(**saved.stats))
                shapes = expected_shapes(config, video.height, video.width, len(group))
                symbols = decode_tensors(done.payload, 0, shapes, None if key else reference)
            else:
                done, symbols = coder.code(group, index, first, key, scene_cut, reference)
                checkpoint.save(index, digest, done.payload, done.stats)
            if board is not None:
                board.post(f"group/{index}", done.packed())
                board.add("done", 1)
            coder.report(done.stats)
            coded[index], reference = done, symbols
        first, previous_frame = first + len(group), group[-1]
    if first == 0:
        raise InputError("the input holds no frames")
    return coded, first


def _gather(coded: dict[int, _CodedGroup], frame_count: int, config: CodecConfig, board: Board | None,
            tracker: _JobTracker | None) -> None:
    """Rank 0: collect the other ranks' coded groups into ``coded``, in order, waiting for each owner."""
    if board is None:
        return
    for rank in range(1, board.job.world_size):
        board.wait(f"joined/{rank}", rank)
    groups = math.ceil(frame_count / config.group_size)
    for index in range(groups):
        if index not in coded:
            owner = board.job.owner(index // config.key_interval)
            coded[index] = _CodedGroup.unpacked(board.wait(f"group/{index}", owner,
                                                           on_poll=tracker.poll if tracker else None))
    if tracker is not None:
        tracker.poll(force=True)


def _write(dest: str | Path | BinaryIO, header: VideoHeader, config: CodecConfig, encoder_info: EncoderInfo,
           groups: list[_CodedGroup]) -> int:
    """Write the file (a path atomically); returns its size in bytes."""

    def write(stream: BinaryIO) -> int:
        writer = BitstreamWriter(stream, header, config, encoder_info)
        for group in groups:
            s = group.stats
            writer.write_group(s.index, s.first_frame, s.frame_count, s.key, group.payload)
        return writer.finish()

    if isinstance(dest, (str, Path)):
        with output_file(Path(dest)) as target, open(target, "wb") as stream:
            return write(stream)
    return write(dest)


def _report_from(doc: dict, video: VideoInfo, options: EncodeOptions) -> EncodeReport:
    """The report rank 0 posted, as every other rank returns it (without the file's bytes)."""
    return EncodeReport(doc["bytes"], video.width, video.height, doc["frames"], doc["psnr"], doc["seconds"],
                        options.quality, [GroupStats(**g) for g in doc["groups"]])


def byte_options(options: EncodeOptions, config: CodecConfig, encoder: EncoderInfo) -> dict:
    """Everything the bytes of a file depend on (README, "Determinism"), as the checkpoint records it."""
    stored = json.loads(config_to_json(config, encoder))
    recorded = {**{key: value for key, value in stored.items() if key != "encoder"}, **stored["encoder"],
                "scene_cut_db": options.scene_cut_db, "tuning": asdict(options.tuning), "device": options.device,
                "threads": torch.get_num_threads(), "torch": torch.__version__,
                "cpu": torch.backends.cpu.get_cpu_capability(),
                "bf16": native_bfloat16(torch.device(options.device))}
    return json.loads(json.dumps(recorded))  # as the manifest reads back: tuples become lists


class _GroupCoder:
    """Fits, codes and scores one group at a time, with what stays the same for every group."""

    def __init__(self, config: CodecConfig, video: VideoInfo, options: EncodeOptions, session: Session,
                 tracker: _JobTracker | None) -> None:
        self.config, self.video, self.options = config, video, options
        self.device = _rank_device(options.device, session.job)
        self._on_progress, self._tracker = session.on_progress, tracker
        self._logger = _TensorBoard(session.logdir) if session.logdir else None

    def code(self, group: np.ndarray, index: int, first: int, key: bool, scene_cut: bool,
             reference: dict[str, QuantizedTensor] | None) -> tuple[_CodedGroup, dict[str, QuantizedTensor]]:
        """Fit group ``index`` (from scratch, or from ``reference``), code it, and score the decoded frames."""
        count, options, video = len(group), self.options, self.video
        torch.manual_seed((options.seed * 1_000_003 + index) % (1 << 64))  # torch takes 64 bits; small seeds unchanged
        target = torch.from_numpy(group).to(self.device).permute(0, 3, 1, 2).float().div_(255)
        from_scratch = key or scene_cut
        settings = fit_settings(options.preset, options.quality, from_scratch, (video.height, video.width),
                                options.tuning)
        network = build_network(self.config, video.height, video.width, count).to(self.device)
        result = fit_group(network, target, settings, None if from_scratch else reference,
                           on_eval=self._reporter(index, settings.iterations))
        symbols = {name: QuantizedTensor(t.symbols.cpu(), t.step) for name, t in result.symbols.items()}
        payload, tensor_stats = encode_tensors(symbols, None if key else reference)
        squared_error = 0.0
        for original, decoded in zip(group, render_frames(self.config, video.height, video.width, symbols, count)):
            squared_error += float(np.sum((original.astype(np.float64) - decoded) ** 2))
        stats = GroupStats(
            index=index, first_frame=first, frame_count=count, key=key, scene_cut=scene_cut, bytes=len(payload),
            psnr=psnr_from_mse(squared_error / group.size, 255.0), squared_error=squared_error,
            iterations=result.iterations,
            fit_seconds=result.seconds, residual_tensors=sum(t.mode == RESIDUAL for t in tensor_stats),
            coded_tensors=len(tensor_stats), residual_saved_bytes=sum(t.intra_cost - t.cost for t in tensor_stats),
            collapses=result.collapses,
        )
        if self._logger is not None:
            self._logger.group(index, len(payload) * 8, stats.psnr)
        return _CodedGroup(payload, stats), symbols

    def report(self, stats: GroupStats) -> None:
        if self._on_progress is not None:
            self._on_progress(stats)
        if self._tracker is not None:
            self._tracker.poll(force=True)

    def _reporter(self, group: int, iterations: int) -> Callable[[FitEvent], None]:
        def report(event: FitEvent) -> None:
            if self._on_progress is not None:
                self._on_progress(FitProgress(group, event.iteration, iterations, event.psnr, event.bits))
            if self._logger is not None:
                self._logger.fit(group, event)
            if self._tracker is not None:
                self._tracker.poll()

        return report


def _rank_device(name: str, job: Job) -> torch.device:
    """Where this process fits: on GPUs, each rank of a machine takes its own (``cuda:LOCAL_RANK``)."""
    device = resolve_device(name)
    if device.type == "cuda" and job.distributed:
        return torch.device("cuda", job.local_rank % torch.cuda.device_count())
    return device


class _JobTracker:
    """Rank 0's view of the whole job's progress: groups coded by every rank, against the groups expected."""

    _EVERY_SECONDS = 1.0

    def __init__(self, board: Board, video: VideoInfo, config: CodecConfig, on_progress: OnProgress | None) -> None:
        self._board, self._on_progress = board, on_progress
        self._groups = None if video.frame_count is None else math.ceil(video.frame_count / config.group_size)
        self._done, self._last = -1, 0.0

    def poll(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._on_progress is None or (not force and now - self._last < self._EVERY_SECONDS):
            return
        self._last, done = now, self._board.add("done", 0)
        if done != self._done:
            self._done = done
            self._on_progress(JobProgress(done, self._groups))




def _grouped(frames: Iterator[np.ndarray], group_size: int, video: VideoInfo) -> Iterator[np.ndarray]:
    """Stack the frame stream into groups of ``group_size`` (the last may be shorter)."""
    shape = (video.height, video.width, 3)
    while True:
        group = []
        for frame in frames:
            if not (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.shape == shape):
                got = f"{getattr(frame, 'dtype', type(frame).__name__)} {getattr(frame, 'shape', '')}"
                raise InputError(f"frames must be uint8 arrays of shape {shape}, got {got}")
            group.append(frame)
            if len(group) == group_size:
                break
        if not group:
            return
        yield np.stack(group)
        if len(group) < group_size:
            return


class _TensorBoard:
    """Loss, PSNR and bits per group, for ``--logdir``."""

    def __init__(self, logdir: str) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(logdir)

    def fit(self, group: int, event: FitEvent) -> None:
        self._writer.add_scalar(f"group{group}/psnr", event.psnr, event.iteration)
        self._writer.add_scalar(f"group{group}/bits", event.bits, event.iteration)
        self._writer.add_scalar(f"group{group}/cost", event.cost, event.iteration)

    def group(self, group: int, bits: int, psnr: float) -> None:
        self._writer.add_scalar("groups/bits", bits, group)
        self._writer.add_scalar("groups/psnr", psnr, group)
        self._writer.flush()
