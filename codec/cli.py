"""The ``nvc`` command line: encode, decode, info; a thin layer over the library API.

Progress and logs go to stderr; stdout carries only what was asked for (``--psnr``, ``--json``).
Every failure is one line on stderr and a documented exit code (see ``EXIT_CODES``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import torch

from nvc.datasets import ColourInfo, VideoInfo, VideoInputError, write_video
from nvc.datasets.atomic import atomic_file

from .api import FileInfo, VideoFile, encode
from .container import FORMAT_VERSION
from .device import DEVICES
from .encoder import EncodeOptions
from .errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUNTIME,
    InputError,
    NvcError,
    UsageError,
)
from .rate import DEFAULT_QUALITY, PRESETS, QUALITY_RANGE
from .version import __version__

__all__ = ["main", "run", "EXIT_CODES"]

EXIT_CODES = {
    0: "success",
    2: "usage error (bad options, output exists without -y)",
    3: "unreadable or unsupported input (or unwritable output)",
    4: "corrupt, truncated or unsupported .nvc bitstream",
    5: "runtime failure",
    130: "interrupted (Ctrl-C); no partial output is left",
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


def _check_output(path: str, overwrite: bool) -> None:
    if Path(path).exists() and not overwrite:
        raise UsageError(f"{path} exists (use -y to overwrite)")


def _parse_fps(text: str | None) -> Fraction | None:
    if text is None:
        return None
    try:
        fps = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"--fps {text!r} is not a number or N/D fraction") from None
    if fps <= 0:
        raise UsageError(f"--fps must be positive, got {text}")
    return fps


def _parse_res(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--input-res {text!r} is not WxH") from None
    return width, height


def _parse_range(text: str | None) -> tuple[int, int | None]:
    if text is None:
        return 0, None
    try:
        start, _, stop = text.partition(":")
        return int(start or 0), (int(stop) if stop else None)
    except ValueError:
        raise UsageError(f"--frames {text!r} is not A:B") from None


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise UsageError(f"--threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)


def cmd_encode(args: argparse.Namespace) -> int:
    _check_output(args.output, args.overwrite)
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
    with atomic_file(Path(path)) as temporary:
        temporary.write_text(json.dumps(doc, indent=2, default=float) + "\n")


def _decode_to(source: str, output: str, start: int, stop: int | None, *, lossless: bool, device: str) -> int:
    with VideoFile(source, device) as video:
        header = video.info
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
    _check_output(args.output, args.overwrite)
    _set_threads(args.threads)
    _describe_device(args)
    start, stop = _parse_range(args.frames)
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
        args = build_parser().parse_args(argv)
        verbose = getattr(args, "verbose", False)
        return _COMMANDS[args.command](args)
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    except BrokenPipeError:  # e.g. `nvc info --json | head`: the reader left, nothing to report
        sys.stdout = open(os.devnull, "w")
        return EXIT_OK
    except KeyboardInterrupt:
        print("nvc: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
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


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
