"""Bad *video* inputs through the CLI: each either encodes correctly or ends in one clear line, exit 3.

"Correctly" means the encode succeeds and the .nvc decodes to the input's size and frame count.
Never a traceback, never an "internal error", never an output (or temporary) file left behind
after a refusal.  Encodes are tiny (16x8 or smaller, at most 3 frames, preset ultrafast).

What nvc.datasets converts and what it refuses (both acceptable):
- 10-bit 4:2:0, 4:4:4 and grayscale inside a container (.mkv/.mp4) are converted by FFmpeg and
  encoded; the same formats in .y4m (C420p10, C444, Cmono) are refused with a clear message.
- variable frame rate: the frames are encoded in order at the stream's average rate.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import nvc
from nvc.codec.cli import main
from nvc.datasets import VideoInfo, synthetic_clip, write_video

FAST = ["--preset", "ultrafast", "--group-size", "3", "--key-interval", "1", "--no-progress", "--threads", "1", "-y"]


def _write_av(path: Path, frames: np.ndarray, pix_fmt: str, codec: str = "ffv1",
              pts: list[int] | None = None) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        if pts is not None:
            stream.time_base = Fraction(1, 1000)
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            if pts is not None:
                frame.pts, frame.time_base = pts[index], Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _y4m(path: Path, header: bytes, frames: int, frame_bytes: int) -> None:
    path.write_bytes(header + b"\n" + (b"FRAME\n" + bytes(range(256)) * (frame_bytes // 256)
                                       + bytes(frame_bytes % 256)) * frames)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad-inputs")
    clip = synthetic_clip(16, 8, 3, seed=3)
    write_video(folder / "good.mp4", clip, VideoInfo(16, 8, Fraction(25)))
    good = (folder / "good.mp4").read_bytes()
    (folder / "garbage.mp4").write_bytes(bytes(range(256)) * 8)
    (folder / "truncated.mp4").write_bytes(good[: len(good) // 2])
    damaged = bytearray(good)
    for i in range(len(good) // 3, len(good) // 3 + 40):
        damaged[i] ^= 0x5A
    (folder / "damaged.mp4").write_bytes(bytes(damaged))
    (folder / "zero-bytes.mp4").write_bytes(b"")
    (folder / "zero-bytes.yuv").write_bytes(b"")
    (folder / "no-frames.y4m").write_bytes(b"YUV4MPEG2 W16 H8 F25:1 C420jpeg\n")
    (folder / "empty-folder").mkdir()
    with av.open(str(folder / "no-frames.mkv"), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 16, 8, "yuv420p"
        container.start_encoding()
    with av.open(str(folder / "audio-only.mka"), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    write_video(folder / "one-frame.y4m", clip[:1], VideoInfo(16, 8, Fraction(25)))
    write_video(folder / "tiny-1x1.y4m", synthetic_clip(1, 1, 2, seed=1), VideoInfo(1, 1, Fraction(25)))
    write_video(folder / "odd-17x9.y4m", synthetic_clip(17, 9, 2, seed=1), VideoInfo(17, 9, Fraction(25)))
    (folder / "huge_9000x10.yuv").write_bytes(bytes(9000 * 10 * 3 // 2))  # --input-res 9000x10 is a usage error
    _y4m(folder / "huge.y4m", b"YUV4MPEG2 W9000 H10 F25:1", 0, 0)
    _y4m(folder / "2000fps.y4m", b"YUV4MPEG2 W16 H8 F2000:1", 1, 16 * 8 * 3 // 2)
    _y4m(folder / "long-fps.y4m", b"YUV4MPEG2 W16 H8 F1234567891:10000000000", 1, 16 * 8 * 3 // 2)
    (folder / "clip_16x8_0fps.yuv").write_bytes(bytes(16 * 8 * 3 // 2))
    _y4m(folder / "10bit.y4m", b"YUV4MPEG2 W16 H8 F25:1 C420p10", 1, 16 * 8 * 3)
    _y4m(folder / "444.y4m", b"YUV4MPEG2 W16 H8 F25:1 C444", 1, 16 * 8 * 3)
    _y4m(folder / "gray.y4m", b"YUV4MPEG2 W16 H8 F25:1 Cmono", 1, 16 * 8)
    _write_av(folder / "10bit.mkv", clip[:2], "yuv420p10le")
    _write_av(folder / "444.mkv", clip[:2], "yuv444p")
    _write_av(folder / "gray.mkv", clip[:2], "gray")
    _write_av(folder / "vfr.mkv", clip, "yuv420p", pts=[0, 40, 200])
    return folder


def _encode(source: Path, out: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["encode", str(source), str(out), *FAST, *extra])
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("name,extra,needle", [
    ("garbage.mp4", [], "cannot decode"),
    ("truncated.mp4", [], "cannot decode"),
    ("zero-bytes.mp4", [], "empty"),
    ("zero-bytes.yuv", ["--input-res", "16x8"], "empty"),
    ("no-frames.y4m", [], "no frames"),
    ("no-frames.mkv", [], "no-frames.mkv"),
    ("empty-folder", [], "empty-folder"),
    ("audio-only.mka", [], "no video stream"),
    ("missing.mp4", [], "missing.mp4"),
    ("huge_9000x10.yuv", [], "9000x10"),
    ("huge.y4m", [], "9000x10"),
    ("10bit.y4m", [], "C420p10"),
    ("444.y4m", [], "C444"),
    ("gray.y4m", [], "Cmono"),
    ("2000fps.y4m", [], "frame rate 2000 is above the supported 1000"),
    ("long-fps.y4m", [], "numerator or denominator above"),
    ("clip_16x8_0fps.yuv", [], "frame rate must be a positive"),
    ("one-frame.y4m", ["-f", "2"], "2 frames asked for, the input has only 1 from frame 0 on"),
    ("odd-17x9.y4m", ["--seek", "1", "-f", "2"], "2 frames asked for, the input has only 1 from frame 1 on"),
])
def test_refused_with_one_line_and_exit_code_3(inputs, tmp_path, capsys, monkeypatch, name, extra, needle):
    monkeypatch.setattr("nvc.codec.encoder._GroupCoder.code", lambda *a, **k: pytest.fail("refused only after fitting"))
    code, err = _encode(inputs / name, tmp_path / "out.nvc", capsys, *extra)
    assert code == 3, err
    assert err.startswith("nvc: error: ") and "\n" not in err and "Traceback" not in err, err
    assert needle in err, err
    assert list(tmp_path.iterdir()) == []  # no output and no temporary file


@pytest.mark.parametrize("name,size,frames", [
    ("one-frame.y4m", (16, 8), 1),
    ("tiny-1x1.y4m", (1, 1), 2),
    ("odd-17x9.y4m", (17, 9), 2),
    ("10bit.mkv", (16, 8), 2),
    ("444.mkv", (16, 8), 2),
    ("gray.mkv", (16, 8), 2),
    ("vfr.mkv", (16, 8), 3),
])
def test_converted_and_encoded(inputs, tmp_path, capsys, name, size, frames):
    out = tmp_path / "out.nvc"
    code, err = _encode(inputs / name, out, capsys)
    assert code == 0, err
    with nvc.open(out) as video:
        assert (video.info.width, video.info.height, len(video)) == (*size, frames)
        decoded = list(video.frames())
    assert len(decoded) == frames and all(f.shape == (size[1], size[0], 3) for f in decoded)


def test_damaged_mp4_is_encoded_or_refused_cleanly(inputs, tmp_path, capsys):
    """H.264 decoders conceal damage, so a damaged middle may still give frames: either outcome is
    fine as long as it is a correct encode or one clean line with exit code 3."""
    out = tmp_path / "out.nvc"
    code, err = _encode(inputs / "damaged.mp4", out, capsys, "-f", "2")
    if code == 0:
        with nvc.open(out) as video:
            assert (video.info.width, video.info.height) == (16, 8) and 1 <= len(video) <= 2
    else:
        assert code == 3 and err.startswith("nvc: error: ") and "\n" not in err, err
        assert list(tmp_path.iterdir()) == []


def test_a_truncated_container_warns_with_both_counts(tmp_path, capsys):
    """Matroska keeps the duration in its header: cut the tail off and fewer frames decode than it says."""
    whole = tmp_path / "whole.mkv"
    _write_av(whole, synthetic_clip(16, 8, 8, seed=3), "yuv420p")
    data = whole.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 6 // 10])
    decoded = len(nvc.datasets.read_clip(cut)[0])
    assert 1 <= decoded < 8
    code, err = _encode(cut, tmp_path / "out.nvc", capsys, "--group-size", "8")
    assert code == 0 and f"nvc: warning: {cut}: the file declares 8 frames but only {decoded} decode" in err, err
    assert len(nvc.open(tmp_path / "out.nvc")) == decoded
    code, err = _encode(whole, tmp_path / "whole.nvc", capsys, "--group-size", "8", "-f", "1")
    # stopping early on purpose is no truncation (main's larger-than-raw warning may still fire at 16x8)
    assert code == 0 and "declares" not in err, err
    code, err = _encode(cut, tmp_path / "quiet.nvc", capsys, "--group-size", "8", "--quiet")
    assert code == 0 and err == ""
