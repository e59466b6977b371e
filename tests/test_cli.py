"""The nvc command line, through main(argv) and once as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

import nvc
from nvc.codec.cli import main
from nvc.codec.config import CodecConfig
from nvc.codec.rate import DEFAULT_QUALITY
from nvc.datasets import VideoInfo, read_clip, synthetic_clip, write_video

FAST = ["--preset", "ultrafast", "--group-size", "2", "--key-interval", "2", "--no-progress", "--threads", "2"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A 3-frame 17x9 clip as y4m, and its encoding through the CLI."""
    folder = tmp_path_factory.mktemp("cli")
    clip = synthetic_clip(17, 9, 3, seed=4)
    source = folder / "in.y4m"
    write_video(source, clip, VideoInfo(17, 9, Fraction(25)))
    encoded = folder / "out.nvc"
    assert main(["encode", str(source), str(encoded), *FAST, "--stats", str(folder / "s.json")]) == 0
    return folder, source, encoded


def test_version(capsys):
    assert main(["--version"]) == 0
    assert f"bitstream format {nvc.FORMAT_VERSION}" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["encode", "decode", "info"])
def test_help_shows_real_defaults_and_never_none(capsys, command):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "default: None" not in text
    if command == "encode":
        assert f"(default {DEFAULT_QUALITY})" in text and f"(default: {CodecConfig.group_size})" in text


def test_encode_writes_stats_and_decodes_to_every_format(sample, tmp_path):
    folder, source, encoded = sample
    stats = json.loads((folder / "s.json").read_text())
    assert stats["bytes"] == encoded.stat().st_size and len(stats["groups"]) == 2
    reference = list(nvc.decode(encoded))
    for name in ("dec.mkv", "dec.y4m", "dec.yuv", "frames", "dec.mp4"):
        assert main(["decode", str(encoded), str(tmp_path / name), "--quiet"]) == 0
    assert np.array_equal(read_clip(tmp_path / "dec.mkv")[0], np.stack(reference))  # FFV1 is exact
    assert np.array_equal(read_clip(tmp_path / "frames")[0], np.stack(reference))
    assert read_clip(tmp_path / "dec.y4m")[1].fps == Fraction(25)
    assert read_clip(tmp_path / "dec.yuv", input_res=(17, 9), fps=Fraction(25))[0].shape == (3, 9, 17, 3)


def test_frame_range_decode(sample, tmp_path):
    _, _, encoded = sample
    out = tmp_path / "range.mkv"
    assert main(["decode", str(encoded), str(out), "--frames", "1:3", "--quiet"]) == 0
    frames = read_clip(out)[0]
    assert np.array_equal(frames, np.stack(list(nvc.decode(encoded))[1:3]))


def test_info_json_in_a_real_process(sample):
    _, _, encoded = sample
    done = subprocess.run([sys.executable, "-m", "nvc", "info", str(encoded), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["width"], doc["height"], doc["frames"], doc["groups"]) == (17, 9, 3, 2)
    assert doc["bytes"]["file"] == encoded.stat().st_size


@pytest.mark.parametrize("kind", ["flags", "name"])
def test_raw_yuv_input(tmp_path, kind):
    clip = synthetic_clip(16, 8, 2, seed=5)
    name = "clip.yuv" if kind == "flags" else "Clip_16x8_50fps_420_8bit_YUV.yuv"
    write_video(tmp_path / name, clip, VideoInfo(16, 8, Fraction(50)))
    extra = ["--input-res", "16x8", "--fps", "50"] if kind == "flags" else []
    out = tmp_path / "o.nvc"
    assert main(["encode", str(tmp_path / name), str(out), *FAST, *extra, "--quiet"]) == 0
    with nvc.open(out) as video:
        assert (video.info.width, video.info.height, video.info.fps, len(video)) == (16, 8, 50, 2)


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_container_inputs_with_frame_limits(tmp_path, suffix):
    clip = synthetic_clip(20, 12, 4, seed=6)
    source = tmp_path / f"in{suffix}"
    write_video(source, clip, VideoInfo(20, 12, Fraction(30)))
    out = tmp_path / "o.nvc"
    assert main(["encode", str(source), str(out), *FAST, "-f", "2", "--seek", "1", "--quiet"]) == 0
    assert len(nvc.open(out)) == 2


@pytest.mark.parametrize("args,code,needle", [
    (["encode", "missing.mp4", "o.nvc"], 3, "missing.mp4"),
    (["decode", "missing.nvc", "o.y4m"], 3, "missing.nvc"),
    (["encode", "x.y4m", "o.nvc", "-q", "99"], 2, "quality"),
    (["encode", "x.y4m", "o.nvc", "--preset", "warp"], 2, "preset"),
    (["frobnicate"], 2, "invalid choice"),
    (["encode", "x.y4m", "o.nvc", "--bpp", "0.1", "-q", "3"], 2, "not allowed"),
])
def test_errors_are_one_line_with_their_exit_code(tmp_path, monkeypatch, capsys, args, code, needle):
    monkeypatch.chdir(tmp_path)
    assert main(args) == code
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err


def test_corrupt_bitstream_and_refused_overwrite(sample, tmp_path, capsys):
    _, source, encoded = sample
    broken = tmp_path / "broken.nvc"
    broken.write_bytes(encoded.read_bytes()[:-5])
    assert main(["decode", str(broken), str(tmp_path / "x.y4m")]) == 4
    assert not (tmp_path / "x.y4m").exists()
    assert main(["info", str(source)]) == 4  # a y4m is not an nvc file
    assert main(["encode", str(source), str(encoded)]) == 2  # exists, no -y
    assert "use -y" in capsys.readouterr().err


def test_unwritable_output_format_leaves_nothing(sample, tmp_path):
    _, _, encoded = sample
    assert main(["decode", str(encoded), str(tmp_path / "out.gif"), "--quiet"]) == 3
    assert list(tmp_path.iterdir()) == []
