"""The encoder: walk the video group by group, fit, code, and write one .nvc file.

Group g's network starts from group g-1's fitted, quantized network unless g is a key group
(every ``key_interval``-th group, for random access) or holds a scene cut (then it is fitted from
scratch with a key group's effort, but stays an inter group in the file); its tensors are then
coded intra or as residuals, whichever is smaller.  Every group is rendered through the decoder's own path, so the
reported PSNR is exactly what ``nvc decode`` will produce.
"""

from __future__ import annotations

import hashlib
import json
import time
from functools import partial
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

import numpy as np
import torch

from nvc.datasets import VideoInfo
from nvc.datasets.atomic import output_file
from nvc.models import FitEvent, QuantizedTensor, best_start, fit_group, native_bfloat16

from .version import __version__
from .bitstream import BitstreamWriter, decode_cost_problem
from .checkpoint import Checkpoint
from . import checks
from .config import MAX_FRAMES, MAX_GROUP_SIZE, CodecConfig, EncoderInfo, VideoHeader, config_to_json
from .defaults import DEVICE, GROUP_SIZE, KEY_INTERVAL, PRESET, SEED, TILE
from .device import resolve_device
from .errors import InputError, UsageError
from .progress import FitProgress, OnProgress
from .rate import DEFAULT_QUALITY, PRESETS, QUALITY_RANGE, Tuning, fit_settings, model_for_video, rate_lambda
from .render import build_network, expected_shapes, render_frames
from .scenes import SCENE_CUT_DB, holds_scene_cut
from .tensor_coding import RESIDUAL, decode_tensors, encode_tensors

__all__ = ["EncodeOptions", "GroupStats", "EncodeReport", "encode_video"]


MAX_SEED = (1 << 64) - 1
"""Seeds are 64-bit, like torch's generator."""


@dataclass(frozen=True)
class EncodeOptions:
    """Everything that shapes an encode (see ``nvc encode --help``)."""

    preset: str = PRESET
    quality: int = DEFAULT_QUALITY
    group_size: int = GROUP_SIZE
    key_interval: int = KEY_INTERVAL
    scene_cut_db: float = SCENE_CUT_DB
    seed: int = SEED
    device: str = DEVICE
    tile: int = TILE
    logdir: str | None = None
    resume: bool = False
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
            tile=checks.integer("tile", self.tile, 1),
            logdir=checks.optional_path("logdir", self.logdir), resume=checks.flag("resume", self.resume))
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        if self.preset not in PRESETS:
            raise UsageError(f"unknown preset {self.preset!r} (choose {', '.join(PRESETS)})")
        resolve_device(self.device)
        if not isinstance(self.tuning, Tuning):
            raise UsageError(f"tuning must be an nvc.codec.rate.Tuning, got {type(self.tuning).__name__}")
        try:
            self.codec_config()
            fit_settings(self.preset, self.quality, True, self.tuning)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def codec_config(self, height: int = 1080, width: int = 1920) -> CodecConfig:
        """The stored config for a video of this size."""
        return CodecConfig(model=model_for_video(self.quality, height, width, self.tuning), group_size=self.group_size,
                           key_interval=self.key_interval, tile=self.tile)


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


@dataclass
class EncodeReport:
    """What an encode produced; ``bpp`` counts every byte of the file (``data``: the file, when no
    destination was given)."""

    bytes: int
    width: int
    height: int
    frames: int
    psnr: float
    seconds: float
    quality: int
    groups: list[GroupStats] = field(default_factory=list)
    data: bytes | None = field(default=None, repr=False)

    @property
    def bpp(self) -> float:
        return self.bytes * 8 / (self.width * self.height * self.frames)


def encode_video(
    frames: Iterable[np.ndarray],
    video: VideoInfo,
    dest: str | Path | BinaryIO,
    options: EncodeOptions,
    on_progress: OnProgress | None = None,
) -> EncodeReport:
    """Encode RGB uint8 frames into ``dest`` (written once every group is coded).

    Args:
        frames: (H, W, 3) uint8 frames in display order; the count need not be known in advance.
        video: size, frame rate and colour of the video (its ``frame_count`` is not needed).
        dest: output path, replaced atomically once the whole file is written; or a binary stream,
            written only then (checkpoints for ``resume`` need a path).
        options: rate, effort and fitting options.
        on_progress: receives a :class:`FitProgress` per evaluation and each group's :class:`GroupStats`.
    """
    start = time.perf_counter()
    config = options.codec_config(video.height, video.width)
    if problem := decode_cost_problem(config, video.height, video.width):
        raise UsageError(f"the decoder would refuse this network for {video.width}x{video.height}: {problem}")
    encoder_info = EncoderInfo(options.preset, options.quality, rate_lambda(options.quality), options.seed, __version__)
    payloads: list[bytes] = []
    stats: list[GroupStats] = []
    with _checkpoint(dest, byte_options(options, config, encoder_info), options.resume) as checkpoint:
        logger = _TensorBoard(options.logdir) if options.logdir else None
        reference: dict[str, QuantizedTensor] | None = None
        previous_frame: np.ndarray | None = None
        first = 0
        for index, group in enumerate(_grouped(iter(frames), config.group_size, video)):
            if first + len(group) > MAX_FRAMES:
                raise InputError(f"the input holds more than {MAX_FRAMES} frames; select fewer")
            key = index % config.key_interval == 0
            scene_cut = not key and holds_scene_cut(group, previous_frame, options.scene_cut_db)
            digest = hashlib.sha256(group.tobytes()).hexdigest()
            saved = checkpoint.saved(index, digest)
            if saved is not None:
                payload, group_stats = saved.payload, GroupStats(**saved.stats)
                shapes = expected_shapes(config, video.height, video.width, len(group))
                symbols = decode_tensors(payload, 0, shapes, None if key else reference)
            else:
                payload, symbols, group_stats = _encode_group(group, index, first, key, scene_cut, config, video,
                                                              options, reference, logger, on_progress)
                checkpoint.save(index, digest, payload, group_stats)
            if on_progress is not None:
                on_progress(group_stats)
            payloads.append(payload)
            stats.append(group_stats)
            reference, first, previous_frame = symbols, first + len(group), group[-1]
        if first == 0:
            raise InputError("the input holds no frames")

        header = VideoHeader(video.width, video.height, video.fps, first, video.colour.matrix, video.colour.full_range)

        def write(stream: BinaryIO) -> int:
            writer = BitstreamWriter(stream, header, config, encoder_info)
            for group_stats, payload in zip(stats, payloads):
                writer.write_group(group_stats.index, group_stats.first_frame, group_stats.frame_count,
                                   group_stats.key, payload)
            return writer.finish()

        if isinstance(dest, (str, Path)):
            with output_file(Path(dest)) as target, open(target, "wb") as stream:
                size = write(stream)
        else:
            size = write(dest)
    total = first * video.width * video.height * 3
    sq_error = sum(g.squared_error for g in stats)
    return EncodeReport(size, video.width, video.height, first, _psnr(sq_error / total),
                        time.perf_counter() - start, options.quality, stats)


def _checkpoint(dest: str | Path | BinaryIO, options: dict, resume: bool) -> Checkpoint:
    """The checkpoint beside a destination path (locked); a stream keeps none, so cannot resume."""
    if isinstance(dest, (str, Path)):
        return Checkpoint.start(Path(dest), options, resume)
    if resume:
        raise UsageError("resume needs a destination path (the checkpoint lives beside it), not a stream")
    return Checkpoint.none(options)


def byte_options(options: EncodeOptions, config: CodecConfig, encoder: EncoderInfo) -> dict:
    """Everything the bytes of a file depend on (README, "Determinism"), as the checkpoint records it."""
    stored = json.loads(config_to_json(config, encoder))
    recorded = {**{key: value for key, value in stored.items() if key != "encoder"}, **stored["encoder"],
                "scene_cut_db": options.scene_cut_db, "tuning": asdict(options.tuning), "device": options.device,
                "threads": torch.get_num_threads(), "torch": torch.__version__,
                "cpu": torch.backends.cpu.get_cpu_capability(),
                "bf16": native_bfloat16(torch.device(options.device))}
    return json.loads(json.dumps(recorded))  # as the manifest reads back: tuples become lists


def _encode_group(
    group: np.ndarray,
    index: int,
    first: int,
    key: bool,
    scene_cut: bool,
    config: CodecConfig,
    video: VideoInfo,
    options: EncodeOptions,
    reference: dict[str, QuantizedTensor] | None,
    logger: "_TensorBoard | None",
    on_progress: OnProgress | None,
) -> tuple[bytes, dict[str, QuantizedTensor], GroupStats]:
    """Fit, code and score one group."""
    count = len(group)
    torch.manual_seed((options.seed * 1_000_003 + index) % (1 << 64))  # torch takes 64 bits; small seeds unchanged
    target = torch.from_numpy(group).to(options.device).permute(0, 3, 1, 2).float().div_(255)
    from_scratch = key or scene_cut
    settings = fit_settings(options.preset, options.quality, from_scratch, options.tuning)
    build = partial(_built_on, options.device, config, video.height, video.width, count)
    network = best_start(build, target, settings) if from_scratch else build()
    result = fit_group(network, target, settings, None if from_scratch else reference,
                       on_eval=_reporter(on_progress, logger, index, settings.iterations))
    symbols = {name: QuantizedTensor(t.symbols.cpu(), t.step) for name, t in result.symbols.items()}
    payload, tensor_stats = encode_tensors(symbols, None if key else reference)
    squared_error = 0.0
    for original, decoded in zip(group, render_frames(config, video.height, video.width, symbols, count)):
        squared_error += float(np.sum((original.astype(np.float64) - decoded) ** 2))
    stats = GroupStats(
        index=index, first_frame=first, frame_count=count, key=key, scene_cut=scene_cut, bytes=len(payload),
        psnr=_psnr(squared_error / group.size), squared_error=squared_error, iterations=result.iterations,
        fit_seconds=result.seconds, residual_tensors=sum(t.mode == RESIDUAL for t in tensor_stats),
        coded_tensors=len(tensor_stats), residual_saved_bytes=sum(t.intra_cost - t.cost for t in tensor_stats),
    )
    if logger is not None:
        logger.group(index, len(payload) * 8, stats.psnr)
    return payload, symbols, stats


def _built_on(device: str, config: CodecConfig, height: int, width: int, count: int) -> torch.nn.Module:
    return build_network(config, height, width, count).to(device)


def _psnr(mse_255: float) -> float:
    return float("inf") if mse_255 == 0 else 10 * np.log10(255.0**2 / mse_255)


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


def _reporter(on_progress: OnProgress | None, logger: "_TensorBoard | None", group: int,
              iterations: int) -> Callable[[FitEvent], None]:
    def report(event: FitEvent) -> None:
        if on_progress is not None:
            on_progress(FitProgress(group, event.iteration, iterations, event.psnr, event.bits))
        if logger is not None:
            logger.fit(group, event)

    return report


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
