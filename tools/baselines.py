"""Classic-codec baselines through PyAV's bundled encoders: x264, x265 and SVT-AV1.

Each point encodes the clip's RGB frames converted to 8-bit yuv420p by nvc.datasets.rgb_to_yuv420
(BT.709 limited, the same conversion nvc's readers use), decodes the packets with FFmpeg's own
decoders (h264, hevc, libdav1d) and converts back with nvc.datasets.yuv420_to_rgb, so baselines
and nvc are scored on identical RGB frames. No container is written: bpp counts the bytes of
every packet of the elementary stream (parameter sets travel in-band), after H.264 / HEVC SEI
messages are dropped (FFmpeg's filter_units): they are optional metadata, mostly x264's and
x265's version and option strings (about 0.6 and 2.3 kB), which would weigh on short clips.
The decoder reads the filtered stream. Encode and decode seconds time the codec calls only, not
the colour conversion.

Settings, named like `x265-medium-nob-crf28`:
- x264 / x265 at presets medium and veryslow, with B-frames at the preset's default ('b') or
  none ('nob': x264 bf=0, x265 bframes=0); no tune.
- SVT-AV1 at one numeric preset (default 6), random access with its default hierarchical
  mini-GOP ('b') or low delay, pred-struct=1 ('nob').
- keyint (x264/x265/SVT-AV1 'keyint') is the clip length unless a GOP is stated, which then
  appears in the name (`x265-medium-nob-gop32-crf28`); scene-cut detection stays at its default.
- threads: the codec context's thread count (x264's threads, the decoders'), x265 pools, SVT-AV1
  lp (its level of parallelism).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.bitstream import BitStreamFilterContext

from nvc.codec.metrics import score
from nvc.datasets import rgb_to_yuv420, yuv420_to_rgb
from nvc.datasets.container import plane_pixels

__all__ = ["BASELINES", "DEFAULT_CRFS", "DEFAULT_PRESETS", "DEFAULT_SVTAV1_PRESET", "BaselineSetting",
           "baseline_settings", "encode_baseline"]

BASELINES = ("x264", "x265", "svtav1")
ENCODERS = {"x264": "libx264", "x265": "libx265", "svtav1": "libsvtav1"}
DECODERS = {"x264": "h264", "x265": "hevc", "svtav1": "libdav1d"}
SEI_FILTERS = {"x264": "filter_units=remove_types=6", "x265": "filter_units=remove_types=39|40"}
"""Bitstream filters dropping SEI NAL units (H.264 type 6, HEVC prefix/suffix 39 and 40)."""
DEFAULT_CRFS: dict[str, tuple[int, ...]] = {
    "x264": (19, 25, 31, 37, 43, 49),
    "x265": (19, 25, 31, 37, 43, 49),
    "svtav1": (23, 31, 39, 47, 55, 63),
}
"""CRF ladders reaching down to nvc's range (about 28-40 dB RGB PSNR) and above it. On 30 frames
of bikes (easy content), x264 and x265 medium span 46-29 and 46-30 dB; SVT-AV1 preset 6, whose
CRF stops at 63, 45-35 dB; UVG at 1080p lands lower for the same CRF."""
DEFAULT_PRESETS = ("medium", "veryslow")
"""x264 / x265 presets."""
DEFAULT_SVTAV1_PRESET = 6


@dataclass(frozen=True)
class BaselineSetting:
    """One rate point of one classic encoder."""

    codec: str
    preset: str
    bframes: bool
    crf: int
    gop: int | None = None

    @property
    def curve(self) -> str:
        """Name of the RD curve this point belongs to, e.g. `x265-medium-nob`."""
        preset = f"p{self.preset}" if self.codec == "svtav1" else self.preset
        gop = "" if self.gop is None else f"-gop{self.gop}"
        return f"{self.codec}-{preset}-{'b' if self.bframes else 'nob'}{gop}"

    @property
    def name(self) -> str:
        """The results' `setting`, e.g. `x265-medium-nob-crf28`."""
        return f"{self.curve}-crf{self.crf}"

    def options(self, keyint: int, threads: int) -> dict[str, str]:
        """FFmpeg encoder options for this setting."""
        if self.codec == "x264":
            return {"preset": self.preset, "crf": str(self.crf), "x264-params": f"keyint={keyint}",
                    **({} if self.bframes else {"bf": "0"})}
        if self.codec == "x265":
            params = f"keyint={keyint}:pools={threads}:log-level=error" + ("" if self.bframes else ":bframes=0")
            return {"preset": self.preset, "crf": str(self.crf), "x265-params": params}
        params = f"keyint={keyint}:lp={threads}" + ("" if self.bframes else ":pred-struct=1")
        return {"preset": self.preset, "crf": str(self.crf), "svtav1-params": params}


def baseline_settings(codecs: list[str], presets: list[str], bframes: list[bool], svtav1_preset: int,
                      crfs: list[int] | None = None, gop: int | None = None) -> list[BaselineSetting]:
    """Every (codec, preset, B-frames, CRF) combination; `crfs` overrides each codec's DEFAULT_CRFS."""
    settings = []
    for codec in codecs:
        if codec not in ENCODERS:
            raise ValueError(f"unknown baseline {codec!r}; choose from {', '.join(BASELINES)}")
        for preset in [str(svtav1_preset)] if codec == "svtav1" else presets:
            for b in bframes:
                settings += [BaselineSetting(codec, preset, b, crf, gop) for crf in crfs or DEFAULT_CRFS[codec]]
    return settings


class _Stopwatch:
    """Accumulates the seconds spent inside `with stopwatch:` blocks."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._start


def _yuv_frame(rgb: np.ndarray, index: int) -> av.VideoFrame:
    """A yuv420p frame holding nvc's BT.709 limited conversion of `rgb`."""
    planes = rgb_to_yuv420(rgb)
    stacked = np.concatenate([plane.ravel() for plane in planes]).reshape(-1, rgb.shape[1])
    frame = av.VideoFrame.from_ndarray(stacked, format="yuv420p")
    frame.pts = index
    return frame


def _rgb_frame(frame: av.VideoFrame) -> np.ndarray:
    """RGB of a decoded yuv420p frame, by nvc.datasets.yuv420_to_rgb."""
    if frame.format.name != "yuv420p":
        raise RuntimeError(f"decoder returned {frame.format.name}, expected yuv420p")
    return yuv420_to_rgb(*(plane_pixels(plane) for plane in frame.planes))


def _encode(clip: np.ndarray, fps: Fraction, setting: BaselineSetting, keyint: int, threads: int,
            stopwatch: _Stopwatch) -> list[av.Packet]:
    """Every packet of the elementary stream, timing only the encoder calls."""
    if setting.codec == "svtav1":
        os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its configuration to stderr unless told
    context = av.CodecContext.create(ENCODERS[setting.codec], "w")
    context.width, context.height, context.pix_fmt = clip.shape[2], clip.shape[1], "yuv420p"
    context.time_base, context.framerate = 1 / fps, fps
    context.thread_count = threads
    context.options = setting.options(keyint, threads)
    packets: list[av.Packet] = []
    for index, rgb in enumerate(clip):
        frame = _yuv_frame(rgb, index)
        with stopwatch:
            packets += context.encode(frame)
    with stopwatch:
        packets += context.encode(None)
    return packets


def _without_sei(packets: list[av.Packet], codec: str) -> list[av.Packet]:
    """The packets with their SEI NAL units removed (unchanged for codecs without SEI_FILTERS)."""
    if codec not in SEI_FILTERS:
        return packets
    bsf = BitStreamFilterContext(SEI_FILTERS[codec], DECODERS[codec])
    return [out for packet in [*packets, None] for out in bsf.filter(packet)]


def _decode(packets: list[av.Packet], codec: str, threads: int, stopwatch: _Stopwatch) -> Iterator[np.ndarray]:
    """Decoded RGB frames in display order, timing only the decoder calls."""
    context = av.CodecContext.create(DECODERS[codec], "r")
    context.thread_count = threads
    for packet in [*packets, None]:
        with stopwatch:
            frames = context.decode(packet)
        yield from (_rgb_frame(frame) for frame in frames)


def encode_baseline(clip: np.ndarray, fps: Fraction, setting: BaselineSetting, *, threads: int = 2) -> dict:
    """Encode, decode and score `clip` (T x H x W x 3 uint8, even sides) at one setting; returns a result row."""
    frames, height, width = clip.shape[:3]
    if height % 2 or width % 2:
        raise ValueError(f"yuv420p baselines need even frame sides, got {width}x{height}")
    keyint = setting.gop or frames
    encoding, decoding = _Stopwatch(), _Stopwatch()
    packets = _without_sei(_encode(clip, fps, setting, keyint, threads, encoding), setting.codec)
    payload = sum(packet.size for packet in packets)
    scores = score(clip, _decode(packets, setting.codec, threads, decoding))
    return {
        "codec": setting.codec,
        "setting": setting.name,
        "curve": setting.curve,
        "encoder": ENCODERS[setting.codec],
        "preset": setting.preset,
        "bframes": setting.bframes,
        "crf": setting.crf,
        "keyint": keyint,
        "threads": threads,
        "pyav": av.__version__,
        "frames": frames,
        "width": width,
        "height": height,
        "bytes": payload,
        "bpp": payload * 8 / (frames * height * width),
        "encode_s": encoding.seconds,
        "encode_fps": frames / encoding.seconds,
        "decode_s": decoding.seconds,
        "decode_fps": frames / decoding.seconds,
        **scores,
    }
