"""The nvc command line, through main(argv) and once as a real process."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
from fractions import Fraction

import numpy as np
import pytest

import nvc
from nvc.codec.cli import build_parser, main
from nvc.codec.config import CodecConfig
from nvc.codec.defaults import default_threads
from nvc.codec.describe import plural
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


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["encode", "--help"], ["encode"],
                                  ["decode", "x", "y", "--frob"]])
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


@pytest.fixture
def no_fitting(monkeypatch):
    """Fails the test if an encode gets as far as fitting a group."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("fitting started before the outputs were checked")

    monkeypatch.setattr("nvc.codec.encoder._GroupCoder.code", refuse)


def test_every_output_follows_the_overwrite_and_input_rules(sample, tmp_path, capsys, no_fitting):
    _, source, encoded = sample
    before = source.read_bytes(), encoded.read_bytes()
    new = str(tmp_path / "new.nvc")
    cases = [
        (["encode", str(source), new, *FAST, "--recon", str(source)], "exists"),  # the data loss
        (["encode", str(source), new, *FAST, "--stats", str(encoded)], "exists"),
        (["encode", str(source), new, *FAST, "--recon", str(source), "-y"], "is the input"),
        (["encode", str(source), str(source), *FAST, "-y"], "is the input"),
        (["encode", str(source), new, *FAST, "--stats", new, "-y"], "same file"),
        (["encode", str(source), new, *FAST, "--stats", str(tmp_path / "s.json"), "--recon",
          str(tmp_path / "s.json")], "same file"),
        (["decode", str(encoded), str(encoded), "-y"], "is the input"),
    ]
    for args, needle in cases:
        assert main(args) == 2, args
        assert needle in capsys.readouterr().err, args
    assert (source.read_bytes(), encoded.read_bytes()) == before
    assert list(tmp_path.iterdir()) == []


def test_bad_outputs_fail_before_fitting_and_leave_nothing(sample, tmp_path, capsys, no_fitting):
    _, source, _ = sample
    (tmp_path / "file").write_text("x")
    out = str(tmp_path / "o.nvc")
    cases = [
        ["--recon", str(tmp_path / "r.gif")],
        ["--recon", str(tmp_path / "file" / "r.y4m")],
        ["--stats", str(tmp_path / "missing" / "s.json")],
        ["--logdir", str(tmp_path / "file")],
        ["--logdir", str(tmp_path / "file" / "logs")],
    ]
    for extra in cases:
        assert main(["encode", str(source), out, *FAST, *extra]) == 3, extra
        err = capsys.readouterr().err
        assert err.startswith("nvc: error: ") and err.count("\n") == 1, err
    (tmp_path / ".o.nvc.partial").write_text("in the way")
    assert main(["encode", str(source), out, *FAST]) == 3
    assert "checkpoint" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [".o.nvc.partial", "file"]


def test_missing_output_folder_is_created_by_neither_command(sample, tmp_path, capsys, no_fitting):
    _, source, encoded = sample
    for args in (["encode", str(source), str(tmp_path / "new" / "o.nvc"), *FAST],
                 ["decode", str(encoded), str(tmp_path / "new" / "o.y4m")],
                 ["decode", str(encoded), str(tmp_path / "new" / "frames")]):
        assert main(args) == 3, args
        assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def _through_fifo(fifo, args: list[str]) -> tuple[int, bytes]:
    """Run the CLI writing into a new named pipe at ``fifo``; the exit code and what a reader got."""
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code = main(args)
    reader.join(timeout=60)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a pipe, never renamed over
    return code, received[0]


def test_fifo_output_is_written_in_place_and_a_socket_refused(sample, tmp_path, capsys):
    _, _, encoded = sample
    fifo = tmp_path / "pipe.y4m"
    code, data = _through_fifo(fifo, ["decode", str(encoded), str(fifo), "-y", "--quiet"])
    assert code == 0
    (tmp_path / "copy.y4m").write_bytes(data)
    assert len(read_clip(tmp_path / "copy.y4m")[0]) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.y4m", "pipe.y4m"]  # no temporary files
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock.y4m"))
        assert main(["decode", str(encoded), str(tmp_path / "sock.y4m"), "-y"]) == 3
        assert "not a regular file" in capsys.readouterr().err


def test_encode_to_a_fifo_streams_the_file(sample, tmp_path):
    _, source, encoded = sample
    fifo = tmp_path / "out.nvc"
    code, data = _through_fifo(fifo, ["encode", str(source), str(fifo), *FAST, "-y", "--quiet"])
    assert code == 0 and data == encoded.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["out.nvc"]  # no checkpoint, no lock, no temporary
    assert main(["encode", str(source), str(fifo), *FAST, "-y", "--resume"]) == 2
    assert main(["encode", str(source), str(fifo), *FAST, "-y", "--recon", str(tmp_path / "r.mkv")]) == 2


@pytest.mark.parametrize("args,needle", [
    (["decode", "{nvc}", "o.y4m", "--frames", "2:1"], "0 <= A < B"),
    (["decode", "{nvc}", "o.y4m", "--frames=-1:2"], "0 <= A < B"),
    (["decode", "{nvc}", "o.y4m", "--frames", "1:9"], "outside the file's 0:3"),
    (["decode", "{nvc}", "o.y4m", "--frames", "5:"], "outside the file's 0:3"),
    (["encode", "{y4m}", "o.nvc", "--input-res", "0x0"], "0x0"),
    (["encode", "{y4m}", "o.nvc", "--fps", "0"], "positive"),
    (["encode", "{y4m}", "o.nvc", "--fps", "2000"], "above the supported 1000"),
    (["encode", "{y4m}", "o.nvc", "--fps", "0.1234567891"], "N/D"),
])
def test_bad_option_values_are_usage_errors(sample, tmp_path, monkeypatch, capsys, no_fitting, args, needle):
    _, source, encoded = sample
    monkeypatch.chdir(tmp_path)
    assert main([a.format(nvc=encoded, y4m=source) for a in args]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_stats_json_is_strict_json(tmp_path):
    from nvc.codec.cli import _write_json

    _write_json(str(tmp_path / "s.json"), {"psnr_rgb": float("inf"), "groups": [
        {"psnr": np.float64("inf"), "saved": np.float32(1.5), "bytes": 3, "key": True}]})
    doc = json.loads((tmp_path / "s.json").read_text(), parse_constant=lambda name: pytest.fail(name))
    assert doc == {"psnr_rgb": None, "groups": [{"psnr": None, "saved": 1.5, "bytes": 3, "key": True}]}


def test_dot_and_long_output_names(sample, tmp_path, monkeypatch, capsys):
    _, source, encoded = sample
    monkeypatch.chdir(tmp_path)
    assert main(["encode", str(source), ".", *FAST]) == 2  # exists
    assert main(["encode", str(source), ".", *FAST, "-y"]) == 3  # a folder
    assert "is a folder" in capsys.readouterr().err
    assert main(["decode", str(encoded), ".", "-y", "--quiet"]) == 0  # PNG frames into the current folder
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"frame_{i:06d}.png" for i in range(3)]
    long_nvc, long_y4m = "n" * 246 + ".nvc", "d" * 246 + ".y4m"  # 250 characters, near NAME_MAX
    assert main(["encode", str(source), long_nvc, *FAST, "--quiet"]) == 0
    assert main(["decode", long_nvc, long_y4m, "--quiet"]) == 0
    assert nvc.open(long_nvc).info.frames == 3 and len(read_clip(long_y4m)[0]) == 3
    assert len(list(tmp_path.iterdir())) == 5  # nothing hidden left behind


def test_fps_terms_beyond_32_bits_decode_to_every_format(tmp_path):
    fps = Fraction(2**32 - 1, 2**32 - 2)  # valid in the header; FFmpeg's rationals hold 31 bits
    nvc.encode(synthetic_clip(16, 8, 2, seed=2), tmp_path / "o.nvc", fps=fps, preset="ultrafast", group_size=2,
               progress=False, tile=16)
    assert nvc.open(tmp_path / "o.nvc").info.fps == fps
    for name in ("o.mkv", "o.mp4", "o.y4m"):
        assert main(["decode", str(tmp_path / "o.nvc"), str(tmp_path / name), "--quiet"]) == 0
        assert abs(read_clip(tmp_path / name)[1].fps - fps) < Fraction(1, 1000)
    assert read_clip(tmp_path / "o.y4m")[1].fps == fps
