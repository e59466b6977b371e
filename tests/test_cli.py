"""The nvc command line, through main(argv) and once as a real process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

import nvc
from nvc.codec.cli import build_parser, main
from nvc.codec.defaults import default_threads
from nvc.codec.describe import plural
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


@pytest.mark.parametrize("command", ["encode", "decode", "info", "compare"])
def test_help_shows_real_defaults_examples_and_never_none(capsys, command):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "default: None" not in text
    assert f"examples:\n  nvc {command} " in text
    if command == "encode":
        assert f"(default {DEFAULT_QUALITY})" in text and f"(default: {CodecConfig.group_size})" in text
        assert "(default: 0)" in _option_help(text, "--seed")
    if command in ("encode", "decode"):
        assert "(default: cpu)" in _option_help(text, "--device")
        assert f"(default: {default_threads()})" in _option_help(text, "--threads")


def _option_help(text: str, option: str) -> str:
    """The help entry of one option (from its line in the options list to the next option)."""
    entry = re.search(rf"\n  {option}\b.*?(?=\n  -|\n\n)", text, re.S)
    assert entry is not None, option
    return " ".join(entry.group(0).split())


def test_bare_nvc_prints_usage_and_the_subcommands(capsys):
    assert main([]) == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: nvc") and all(name in text for name in ("encode", "decode", "info", "compare"))


def test_aliases_crf_and_r():
    parser = build_parser()
    short = parser.parse_args(["encode", "a.y4m", "b.nvc", "-q", "22", "-r", "x.mkv"])
    long = parser.parse_args(["encode", "a.y4m", "b.nvc", "--crf", "22", "--recon", "x.mkv"])
    assert (short.quality, short.recon) == (long.quality, long.recon) == (22, "x.mkv")


def test_shell_completion_comes_from_the_parser(capsys):
    assert main(["--print-completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "--crf" in script and "compare" in script and "--progress" in script


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["encode", "--help"], ["encode"], ["decode", "x", "y", "--frob"]])
def test_help_version_and_usage_errors_do_not_import_torch(args):
    code = ("import sys; from nvc.codec.cli import main; status = main(sys.argv[1:]); "
            "print('heavy:', sorted(m for m in ('torch', 'skimage', 'compressai', 'av') if m in sys.modules), "
            "file=sys.stderr); sys.exit(status)")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == (0 if "--help" in args or "--version" in args else 2), done.stderr
    assert "heavy: []" in done.stderr


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
    (["encode", "x.y4m", "-", "-r", "r.mkv"], 2, "--recon"),
    (["compare", "-", "-"], 2, "stdin"),
    (["info", "x.nvc", "--groups", "--frob"], 2, "--frob"),
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


def test_info_groups_text_and_json_agree(sample, capsys):
    _, _, encoded = sample
    assert main(["info", str(encoded), "--groups", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    groups = doc["groups_detail"]
    assert doc["format_version"] == nvc.FORMAT_VERSION and len(groups) == doc["groups"] == 2
    assert [(g["first_frame"], g["frame_count"], g["key"]) for g in groups] == [(0, 2, True), (2, 1, False)]
    assert sum(g["bytes"] for g in groups) == doc["bytes"]["groups"]
    for g in groups:
        assert g["bpp"] == pytest.approx(g["bytes"] * 8 / (17 * 9 * g["frame_count"]), rel=1e-12)
        assert 0 <= g["residual_tensors"] <= g["coded_tensors"] > 0
    assert groups[0]["residual_tensors"] == 0  # a key group has no reference
    assert main(["info", str(encoded), "--groups"]) == 0
    text = capsys.readouterr().out
    assert "2 groups" in text and "1 key group " in text and "{" not in text and "format version" in text
    assert f"group 1: frames 2-2 (1), inter, {groups[1]['residual_tensors']}/{groups[1]['coded_tensors']}" in text
    assert (plural(1, "group"), plural(2, "group")) == ("1 group", "2 groups")


def test_progress_json_and_the_larger_than_raw_warning(tmp_path, capsys):
    clip = synthetic_clip(17, 9, 3, seed=4)
    write_video(tmp_path / "in.y4m", clip, VideoInfo(17, 9, Fraction(25)))
    args = ["encode", str(tmp_path / "in.y4m"), str(tmp_path / "o.nvc"), *FAST[:-3], "--progress", "json"]
    assert main(args) == 0
    lines = capsys.readouterr().err.splitlines()
    events = [json.loads(line) for line in lines if line.startswith("{")]
    assert [e["index"] for e in events if e["event"] == "group"] == [0, 1]
    fits = [e for e in events if e["event"] == "fit"]
    assert fits and {e["group"] for e in fits} == {0, 1} and all(e["iteration"] <= e["iterations"] for e in fits)
    assert any("larger than the raw 8-bit 4:2:0 video" in line for line in lines)  # 17x9x3: all overhead

    assert main(["decode", str(tmp_path / "o.nvc"), str(tmp_path / "d.y4m"), "--progress", "json", "-v"]) == 0
    lines = capsys.readouterr().err.splitlines()
    decoded = [json.loads(line) for line in lines if line.startswith("{")]
    assert [(e["event"], e["group"], e["frames_done"], e["frames"]) for e in decoded] == [
        ("decode", 0, 2, 3), ("decode", 1, 3, 3)]
    assert any(line.startswith("group 1: frames 2-2") for line in lines)  # -v: one line per group


def test_no_progress_silences_the_decode_bar(sample, tmp_path, capfd):
    _, _, encoded = sample
    assert main(["decode", str(encoded), str(tmp_path / "a.y4m")]) == 0
    assert "decode" in capfd.readouterr().err  # the bar
    assert main(["decode", str(encoded), str(tmp_path / "b.y4m"), "--no-progress"]) == 0
    assert capfd.readouterr().err.strip() == f"nvc: decoded 3 frames -> {tmp_path / 'b.y4m'}"


def test_stdin_and_stdout_refuse_a_terminal(sample, tmp_path, monkeypatch, capsys):
    _, _, encoded = sample
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["decode", str(encoded), "-"]) == 2
    assert "terminal" in capsys.readouterr().err
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    assert main(["encode", "-", str(tmp_path / "o.nvc")]) == 2
    assert "stdin is a terminal" in capsys.readouterr().err and not (tmp_path / "o.nvc").exists()


def test_main_leaves_torch_threads_as_it_found_them(sample, tmp_path):
    import torch

    _, _, encoded = sample
    before = torch.get_num_threads()
    assert main(["decode", str(encoded), str(tmp_path / "d.y4m"), "--threads", str(before + 1), "--quiet"]) == 0
    assert torch.get_num_threads() == before
