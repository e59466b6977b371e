"""Interrupted encodes: a killed encode resumes from its checkpoint into the identical file."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from nvc.codec.checkpoint import checkpoint_folder
from nvc.codec.cli import main
from nvc.datasets import VideoInfo, synthetic_clip, write_video

ARGS = ["--preset", "ultrafast", "--group-size", "1", "--key-interval", "3", "--no-progress", "--threads", "1"]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume")
    path = folder / "in.y4m"
    write_video(path, synthetic_clip(24, 16, 6, seed=7), VideoInfo(24, 16, Fraction(25)))
    return path


def _stored_groups(folder) -> int:
    """Groups the checkpoint holds a record of (a payload file alone is not yet a stored group)."""
    return len(list(folder.glob("group-*.json")))


def _wait_for_groups(folder, count: int, process, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _stored_groups(folder) >= count:
            return
        assert process.poll() is None, "encode finished before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError("no checkpoint appeared")


def _interrupt_after(source, out, groups: int, sig: int) -> int:
    """Start an encode in a real process and send it ``sig`` once ``groups`` groups are stored."""
    process = subprocess.Popen([sys.executable, "-m", "nvc", "encode", str(source), str(out), *ARGS],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_groups(checkpoint_folder(out), groups, process)
    finally:
        process.send_signal(sig)
    return process.wait()


def test_killed_encode_resumes_to_the_identical_file(source, tmp_path):
    whole = tmp_path / "whole.nvc"
    assert main(["encode", str(source), str(whole), *ARGS]) == 0
    assert not checkpoint_folder(whole).exists()  # removed once the file is complete

    resumed = tmp_path / "resumed.nvc"
    _interrupt_after(source, resumed, 2, signal.SIGKILL)
    assert not resumed.exists()  # nothing under the final name
    done = len(list(checkpoint_folder(resumed).glob("group-*.bin")))
    assert 2 <= done < 6
    assert main(["encode", str(source), str(resumed), *ARGS, "--resume"]) == 0
    assert resumed.read_bytes() == whole.read_bytes()


def test_ctrl_c_exits_130_and_resume_refuses_other_options(source, tmp_path):
    out = tmp_path / "o.nvc"
    assert _interrupt_after(source, out, 1, signal.SIGINT) == 130
    assert not out.exists()
    assert main(["encode", str(source), str(out), *ARGS, "-q", "40", "--resume"]) == 2


def _hidden_debris(folder) -> list[str]:
    """Temporary files anywhere below ``folder`` (what an interrupted atomic write would leave)."""
    return sorted(p.name for p in folder.rglob("*.tmp"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_clean_up_like_ctrl_c(source, tmp_path, sig):
    out = tmp_path / "o.nvc"
    assert _interrupt_after(source, out, 1, sig) == 128 + sig
    assert not out.exists() and _hidden_debris(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [checkpoint_folder(out).name]  # and no lock file
    assert _stored_groups(checkpoint_folder(out)) >= 1


def test_second_encode_to_the_same_output_refuses_and_resume_checks_every_option(source, tmp_path, capsys):
    whole = tmp_path / "whole.nvc"
    assert main(["encode", str(source), str(whole), *ARGS]) == 0
    out = tmp_path / "o.nvc"
    first = subprocess.Popen([sys.executable, "-m", "nvc", "encode", str(source), str(out), *ARGS],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_groups(checkpoint_folder(out), 1, first)
        assert main(["encode", str(source), str(out), *ARGS, "-y"]) == 3
        assert f"another nvc is encoding {out}" in capsys.readouterr().err
        assert _stored_groups(checkpoint_folder(out)) >= 1  # the first encode's checkpoint is intact
    finally:
        first.send_signal(signal.SIGTERM)
    assert first.wait() == 128 + signal.SIGTERM
    for change, named in ((["--threads", "2"], "--threads"), (["--scenecut", "20"], "--scenecut"),
                          (["--seed", "1"], "--seed"), (["--preset", "fast"], "--preset"),
                          (["--key-interval", "2"], "--key-interval")):
        assert main(["encode", str(source), str(out), *ARGS, *change, "--resume"]) == 2
        assert named in capsys.readouterr().err
    assert main(["encode", str(source), str(out), *ARGS, "--resume"]) == 0
    assert out.read_bytes() == whole.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.nvc", "whole.nvc"]


def test_ctrl_c_during_start_up_exits_130_without_a_traceback(source, tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "nvc", "encode", str(source), str(tmp_path / "o.nvc"), *ARGS],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    maps = Path(f"/proc/{process.pid}/maps")
    deadline = time.monotonic() + 60
    while "libtorch" not in maps.read_text() and time.monotonic() < deadline:
        time.sleep(0.005)  # until torch's libraries are mapped: the import of torch, well before main() runs
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in err and err.strip() == "nvc: interrupted", err
    assert list(tmp_path.iterdir()) == []
