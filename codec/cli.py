"""The ``nvc`` command line: encode, decode, info; a thin layer over the library API.

Progress and logs go to stderr; stdout carries only what was asked for (``--psnr``, ``--json``).
Every failure is one line on stderr and a documented exit code (see ``EXIT_CODES``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import numbers
import os
import sys
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import torch

from nvc.datasets import ColourInfo, VideoInfo, VideoInputError, write_video
from nvc.datasets.atomic import is_stream, output_file
from nvc.datasets.limits import as_fps, check_size

from .api import FileInfo, VideoFile, encode
from .container import FORMAT_VERSION
from .device import DEVICES
from .encoder import EncodeOptions
from .errors import (
    EXIT_OK,
    EXIT_RUNTIME,
    InputError,
    NvcError,
    UsageError,
)
from .logs import quiet_warnings, warnings_to_stderr
from .outputs import Output, check_outputs
from .signals import Terminated, exit_code_of, terminations_interrupt
from .rate import DEFAULT_QUALITY, PRESETS, QUALITY_RANGE
from .version import __version__

__all__ = ["main", "EXIT_CODES"]

EXIT_CODES = {
    0: "success",
    2: "usage error (bad options, output exists without -y)",
    3: "unreadable or unsupported input (or unwritable output)",
    4: "corrupt, truncated or unsupported .nvc bitstream",
    5: "runtime failure",
    130: "interrupted (Ctrl-C; 143 for SIGTERM, 129 for SIGHUP); no partial output is left",
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns every exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except None: such an option is off, or has its default in its help."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return action.help if action.default is None else super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    fmt = _HelpFormatter
    epilog = "exit codes: " + "; ".join(f"{code} {what}" for code, what in EXIT_CODES.items())
    parser = _Parser(prog="nvc", description="Neural implicit video codec.", formatter_class=fmt, epilog=epilog)
    parser.add_argument("--version", action="version",
                        version=f"nvc {__version__} (bitstream format {FORMAT_VERSION})")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    enc = commands.add_parser("encode", help="encode a video into an .nvc file", formatter_class=fmt)
    enc.add_argument("input", help="video file (.mp4 .mkv .webm .mov .avi .y4m .yuv) or PNG folder")
    enc.add_argument("output", help="output .nvc file")
    enc.add_argument("--preset", choices=list(PRESETS), default=EncodeOptions.preset, help="fitting effort")
    rate = enc.add_mutually_exclusive_group()
    rate.add_argument("-q", "--quality", type=int, default=None,
                      help=f"{QUALITY_RANGE[0]}..{QUALITY_RANGE[1]}, lower is better (default {DEFAULT_QUALITY})")
    rate.add_argument("--bpp", type=float, help="target bits per pixel (searched)")
    rate.add_argument("--bitrate", type=float, metavar="KBPS", help="target kbit/s (searched)")
    enc.add_argument("--group-size", type=int, default=EncodeOptions.group_size,
                     help="frames per group (one network each)")
    enc.add_argument("--key-interval", type=int, default=EncodeOptions.key_interval,
                     help="every N-th group is a key group: fitted from scratch, decodable on its own")
    enc.add_argument("--scenecut", type=float, default=EncodeOptions.scene_cut_db, metavar="DB",
                     help="fit a group from scratch when two consecutive frames in it (or across its start) "
                          "fall below this RGB PSNR; 0: never")
    enc.add_argument("-f", "--frames", type=int, help="encode at most N frames")
    enc.add_argument("--seek", type=int, default=0, help="skip the first N frames")
    enc.add_argument("--input-res", metavar="WxH", help="frame size of a raw .yuv input")
    enc.add_argument("--fps", metavar="N|N/D", help="frame rate of a raw .yuv input (or override)")
    enc.add_argument("--pix-fmt", default=None, help="pixel format of a raw .yuv input (yuv420p)")
    enc.add_argument("--device", choices=DEVICES, default="cpu")
    enc.add_argument("--threads", type=int, help="CPU threads (default: torch's choice)")
    enc.add_argument("--seed", type=int, default=0)
    enc.add_argument("--logdir", help="write TensorBoard logs here")
    enc.add_argument("--stats", help="write per-group statistics (JSON) here")
    enc.add_argument("--recon", help="also write the decoded reconstruction here (any decode output)")
    enc.add_argument("--psnr", action="store_true", help="print PSNR and bpp to stdout at the end")
    enc.add_argument("--resume", action="store_true",
                     help="continue an interrupted encode of the same input and options from its last group")
    _add_common(enc)

    dec = commands.add_parser("decode", help="decode an .nvc file", formatter_class=fmt)
    dec.add_argument("input", help=".nvc file")
    dec.add_argument("output", help=".y4m/.yuv (exact), .mkv (FFV1 lossless), .mp4 (x264) or a PNG folder")
    dec.add_argument("--frames", metavar="A:B", help="decode only frames A <= t < B")
    dec.add_argument("--lossless", action="store_true", help="lossless RGB H.264 for .mp4 output")
    dec.add_argument("--device", choices=DEVICES, default="cpu")
    dec.add_argument("--threads", type=int, help="CPU threads (default: torch's choice)")
    _add_common(dec)

    info = commands.add_parser("info", help="describe an .nvc file", formatter_class=fmt)
    info.add_argument("input", help=".nvc file")
    info.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    return parser


def _add_common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("-y", "--overwrite", action="store_true", help="overwrite the output if it exists")
    sub.add_argument("--no-progress", action="store_true", help="no progress bars")
    noise = sub.add_mutually_exclusive_group()
    noise.add_argument("-v", "--verbose", action="store_true", help="per-group details on stderr")
    noise.add_argument("--quiet", action="store_true", help="only errors on stderr")


def _log(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def _parse_fps(text: str | None) -> Fraction | None:
    if text is None:
        return None
    try:
        return as_fps(Fraction(text), "--fps")
    except (ValueError, ZeroDivisionError) as exc:  # VideoInputError is a ValueError
        raise UsageError(str(exc) if isinstance(exc, VideoInputError) else
                         f"--fps {text!r} is not a number or N/D fraction") from None


def _parse_res(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
        check_size(width, height, "--input-res")
    except VideoInputError as exc:
        raise UsageError(str(exc)) from None
    except ValueError:
        raise UsageError(f"--input-res {text!r} is not WxH") from None
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


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise UsageError(f"--threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)


def cmd_encode(args: argparse.Namespace) -> int:
    check_outputs([args.input], [Output("output", args.output), Output("--stats", args.stats),
                                 Output("--recon", args.recon, "video"),
                                 Output("--logdir", args.logdir, "folder")], overwrite=args.overwrite)
    if args.recon and is_stream(Path(args.output)):
        raise UsageError(f"--recon decodes the output, and {args.output} is a device or pipe that keeps nothing")
    _set_threads(args.threads)
    source = dict(fps=_parse_fps(args.fps), frames=args.frames, seek=args.seek, input_res=_parse_res(args.input_res),
                  pix_fmt=args.pix_fmt)
    options = dict(preset=args.preset, group_size=args.group_size, key_interval=args.key_interval,
                   scene_cut_db=args.scenecut, seed=args.seed,
                   device=args.device, progress=not (args.no_progress or args.quiet), logdir=args.logdir,
                   resume=args.resume)
    quality = DEFAULT_QUALITY if args.quality is None else args.quality
    report = encode(args.input, args.output, quality=quality, bpp=args.bpp, kbps=args.bitrate,
                    log=lambda message: _log(args, message), **source, **options)
    if args.verbose:
        for g in report.groups:
            cut = ", scene cut: fitted from scratch" if g.scene_cut else ""
            kind = "key" if g.key else f"inter ({g.residual_tensors}/{g.coded_tensors} residual{cut})"
            _log(args, f"group {g.index}: frames {g.first_frame}-{g.first_frame + g.frame_count - 1} {kind} "
                       f"{g.bytes} bytes {g.psnr:.2f} dB {g.iterations} it {g.fit_seconds:.1f} s")
    _log(args, f"nvc: {report.frames} frames {report.width}x{report.height} -> {args.output}: {report.bytes} bytes, "
               f"{report.bpp:.4f} bpp, RGB PSNR {report.psnr:.2f} dB, {report.seconds:.1f} s")
    if args.stats:
        _write_json(args.stats, {"bytes": report.bytes, "bpp": report.bpp, "psnr_rgb": report.psnr,
                                 "seconds": report.seconds, "quality": report.quality,
                                 "groups": [dataclasses.asdict(g) for g in report.groups]})
    if args.recon:
        _decode_to(args.output, args.recon, 0, None, lossless=True, device=args.device)
    if args.psnr:
        print(f"psnr_rgb={report.psnr:.4f} bpp={report.bpp:.6f} bytes={report.bytes}")
    return EXIT_OK


def _write_json(path: str, doc: dict) -> None:
    """Strict JSON: a value that is not a finite number (the PSNR of an exact group) is written as null."""
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


def _decode_to(source: str, output: str, start: int, stop: int | None, *, lossless: bool, device: str) -> int:
    with VideoFile(source, device) as video:
        header = video.info
        if start >= len(video) or (stop is not None and stop > len(video)):
            raise UsageError(f"--frames {start}:{'' if stop is None else stop} outside the file's 0:{len(video)}")
        info = VideoInfo(header.width, header.height, header.fps, None, ColourInfo(header.colour_matrix,
                                                                                   header.full_range))
        frames = video.frames(start, stop)
        count = 0

        def counted():
            nonlocal count
            for frame in frames:
                count += 1
                yield frame

        try:
            write_video(output, counted(), info, lossless=lossless and Path(output).suffix.lower() == ".mp4")
        except VideoInputError as exc:
            raise InputError(str(exc)) from None
        return count


def _describe_device(args: argparse.Namespace) -> None:
    """Under -v on a GPU, say whether the fused kernels or the PyTorch fallback render."""
    if args.verbose and args.device == "cuda":
        from nvc import cuda_ext

        _log(args, cuda_ext.describe())


def cmd_decode(args: argparse.Namespace) -> int:
    start, stop = _parse_range(args.frames)
    check_outputs([args.input], [Output("output", args.output, "video")], overwrite=args.overwrite)
    _set_threads(args.threads)
    _describe_device(args)
    count = _decode_to(args.input, args.output, start, stop, lossless=args.lossless, device=args.device)
    _log(args, f"nvc: decoded {count} frames -> {args.output}")
    return EXIT_OK


def info_dict(info: FileInfo) -> dict:
    return {
        "format_version": info.format_version,
        "width": info.width,
        "height": info.height,
        "fps": str(info.fps),
        "frames": info.frames,
        "groups": info.groups,
        "key_groups": info.key_groups,
        "colour": {"matrix": info.colour_matrix, "full_range": info.full_range},
        "config": json.loads(json.dumps(dataclasses.asdict(info.config))),
        "encoder": dataclasses.asdict(info.encoder),
        "bytes": {"file": info.file_bytes, "header": info.header_bytes, "groups": info.group_bytes,
                  "index": info.file_bytes - info.header_bytes - info.group_bytes},
        "bpp": info.bpp,
    }


def cmd_info(args: argparse.Namespace) -> int:
    with VideoFile(args.input) as video:
        doc = info_dict(video.info)
    if args.json:
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    print(f"{args.input}: nvc format {doc['format_version']}, {doc['width']}x{doc['height']} @ {doc['fps']} fps, "
          f"{doc['frames']} frames in {doc['groups']} groups ({doc['key_groups']} key)")
    print(f"bytes: {doc['bytes']['file']} (header {doc['bytes']['header']}, groups {doc['bytes']['groups']}, "
          f"index {doc['bytes']['index']}), {doc['bpp']:.5f} bpp")
    print(f"model: {doc['config']['arch']} {doc['config']['model']}")
    print(f"encoder: {doc['encoder']}")
    return EXIT_OK


_COMMANDS = {"encode": cmd_encode, "decode": cmd_decode, "info": cmd_info}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (never raises, never exits)."""
    verbose = False
    try:
        with terminations_interrupt(), warnings_to_stderr():
            args = build_parser().parse_args(argv)
            verbose = getattr(args, "verbose", False)
            quiet_warnings(getattr(args, "quiet", False))
            return _COMMANDS[args.command](args)
    except SystemExit as exc:  # --help and --version
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
        if verbose:
            raise
        print(f"nvc: internal error: {type(exc).__name__}: {exc} (rerun with -v for details)", file=sys.stderr)
        return EXIT_RUNTIME
