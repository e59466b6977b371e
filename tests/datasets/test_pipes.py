"""`-` as stdin and stdout: y4m (or raw yuv420p with --input-res) through real pipes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

import nvc
from nvc.datasets import (
    VideoInfo,
    VideoInputError,
    open_stream,
    read_clip,
    synthetic_clip,
    write_video,
    write_y4m_stream,
)
from nvc.datasets.request import ReadRequest

ENCODE = ["--preset", "ultrafast", "--group-size", "2", "--threads", "1", "--no-progress", "--quiet"]


def _nvc(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "nvc", *args], input=stdin, capture_output=True, timeout=300,
                          env=env)


def test_y4m_through_stdin_and_stdout_round_trip(tmp_path):
    clip = synthetic_clip(17, 9, 2, seed=7)
    source = tmp_path / "in.y4m"
    write_video(source, clip, VideoInfo(17, 9, Fraction(25)))
    piped = _nvc("encode", "-", "-", *ENCODE, stdin=source.read_bytes())
    assert piped.returncode == 0, piped.stderr
    from_file = _nvc("encode", str(source), str(tmp_path / "file.nvc"), *ENCODE)
    assert from_file.returncode == 0, from_file.stderr
    assert piped.stdout == (tmp_path / "file.nvc").read_bytes()  # same frames, same seed, same file

    decoded = _nvc("decode", str(tmp_path / "file.nvc"), "-", "--quiet")
    assert decoded.returncode == 0, decoded.stderr
    expected = io.BytesIO()
    write_y4m_stream(expected, nvc.decode(tmp_path / "file.nvc"), VideoInfo(17, 9, Fraction(25)))
    assert decoded.stdout == expected.getvalue()
    assert decoded.stderr == b""


def test_raw_yuv_on_stdin_needs_its_size(tmp_path):
    clip = synthetic_clip(16, 8, 2, seed=5)
    raw = tmp_path / "clip.yuv"
    write_video(raw, clip, VideoInfo(16, 8, Fraction(50)))
    refused = _nvc("encode", "-", str(tmp_path / "o.nvc"), *ENCODE, stdin=raw.read_bytes())
    assert refused.returncode == 3 and b"--input-res" in refused.stderr
    assert not (tmp_path / "o.nvc").exists()
    done = _nvc("encode", "-", str(tmp_path / "o.nvc"), *ENCODE, "--input-res", "16x8", "--fps", "50",
                stdin=raw.read_bytes())
    assert done.returncode == 0, done.stderr
    with nvc.open(tmp_path / "o.nvc") as video:
        assert (video.info.width, video.info.height, video.info.fps, len(video)) == (16, 8, 50, 2)


def _y4m(clip: np.ndarray, fps: int = 25) -> bytes:
    out = io.BytesIO()
    write_y4m_stream(out, clip, VideoInfo(clip.shape[2], clip.shape[1], Fraction(fps)))
    return out.getvalue()


def test_a_stream_reads_what_a_file_reads(tmp_path):
    clip = synthetic_clip(18, 10, 4, seed=3)
    (tmp_path / "c.y4m").write_bytes(_y4m(clip))
    from_file, info = read_clip(tmp_path / "c.y4m", seek=1, max_frames=2)
    source = open_stream(io.BytesIO(_y4m(clip)), ReadRequest(seek=1, max_frames=2))
    assert source.info.fps == info.fps and (source.info.width, source.info.height) == (18, 10)
    assert np.array_equal(np.stack(list(source)), from_file)


class _Trickle(io.RawIOBase):
    """A pipe that hands out at most 7 bytes per read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(7, size) if size >= 0 else 7)


def test_short_reads_are_joined():
    clip = synthetic_clip(18, 10, 2, seed=3)
    assert np.array_equal(np.stack(list(open_stream(_Trickle(_y4m(clip))))),
                          np.stack(list(open_stream(io.BytesIO(_y4m(clip))))))


@pytest.mark.parametrize("data,request_,needle", [
    (b"", ReadRequest(), "not a YUV4MPEG2"),
    (b"YUV4MPEG2 W8 H8 F25:1\n", ReadRequest(), "holds no frames"),
    (b"YUV4MPEG2 W8 H8 F25:1\nFRAME\n" + bytes(50), ReadRequest(), "frame 0 is truncated"),
    (b"YUV4MPEG2 W8 H8 F25:1\nFRAMX\n" + bytes(96), ReadRequest(), "does not start with FRAME"),
    (b"YUV4MPEG2 W8 H8\n", ReadRequest(), "no frame rate"),
    (bytes(100), ReadRequest(input_res=(8, 8)), "ends inside frame 1"),
    (bytes(96), ReadRequest(input_res=(8, 8), seek=1), "seek to frame 1"),
])
def test_bad_streams_fail_with_one_clear_message(data, request_, needle):
    with pytest.raises(VideoInputError, match=needle):
        list(open_stream(io.BytesIO(data), request_))
