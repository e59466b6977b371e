"""The ``nvc`` command line: encode, decode, info, compare; a thin layer over the library API.

Progress and logs go to stderr; stdout carries only what was asked for (``--psnr``, ``--json``, a
video written to ``-``).  Every failure is one line on stderr and a documented exit code (see
``EXIT_CODES``).  Only light modules load at the top, so ``--help``, ``--version`` and usage
errors answer before torch is imported; each command imports what it uses.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import numbers
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .completion import add_completion, completes_path
from .container import FORMAT_VERSION
from .defaults import DEVICE, DEVICES, GROUP_SIZE, KEY_INTERVAL, PRESET, SCENE_CUT_DB, SEED, default_threads
from .distributed import DEFAULT_RANK_TIMEOUT, job_rank
from .errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUNTIME,
    BitstreamError,
    CodecRuntimeError,
    InputError,
    NvcError,
    UsageError,
    is_out_of_memory,
)
from .logs import quiet_warnings, warnings_to_stderr
from .rate import DEFAULT_QUALITY, PRESETS, QUALITY_RANGE
from .signals import Terminated, exit_code_of, terminations_interrupt
from .version import __version__

if TYPE_CHECKING:
    from .batch import BatchItem
    from .encoder import EncodeReport
    from .outputs import OutputKind
    from .progress import OnProgress

__all__ = ["main", "EXIT_CODES", "build_parser"]  # the console script is nvc.__main__:run

EXIT_CODES = {
    EXIT_OK: "success",
    UsageError.exit_code: "usage error (bad options, output exists without -y)",
    InputError.exit_code: "unreadable or unsupported input (or unwritable output)",
    BitstreamError.exit_code: "corrupt, truncated or unsupported .nvc bitstream",
    CodecRuntimeError.exit_code: "runtime failure",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C; 143 for SIGTERM, 129 for SIGHUP); no partial output is left",
}
STDIO = "-"
"""The file name that means stdin (an input) or stdout (an output)."""
RAW_BPP = 12
"""Bits per pixel of raw 8-bit 4:2:0 video (a .y4m or .yuv input): the size an encode should beat."""

_EXAMPLES = {
    "encode": """examples:
  nvc encode clip.mp4 clip.nvc                          preset medium, quality 28
  nvc encode clip.mp4 clip.nvc --preset slow --crf 22   better quality, more time
  nvc encode clip.mp4 clip.nvc --bpp 0.1                reach a rate by search (or --bitrate KBPS)
  nvc encode clip.yuv clip.nvc --input-res 352x288 --fps 30000/1001
  ffmpeg -i in.mkv -f yuv4mpegpipe - | nvc encode - clip.nvc      y4m from a pipe
  nvc encode clip.mp4 clip.nvc -r recon.mkv --psnr      also write the reconstruction, print PSNR
  nvc encode --batch videos/ out/                       every video in videos/ -> out/NAME.nvc
  torchrun --nproc-per-node 2 -m nvc encode clip.mp4 clip.nvc      segments fitted by 2 processes
                                                        (docs/scaling.md: several machines, SLURM)""",
    "decode": """examples:
  nvc decode clip.nvc out.mkv                lossless FFV1
  nvc decode clip.nvc out.y4m --frames 30:60 only frames 30..59
  nvc decode clip.nvc frames/                a folder of PNGs
  nvc decode clip.nvc - | ffplay -           y4m to a pipe""",
    "info": """examples:
  nvc info clip.nvc
  nvc info clip.nvc --groups         one line per group: frames, key or inter, bytes, bpp
  nvc info clip.nvc --groups --json""",
    "compare": """examples:
  nvc compare original.y4m clip.nvc          per-frame and mean PSNR (RGB, YUV) and MS-SSIM
  nvc compare original.mp4 decoded.mkv --json""",
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns every exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except None: such an option is off, or has its default in its help.
    Epilogs (the examples) keep their lines."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return action.help if action.default is None else super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    fmt = _HelpFormatter
    epilog = "exit codes:\n" + "\n".join(f"  {code:<4}{what}" for code, what in EXIT_CODES.items())
    parser = _Parser(prog="nvc", description="Neural implicit video codec.", formatter_class=fmt, epilog=epilog)
    parser.add_argument("--version", action="version",
                        version=f"nvc {__version__} (bitstream format {FORMAT_VERSION})")
    add_completion(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".",
                                   epilog=_EXAMPLES[name], formatter_class=fmt)

    enc = command("encode", "encode a video into an .nvc file")
    completes_path(enc.add_argument("input", help="video file (.mp4 .mkv .webm .mov .avi .y4m .yuv), PNG folder, "
                                                  "or - for y4m (or raw yuv420p with --input-res) on stdin; "
                                                  "with --batch, a folder of videos or a file listing one per line"))
    completes_path(enc.add_argument("output",
                                    help="output .nvc file, or - for stdout; with --batch, the output folder"))
    enc.add_argument("--preset", choices=list(PRESETS), default=PRESET, help="fitting effort")
    rate = enc.add_mutually_exclusive_group()
    rate.add_argument("-q", "--quality", "--crf", type=int, default=None,
                      help=f"{QUALITY_RANGE[0]}..{QUALITY_RANGE[1]}, lower is better (default {DEFAULT_QUALITY})")
    rate.add_argument("--bpp", type=float, help="target bits per pixel (searched)")
    rate.add_argument("--bitrate", type=float, metavar="KBPS", help="target kbit/s (searched)")
    enc.add_argument("--group-size", type=int, default=GROUP_SIZE, help="frames per group (one network each)")
    enc.add_argument("--key-interval", type=int, default=KEY_INTERVAL,
                     help="every N-th group is a key group: fitted from scratch, decodable on its own")
    enc.add_argument("--scenecut", type=float, default=SCENE_CUT_DB, metavar="DB",
                     help="fit a group from scratch when two consecutive frames in it (or across its start) "
                          "fall below this RGB PSNR; 0: never")
    enc.add_argument("-f", "--frames", type=int, help="encode at most N frames")
    enc.add_argument("--seek", type=int, default=0, help="skip the first N frames")
    enc.add_argument("--input-res", metavar="WxH", help="frame size of a raw .yuv input (or of raw yuv on stdin)")
    enc.add_argument("--fps", metavar="N|N/D", help="frame rate of a raw .yuv input (or override)")
    enc.add_argument("--pix-fmt", default=None, help="pixel format of a raw .yuv input (yuv420p)")
    _add_machine(enc)
    enc.add_argument("--seed", type=int, default=SEED, help="seeds every fit; CPU fits are deterministic for a seed")
    enc.add_argument("--logdir", help="write TensorBoard logs here")
    enc.add_argument("--stats", help="write per-group statistics (JSON) here")
    enc.add_argument("-r", "--recon", help="also write the decoded reconstruction here (any decode output)")
    enc.add_argument("--psnr", action="store_true", help="print PSNR and bpp to stdout at the end")
    enc.add_argument("--resume", action="store_true",
                     help="continue an interrupted encode of the same input and options, keeping every group "
                          "already coded (with --batch: also keep the outputs already written)")
    enc.add_argument("--batch", action="store_true",
                     help="encode every video INPUT names into the folder OUTPUT (NAME.nvc each); under "
                          "torchrun the processes share the videos; prints a summary table")
    enc.add_argument("--rank-timeout", type=float, default=DEFAULT_RANK_TIMEOUT, metavar="SECONDS",
                     help="under torchrun: give up a process that stops responding for this long")
    _add_common(enc)

    dec = command("decode", "decode an .nvc file")
    completes_path(dec.add_argument("input", help=".nvc file"))
    completes_path(dec.add_argument("output", help=".y4m/.yuv (4:2:0, lossy in RGB), .mkv (FFV1 lossless), "
                                                   ".mp4 (x264), a PNG folder, or - for y4m on stdout"))
    dec.add_argument("--frames", metavar="A:B", help="decode only frames A <= t < B")
    dec.add_argument("--lossless", action="store_true", help="lossless RGB H.264 for .mp4 output")
    _add_machine(dec)
    _add_common(dec)

    info = command("info", "describe an .nvc file")
    completes_path(info.add_argument("input", help=".nvc file"))
    info.add_argument("--groups", action="store_true",
                      help="one line per group: frames, key or inter, bytes, bpp, residual tensors")
    info.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    info.add_argument("--verify", action="store_true",
                      help="also entropy-decode every group (no rendering): OK, or the error with exit code 4")

    cmp = command("compare", "score a video against a reference: PSNR (RGB, YUV) and MS-SSIM")
    completes_path(cmp.add_argument("reference",
                                    help="the original: any video nvc reads, an .nvc file, or - for y4m on stdin"))
    completes_path(cmp.add_argument("distorted", help="the video to score, e.g. an .nvc file or its decode (or -)"))
    cmp.add_argument("--input-res", metavar="WxH", help="frame size of raw .yuv inputs")
    cmp.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    return parser


def _add_machine(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--device", choices=DEVICES, default=DEVICE, help="where to fit and render")
    sub.add_argument("--threads", type=int, default=default_threads(),
                     help="CPU threads; by default the CPUs this process may use, or OMP_NUM_THREADS when set")


def _add_common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("-y", "--overwrite", action="store_true", help="overwrite the output if it exists")
    sub.add_argument("--progress", choices=("bar", "json", "none"), default="bar",
                     help="progress on stderr: bars, one JSON object per line (per group and evaluation), "
                          "or none")
    sub.add_argument("--no-progress", action="store_const", dest="progress", const="none",
                     help="the same as --progress none")
    noise = sub.add_mutually_exclusive_group()
    noise.add_argument("-v", "--verbose", action="store_true", help="per-group details on stderr")
    noise.add_argument("--quiet", action="store_true", help="only errors on stderr")


def _log(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def _on_progress(args: argparse.Namespace, distributed: bool = False) -> OnProgress | None:
    """Bars, JSON lines or nothing; in a distributed encode only rank 0 shows the job's progress, and
    ``-v`` adds a line per group from every rank."""
    from .progress import combined, job_only, json_lines, progress_bars

    shown = json_lines() if args.progress == "json" else None if args.quiet or args.progress == "none" \
        else progress_bars()
    if not distributed:
        return shown
    rank = job_rank()
    return combined(job_only(shown) if rank == 0 else None, _rank_lines(args, rank) if args.verbose else None)


def _rank_lines(args: argparse.Namespace, rank: int | None) -> OnProgress:
    """A line on stderr per group a rank of a distributed encode has coded."""
    from .encoder import GroupStats

    def report(event: object) -> None:
        if isinstance(event, GroupStats):
            _log(args, f"nvc: rank {rank}: group {event.index} (frames {event.first_frame}-"
                       f"{event.first_frame + event.frame_count - 1}) {event.bytes} bytes {event.psnr:.2f} dB "
                       f"{event.fit_seconds:.1f} s")

    return report


def _check_outputs(args: argparse.Namespace, *outputs: tuple[str, str | None, OutputKind]) -> None:
    """Every output ``(option, path, kind)`` under the one rule of :mod:`nvc.codec.outputs`, before any
    work; ``-`` (stdout) has no path to check, only that it is not a terminal."""
    from .outputs import Output, check_outputs

    named = []
    for option, path, kind in outputs:
        if path != STDIO:
            named.append(Output(option, path, kind))
        elif sys.stdout.isatty():
            raise UsageError("refusing to write binary video to a terminal; redirect stdout or name a file")
    check_outputs([] if args.input == STDIO else [args.input], named, overwrite=args.overwrite)


def _parse_fps(text: str | None) -> Fraction | None:
    if text is None:
        return None
    from nvc.datasets import VideoInputError
    from nvc.datasets.limits import as_fps

    try:
        return as_fps(Fraction(text), "--fps")
    except (ValueError, ZeroDivisionError) as exc:  # VideoInputError is a ValueError
        raise UsageError(str(exc) if isinstance(exc, VideoInputError) else
                         f"--fps {text!r} is not a number or N/D fraction") from None


def _parse_res(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    from nvc.datasets import VideoInputError
    from nvc.datasets.limits import check_size, parse_size

    try:
        width, height = parse_size(text)
        check_size(width, height, "--input-res")
    except VideoInputError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        raise UsageError(f"--input-res {exc}") from None
    return width, height


def _parse_range(text: str | None) -> tuple[int, int | None]:
    if text is None:
        return 0, None
    try:
        start, _, stop = text.partition(":")
        first, last = int(start or 0), (int(stop) if stop else None)
    except ValueError:
        raise UsageError(f"--frames {text!r} is not A:B") from None
    if first < 0 or (last is not None and last <= first):
        raise UsageError(f"--frames {text}: need 0 <= A < B")
    return first, last


@contextmanager
def _cpu_threads(threads: int | None) -> Iterator[None]:
    """Run a command on ``threads`` CPU threads (None: a command without torch), then restore torch's
    setting, so that main() called in-process changes nothing for its caller."""
    if threads is None:
        yield
        return
    if threads < 1:
        raise UsageError(f"--threads must be at least 1, got {threads}")
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _stdio(path: str, stream: BinaryIO) -> str | BinaryIO:
    """``-`` as the process's own binary stdin or stdout; any other name as itself."""
    return stream if path == STDIO else path


def cmd_encode(args: argparse.Namespace) -> int:
    if args.batch:
        return _encode_batch(args)
    if args.input == STDIO and sys.stdin.isatty():
        raise UsageError("input - reads video from stdin, but stdin is a terminal; pipe y4m into nvc")
    _check_outputs(args, ("output", args.output, "file"), ("--stats", args.stats, "file"),
                   ("--recon", args.recon, "video"), ("--logdir", args.logdir, "folder"))
    if args.recon:
        from nvc.datasets.atomic import is_stream

        if args.output == STDIO or is_stream(Path(args.output)):
            raise UsageError(f"--recon decodes the written file, and {args.output} is stdout, a device or a pipe "
                             "that keeps nothing; write the .nvc to a file")
    from .api import encode

    distributed = job_rank() is not None
    if distributed and args.input == STDIO:
        raise UsageError("under torchrun every process reads the input itself: name a file, not -")
    quality = DEFAULT_QUALITY if args.quality is None else args.quality
    report = encode(_stdio(args.input, sys.stdin.buffer), _stdio(args.output, sys.stdout.buffer), quality=quality,
                    bpp=args.bpp, kbps=args.bitrate, on_progress=_on_progress(args, distributed),
                    log=lambda message: _log(args, message), distributed=distributed,
                    rank_timeout=args.rank_timeout, logdir=args.logdir, resume=args.resume,
                    **_source_options(args), **_coding_options(args))
    if distributed and job_rank() != 0:
        return EXIT_OK  # rank 0 reports and writes every output
    if args.verbose and not distributed:
        for g in report.groups:
            cut = ", scene cut: fitted from scratch" if g.scene_cut else ""
            kind = "key" if g.key else f"inter ({g.residual_tensors}/{g.coded_tensors} residual{cut})"
            resumed = f" (resumed after {g.collapses} collapse{'s' * (g.collapses > 1)})" if g.collapses else ""
            _log(args, f"group {g.index}: frames {g.first_frame}-{g.first_frame + g.frame_count - 1} {kind} "
                       f"{g.bytes} bytes {g.psnr:.2f} dB {g.iterations} it{resumed} {g.fit_seconds:.1f} s")
    _log(args, f"nvc: {report.frames} frames {report.width}x{report.height} -> {args.output}: {report.bytes} bytes, "
               f"{report.bpp:.4f} bpp, RGB PSNR {report.psnr:.2f} dB, {report.seconds:.1f} s")
    _warn_if_larger_than_raw(args, report)
    if args.stats:
        _write_json(args.stats, {"bytes": report.bytes, "bpp": report.bpp, "psnr_rgb": report.psnr,
                                 "seconds": report.seconds, "quality": report.quality,
                                 "groups": [dataclasses.asdict(g) for g in report.groups]})
    if args.recon:
        _decode_to(args.output, args.recon, 0, None, lossless=True, device=args.device, on_progress=None)
    if args.psnr:
        print(f"psnr_rgb={report.psnr:.4f} bpp={report.bpp:.6f} bytes={report.bytes}")
    return EXIT_OK


def _source_options(args: argparse.Namespace) -> dict:
    """How ``nvc encode`` reads its input, as :func:`nvc.encode`'s keywords."""
    return dict(fps=_parse_fps(args.fps), frames=args.frames, seek=args.seek, input_res=_parse_res(args.input_res),
                pix_fmt=args.pix_fmt)


def _coding_options(args: argparse.Namespace) -> dict:
    """What the bytes depend on, as :func:`nvc.encode`'s keywords (the rate: ``quality``, ``bpp``, ``kbps``)."""
    return dict(preset=args.preset, group_size=args.group_size, key_interval=args.key_interval,
                scene_cut_db=args.scenecut, seed=args.seed, device=args.device)


def _encode_batch(args: argparse.Namespace) -> int:
    """``--batch``: every input of a folder or list into OUTPUT/NAME.nvc, shared among a torchrun job's ranks."""
    from .batch import batch_items, exit_code, run_batch, summary_table
    from .distributed import Job, current_job
    from .outputs import Output, check_outputs

    if STDIO in (args.input, args.output) or args.recon or args.logdir:
        raise UsageError("--batch reads a folder or list and writes a folder: - , --recon and --logdir do not apply")
    if args.bpp is not None or args.bitrate is not None:
        raise UsageError("--batch encodes at one --crf; a --bpp or --bitrate search is per video")
    _check_outputs(args, ("--stats", args.stats, "file"))
    items = batch_items(Path(args.input), Path(args.output))
    kept = {item.output for item in items if args.resume and item.output.is_file()}
    Path(args.output).mkdir(parents=True, exist_ok=True)  # the folder --batch names is its own to create
    check_outputs([item.input for item in items], [Output("output", str(item.output)) for item in items
                                                   if item.output not in kept], overwrite=args.overwrite)
    job = current_job(args.rank_timeout) if job_rank() is not None else Job()
    from .api import encode
    from .api import open as open_file

    def encode_one(item: BatchItem) -> dict:
        if item.output in kept:  # finished before the interruption: its file is complete (written atomically)
            with open_file(item.output) as done:
                return dict(bytes=done.info.file_bytes, bpp=done.info.bpp, psnr=float("nan"), seconds=0.0)
        report = encode(item.input, item.output, quality=DEFAULT_QUALITY if args.quality is None else args.quality,
                        resume=args.resume, on_progress=None if job.distributed else _on_progress(args),
                        **_source_options(args), **_coding_options(args))
        if args.verbose:
            _log(args, f"nvc: rank {job.rank}: {item.input} -> {item.output}: {report.bytes} bytes, "
                       f"{report.bpp:.4f} bpp, RGB PSNR {report.psnr:.2f} dB, {report.seconds:.1f} s")
        return dict(bytes=report.bytes, bpp=report.bpp, psnr=report.psnr, seconds=report.seconds)

    results = run_batch(items, encode_one, job)
    if job.rank == 0:
        _log(args, summary_table(results))
        if args.stats:
            _write_json(args.stats, {"inputs": [dataclasses.asdict(r) for r in results]})
    return exit_code(results)


def _warn_if_larger_than_raw(args: argparse.Namespace, report: EncodeReport) -> None:
    if report.bpp > RAW_BPP:
        raw = report.frames * report.width * report.height * RAW_BPP // 8
        _log(args, f"nvc: warning: the output ({report.bytes} bytes) is larger than the raw 8-bit 4:2:0 video "
                   f"({raw} bytes): at this size and length the networks cost more than the pixels; "
                   f"try more frames, a larger frame, a higher --crf or a slower --preset")


def _write_json(path: str, doc: dict) -> None:
    """Strict JSON: a value that is not a finite number (the PSNR of an exact group) is written as null."""
    from nvc.datasets.atomic import output_file

    with output_file(Path(path)) as target:
        target.write_text(json.dumps(_finite(doc), indent=2, allow_nan=False) + "\n")


def _finite(value: object) -> object:
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):  # also numpy floats
        return float(value) if math.isfinite(value) else None
    return value


def _decode_to(source: str, output: str, start: int, stop: int | None, *, lossless: bool, device: str,
               on_progress: OnProgress | None) -> int:
    from nvc.datasets import ColourInfo, VideoInfo, VideoInputError, write_video, write_y4m_stream

    from .api import VideoFile

    with VideoFile(source, device) as video:
        header = video.info
        if start >= len(video) or (stop is not None and stop > len(video)):
            raise UsageError(f"--frames {start}:{'' if stop is None else stop} outside the file's 0:{len(video)}")
        info = VideoInfo(header.width, header.height, header.fps, None, ColourInfo(header.colour_matrix,
                                                                                   header.full_range))
        frames = video.frames(start, stop, on_progress)
        count = 0

        def counted():
            nonlocal count
            for frame in frames:
                count += 1
                yield frame

        try:
            if output == STDIO:
                write_y4m_stream(sys.stdout.buffer, counted(), info)
                sys.stdout.buffer.flush()
            else:
                write_video(output, counted(), info, lossless=lossless and Path(output).suffix.lower() == ".mp4")
        except VideoInputError as exc:
            raise InputError(str(exc)) from None
        return count


def _describe_device(args: argparse.Namespace) -> None:
    """Under -v on a GPU, say whether the fused kernels or the PyTorch fallback render this file."""
    if args.verbose and args.device == "cuda":
        from .api import VideoFile
        from .render import describe_render

        with VideoFile(args.input) as video:
            _log(args, describe_render(video.info.config, args.device))


def cmd_decode(args: argparse.Namespace) -> int:
    start, stop = _parse_range(args.frames)
    _check_outputs(args, ("output", args.output, "video"))
    _describe_device(args)
    count = _decode_to(args.input, args.output, start, stop, lossless=args.lossless, device=args.device,
                       on_progress=_on_progress(args))
    if args.verbose:
        from .api import VideoFile
        from .describe import group_line

        with VideoFile(args.input) as video:
            for group in video.group_info():
                _log(args, group_line(group))
    _log(args, f"nvc: decoded {count} frames -> {args.output}")
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from .api import VideoFile
    from .describe import info_dict, info_lines

    with VideoFile(args.input) as video:
        verified = video.verify() if args.verify else None  # first: a bad group prints nothing
        groups = video.group_info() if args.groups else None
        if args.json:
            doc = info_dict(video.info, groups)
            if verified is not None:
                doc["verified"] = f"OK: {verified} groups entropy-decoded"
            print(json.dumps(doc, indent=2))
        else:
            print("\n".join(info_lines(args.input, video.info, groups)))
            if verified is not None:
                print(f"verify: OK: {verified} groups entropy-decoded")
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare, comparison_lines
    from .jsontext import dumps

    if args.reference == args.distorted == STDIO:
        raise UsageError("only one of the two videos can come from stdin (-)")
    result = compare(_stdio(args.reference, sys.stdin.buffer), _stdio(args.distorted, sys.stdin.buffer),
                     input_res=_parse_res(args.input_res))
    print(dumps(result.as_dict(), indent=2) if args.json else "\n".join(comparison_lines(result)))
    return EXIT_OK


_COMMANDS = {"encode": cmd_encode, "decode": cmd_decode, "info": cmd_info, "compare": cmd_compare}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (never raises, never exits)."""
    verbose = False
    try:
        with terminations_interrupt(), warnings_to_stderr():
            parser = build_parser()
            args = parser.parse_args(argv)
            if args.command is None:  # bare `nvc`: what it can do, not an error
                parser.print_help()
                return EXIT_OK
            verbose = getattr(args, "verbose", False)
            quiet_warnings(getattr(args, "quiet", False))
            with _cpu_threads(getattr(args, "threads", None)):
                return _COMMANDS[args.command](args)
    except SystemExit as exc:  # --help, --version, --print-completion
        return int(exc.code or 0)
    except BrokenPipeError:  # e.g. `nvc info --json | head`: the reader left, nothing to report
        sys.stdout = open(os.devnull, "w")
        return EXIT_OK
    except KeyboardInterrupt as interrupt:  # Ctrl-C, SIGTERM, SIGHUP
        print(f"nvc: interrupted{f' by {interrupt}' if isinstance(interrupt, Terminated) else ''}", file=sys.stderr)
        return exit_code_of(interrupt)
    except NvcError as exc:
        print(f"nvc: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"nvc: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return InputError.exit_code
    except Exception as exc:  # a bug: still one line, the traceback only with -v
        if is_out_of_memory(exc):
            detail = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            print(f"nvc: error: out of memory ({detail})", file=sys.stderr)
            return EXIT_RUNTIME
        if verbose:
            raise
        print(f"nvc: internal error: {type(exc).__name__}: {exc} (rerun with -v for details)", file=sys.stderr)
        return EXIT_RUNTIME
