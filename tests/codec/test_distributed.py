"""Encoding on many processes (torchrun, gloo-free: the job's key-value store) and batch mode.

The multi-process tests start real ``torchrun`` jobs (or plain processes with torchrun's
environment) on a tiny clip, so they show what a user sees: the same bytes on 1 or 2 processes,
a failed input reported without stopping the others, a killed rank resumed into the same file.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest
import torch.distributed as dist

from nvc.codec.batch import BatchItem, batch_items, exit_code, run_batch, spread
from nvc.codec.checkpoint import checkpoint_folder
from nvc.codec.cli import main
from nvc.codec.defaults import default_threads
from nvc.codec.distributed import Job, RankFailedError, RankLostError
from nvc.codec.errors import InputError, UsageError
from nvc.datasets import VideoInfo, synthetic_clip, write_video

ARGS = ["--preset", "ultrafast", "--group-size", "1", "--key-interval", "2", "--threads", "1", "--no-progress"]
"""8 one-frame groups in 4 segments: rank 0 of 2 fits groups 0, 1, 4, 5 and rank 1 groups 2, 3, 6, 7."""


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dist") / "clip.y4m"
    write_video(path, synthetic_clip(24, 16, 8, seed=5), VideoInfo(24, 16, Fraction(25)))
    return path


@pytest.fixture(scope="module")
def single(clip, tmp_path_factory) -> bytes:
    """The clip encoded by one process on one thread: what every job must reproduce."""
    out = tmp_path_factory.mktemp("single") / "one.nvc"
    assert main(["encode", str(clip), str(out), *ARGS]) == 0
    return out.read_bytes()


def _torchrun(*args: str, processes: int = 2) -> subprocess.Popen:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
               "-m", "nvc", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    _, err = process.communicate(timeout=timeout)
    return process.returncode, err


def test_two_processes_write_the_bytes_of_one(clip, single, tmp_path):
    out = tmp_path / "two.nvc"
    code, err = _finish(_torchrun("encode", str(clip), str(out), *ARGS, "-v"))
    assert code == 0, err
    assert out.read_bytes() == single
    assert not checkpoint_folder(out).exists()
    assert "nvc: rank 1: group 2 " in err and "nvc: rank 0: group 0 " in err  # -v: a line per group and rank


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rank_pid(launcher: subprocess.Popen, rank: int) -> int:
    """The pid of the worker of ``rank`` that ``launcher`` (torchrun, or the worker itself) started."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if f"RANK={rank}".encode() in environ and parent == launcher.pid and b"TORCHRUN_TEST=1" in environ:
            return int(entry.name)
    raise AssertionError(f"no worker of rank {rank}")


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, "the job ended before it could be interrupted"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_a_killed_rank_stops_the_job_and_resume_on_one_process_gives_the_same_file(clip, single, tmp_path):
    out = tmp_path / "killed.nvc"
    os.environ["TORCHRUN_TEST"] = "1"  # marks this test's workers, to find rank 1 among the processes
    try:
        job = _torchrun("encode", str(clip), str(out), *ARGS)
        _wait_for(checkpoint_folder(out) / "group-000002.json", job)  # rank 1's first group is stored
        os.kill(_rank_pid(job, 1), signal.SIGKILL)
        code, _ = _finish(job)
    finally:
        del os.environ["TORCHRUN_TEST"]
    assert code != 0
    assert not out.exists()  # nothing under the final name
    stored = {p.name for p in checkpoint_folder(out).glob("group-*.json")}
    assert "group-000002.json" in stored and len(stored) < 8
    assert main(["encode", str(clip), str(out), *ARGS, "--resume"]) == 0  # a world size of 1 this time
    assert out.read_bytes() == single


def test_a_rank_that_stops_responding_is_given_up_with_its_segment(clip, tmp_path):
    """Without torchrun's agent to tear the job down, rank 0's wait is bounded by the heartbeats."""
    out = tmp_path / "lost.nvc"
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2",
           "LOCAL_WORLD_SIZE": "2", "TORCHRUN_TEST": "1"}
    command = [sys.executable, "-m", "nvc", "encode", str(clip), str(out), *ARGS, "--rank-timeout", "3"]
    ranks = [subprocess.Popen(command, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}, stderr=subprocess.PIPE,
                              text=True) for r in range(2)]
    try:
        _wait_for(checkpoint_folder(out) / "group-000002.json", ranks[0])
        ranks[1].send_signal(signal.SIGSTOP)  # hung, not dead: its heartbeat stops, its socket stays open
        code, err = _finish(ranks[0], timeout=300)
    finally:
        ranks[1].kill()
        ranks[1].wait()
    assert code == 5, err
    assert "rank 1 stopped responding" in err and "segment 1" in err and str(clip) in err
    assert not out.exists()


def test_batch_on_two_processes_reports_the_bad_input_and_finishes_the_others(clip, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for seed in range(3):
        write_video(inputs / f"c{seed}.y4m", synthetic_clip(24, 16, 2, seed=seed), VideoInfo(24, 16, Fraction(25)))
    (inputs / "broken.mp4").write_bytes(b"not a video" * 50)
    (inputs / "notes.txt").write_text("not an input")
    stats = tmp_path / "summary.json"
    code, err = _finish(_torchrun("encode", "--batch", str(inputs), str(tmp_path / "out"), *ARGS, "--stats",
                                  str(stats)))
    assert code != 0  # something failed, and torchrun says so
    results = {Path(r["input"]).name: r for r in json.loads(stats.read_text())["inputs"]}
    assert set(results) == {"broken.mp4", "c0.y4m", "c1.y4m", "c2.y4m"}
    assert results["broken.mp4"]["exit_code"] == InputError.exit_code
    assert {r["rank"] for r in results.values()} == {0, 1}
    for name in ("c0", "c1", "c2"):
        assert results[f"{name}.y4m"]["exit_code"] == 0
        assert (tmp_path / "out" / f"{name}.nvc").stat().st_size == results[f"{name}.y4m"]["bytes"]
    assert "broken.mp4" in err and "exit 3" in err  # the summary table


def test_batch_alone_resume_keeps_finished_outputs_and_refuses_existing_ones(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_video(inputs / "a.y4m", synthetic_clip(24, 16, 2, seed=1), VideoInfo(24, 16, Fraction(25)))
    out = tmp_path / "out"
    assert main(["encode", "--batch", str(inputs), str(out), *ARGS]) == 0
    before = (out / "a.nvc").stat().st_mtime_ns
    assert main(["encode", "--batch", str(inputs), str(out), *ARGS]) == UsageError.exit_code  # exists, no -y
    assert main(["encode", "--batch", str(inputs), str(out), *ARGS, "--resume"]) == 0
    assert (out / "a.nvc").stat().st_mtime_ns == before


def test_batch_items_list_videos_and_refuse_two_inputs_for_one_output(tmp_path):
    (tmp_path / "v").mkdir()
    for name in ("b.mp4", "a.y4m", "README.md", ".hidden.mp4"):
        (tmp_path / "v" / name).write_bytes(b"")
    (tmp_path / "v" / "frames").mkdir()
    items = batch_items(tmp_path / "v", tmp_path / "o")
    assert [(i.input.name, i.output.name) for i in items] == [("a.y4m", "a.nvc"), ("b.mp4", "b.nvc"),
                                                             ("frames", "frames.nvc")]
    listing = tmp_path / "list.txt"
    listing.write_text("# comment\nv/a.y4m\n\nv/frames\n")
    assert [i.input for i in batch_items(listing, tmp_path / "o")] == [tmp_path / "v/a.y4m", tmp_path / "v/frames"]
    (tmp_path / "v" / "a.mkv").write_bytes(b"")
    with pytest.raises(UsageError, match="both be written"):
        batch_items(tmp_path / "v", tmp_path / "o")
    with pytest.raises(UsageError, match="names no videos"):
        batch_items(tmp_path / "v" / "frames", tmp_path / "o")


def test_spread_puts_the_largest_inputs_first_on_the_least_loaded_rank():
    assert spread([5, 1, 1, 5, 3], 2) == [0, 1, 1, 1, 0]  # 5->0, 5->1, 3->0 (tie: lower rank), 1->1, 1->1
    owners = spread([10, 1, 1, 1, 9, 2], 3)
    loads = [sum(size for size, owner in zip([10, 1, 1, 1, 9, 2], owners) if owner == r) for r in range(3)]
    assert max(loads) == 10 and spread([10, 1, 1, 1, 9, 2], 3) == owners  # balanced and the same every time
    assert spread([], 4) == [] and spread([7], 4) == [0]


def test_run_batch_alone_keeps_going_after_a_failure_and_reports_the_first():
    items = [BatchItem(Path(f"{n}.y4m"), Path(f"{n}.nvc")) for n in "abc"]

    def encode_one(item: BatchItem) -> dict:
        if item.input.name == "b.y4m":
            raise InputError("b is broken")
        return dict(bytes=1, bpp=0.5, psnr=30.0, seconds=0.1)

    results = run_batch(items, encode_one, Job())
    assert [r.exit_code for r in results] == [0, 3, 0] and results[1].message == "b is broken"
    assert exit_code(results) == 3

    def buggy(item: BatchItem) -> dict:
        raise ZeroDivisionError("a bug is not an input's failure")

    with pytest.raises(ZeroDivisionError):
        run_batch(items, buggy, Job())


def _pair(timeout: float) -> tuple[Job, Job]:
    store = dist.HashStore()
    return Job(0, 2, store=store, timeout=timeout), Job(1, 2, store=store, timeout=timeout)


def test_a_failure_posted_by_one_rank_stops_the_others_wait():
    zero, one = _pair(timeout=60)
    board0, board1 = zero.board(), one.board()
    board1.fail(InputError("cannot read frame 7"))
    with pytest.raises(RankFailedError, match="rank 1 failed: cannot read frame 7") as caught:
        board0.wait("group/3", owner=1)
    assert caught.value.exit_code == InputError.exit_code


def test_a_rank_without_heartbeat_is_given_up_after_the_timeout_naming_its_work():
    zero, one = _pair(timeout=0.5)
    board0, board1 = zero.board(), one.board()
    board1.doing("encoding segment 3 of clip.mp4")
    start = time.monotonic()
    with pytest.raises(RankLostError, match="rank 1 stopped responding .* while encoding segment 3 of clip.mp4"):
        board0.wait("group/6", owner=1)
    assert time.monotonic() - start < 30
    board1.post("group/6", b"payload")
    assert board0.wait("group/6", owner=1) == b"payload"


def test_each_rank_defaults_to_its_share_of_the_cpus(monkeypatch):
    cpus = len(os.sched_getaffinity(0))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what torchrun sets for every multi-process job
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert default_threads() == max(1, cpus // 2)
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    assert default_threads() == 1


def test_the_uvg_benchmark_shares_its_sequences_among_two_processes(tmp_path):
    pytest.importorskip("matplotlib")
    from tools.make_tiny_uvg import make_tiny_uvg

    make_tiny_uvg(tmp_path / "uvg", (32, 32), 2, ["Beauty", "Jockey"])
    out = tmp_path / "bench"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m",
               "tools.benchmark", "--uvg", str(tmp_path / "uvg"), "--uvg-size", "32x32", "--frames", "0",
               "--qualities", "40", "--preset", "ultrafast", "--threads", "1", "--baselines", "none", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    rows = json.loads((out / "results.json").read_text())
    assert sorted(r["sequence"] for r in rows) == ["Beauty-2f", "Jockey-2f"]
    assert not list((out / "parts").glob("*.json"))  # folded into results.json by rank 0
    assert (out / "report.md").exists()


def test_stdin_cannot_feed_a_job_of_several_processes(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(["encode", "-", str(tmp_path / "o.nvc")]) == UsageError.exit_code
    assert "name a file, not -" in capsys.readouterr().err
