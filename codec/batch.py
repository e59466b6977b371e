"""Many videos, one job: ``nvc encode --batch IN OUT_DIR`` (and ``tools.benchmark --uvg`` on a cluster).

IN is a folder of videos (files with a video suffix, and sub-folders of PNG frames) or a text file
listing one per line.  Each input becomes ``OUT_DIR/<its name>.nvc``.  The ranks of a torchrun job
share the inputs whole: :func:`spread` deals them out largest first to the least loaded rank, so
every rank computes the same plan from the same sizes.  One failing input does not stop the others;
it is reported with its exit status, and the job's exit code is the first failure's.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from nvc.datasets import VIDEO_SUFFIXES

from .distributed import Job
from .errors import EXIT_OK, EXIT_RUNTIME, InputError, NvcError, UsageError, is_out_of_memory

__all__ = ["BatchItem", "BatchResult", "batch_items", "spread", "run_batch", "summary_table", "exit_code"]

OUTPUT_SUFFIX = ".nvc"


@dataclass(frozen=True)
class BatchItem:
    """One input of a batch and the output it becomes."""

    input: Path
    output: Path


@dataclass(frozen=True)
class BatchResult:
    """What became of one input: ``exit_code`` 0 and its figures, or the error that stopped it."""

    input: str
    output: str
    exit_code: int
    message: str
    rank: int
    bytes: int | None = None
    bpp: float | None = None
    psnr: float | None = None
    seconds: float | None = None


def batch_items(source: Path, out_dir: Path) -> list[BatchItem]:
    """The inputs ``source`` names (a folder of videos or a list file), each with its output in ``out_dir``."""
    if source.is_dir():
        inputs = sorted(entry for entry in source.iterdir() if not entry.name.startswith(".")
                        and (entry.is_dir() or entry.suffix.lower() in VIDEO_SUFFIXES))
    elif source.is_file():
        lines = (line.strip() for line in source.read_text(errors="replace").splitlines())
        inputs = [source.parent / line for line in lines if line and not line.startswith("#")]
    else:
        raise UsageError(f"--batch: {source} is neither a folder of videos nor a list file")
    if not inputs:
        raise UsageError(f"--batch: {source} names no videos")
    items = [BatchItem(path, out_dir / f"{path.stem if path.is_file() else path.name}{OUTPUT_SUFFIX}")
             for path in inputs]
    seen: dict[Path, Path] = {}
    for item in items:
        if item.output in seen:
            raise UsageError(f"--batch: {seen[item.output]} and {item.input} would both be written to {item.output}")
        seen[item.output] = item.input
    return items


def spread(sizes: list[int], ranks: int) -> list[int]:
    """The rank of each item: largest first, each to the rank with the least work so far (ties: the
    lower rank, then the earlier item), so that the same sizes give the same plan on every rank."""
    load = [0] * ranks
    owners = [0] * len(sizes)
    for index in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        owner = min(range(ranks), key=lambda r: (load[r], r))
        owners[index], load[owner] = owner, load[owner] + sizes[index]
    return owners


def input_size(path: Path) -> int:
    """Bytes of a video file, or of a folder's frames: the work an input stands for."""
    try:
        if path.is_dir():
            return sum(entry.stat().st_size for entry in path.iterdir() if entry.is_file())
        return path.stat().st_size
    except OSError:
        return 0  # unreadable: its failure is reported when its turn comes


def run_batch(items: list[BatchItem], encode_one: Callable[[BatchItem], dict], job: Job) -> list[BatchResult]:
    """Encode this rank's share of ``items``; on rank 0 (or alone), return every item's result.

    ``encode_one`` returns the figures of one encode (bytes, bpp, psnr, seconds) or raises; an
    :class:`NvcError`, OSError or out-of-memory error fails that item only.  The other ranks get
    the results too, once rank 0 has them all, so that every process exits with the job's status."""
    owners = spread([input_size(item.input) for item in items], job.world_size)
    board = job.board() if job.distributed else None
    mine: dict[int, BatchResult] = {}
    try:
        for index, item in enumerate(items):
            if owners[index] != job.rank:
                continue
            if board is not None:
                board.check_others()
                board.doing(f"encoding {item.input}")
            mine[index] = _encode_item(item, encode_one, job.rank)
            if board is not None:
                board.post(f"result/{index}", json.dumps(asdict(mine[index])))
        if board is None:
            return [mine[i] for i in range(len(items))]
        if job.rank == 0:
            results = [mine.get(i) or BatchResult(**json.loads(board.wait(f"result/{i}", owners[i])))
                       for i in range(len(items))]
            board.post("results", json.dumps([asdict(r) for r in results]))
            return results
        return [BatchResult(**doc) for doc in json.loads(board.wait("results", owner=0))]
    except BaseException as error:
        if board is not None:
            board.fail(error)
        raise


def _encode_item(item: BatchItem, encode_one: Callable[[BatchItem], dict], rank: int) -> BatchResult:
    start = time.perf_counter()
    try:
        figures = encode_one(item)
    except Exception as error:  # noqa: BLE001 - only the input's own failures are kept; a bug is raised
        if isinstance(error, NvcError):
            code, message = error.exit_code, str(error)
        elif isinstance(error, OSError):
            code, message = InputError.exit_code, f"{error.filename or ''}: {error.strerror or error}"
        elif is_out_of_memory(error):
            code, message = EXIT_RUNTIME, "out of memory"
        else:
            raise
        return BatchResult(str(item.input), str(item.output), code, message, rank, seconds=time.perf_counter() - start)
    return BatchResult(str(item.input), str(item.output), EXIT_OK, "ok", rank, **figures)


def exit_code(results: list[BatchResult]) -> int:
    """0 when every input was encoded, else the exit code of the first that failed."""
    return next((r.exit_code for r in results if r.exit_code != EXIT_OK), EXIT_OK)


def summary_table(results: list[BatchResult]) -> str:
    """One line per input: what it became, or why it did not."""
    rows = [("input", "bytes", "bpp", "PSNR dB", "time s", "rank", "status")]
    for r in results:
        if r.exit_code == EXIT_OK:
            rows.append((os.path.basename(r.input), str(r.bytes), f"{r.bpp:.4f}", f"{r.psnr:.2f}",
                         f"{r.seconds:.1f}", str(r.rank), "ok"))
        else:
            rows.append((os.path.basename(r.input), "-", "-", "-", f"{r.seconds or 0:.1f}", str(r.rank),
                         f"exit {r.exit_code}: {r.message}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]
                     for row in rows)
