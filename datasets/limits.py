"""The one table of what a video may be: frame size, frame count and frame rate.

The .nvc header (docs/FORMAT.md) stores these values and the readers in this package check them
when a file is opened, so a video the codec cannot store is refused in seconds rather than after
every group has been fitted.  nvc.codec imports this table; nothing here imports nvc.codec.
"""

import numbers
from fractions import Fraction

from .errors import VideoInputError

MIN_SIDE = 1
"""Smallest width or height accepted."""
MAX_SIDE = 8192
"""Largest width or height accepted, checked before any frame is allocated."""
MAX_PIXELS = 8192 * 4352
"""Largest width x height (8K UHD-ish): bounds every per-frame allocation."""
MAX_FRAMES = 1 << 20
"""Most frames one video may hold."""
MAX_FPS = Fraction(1000)
"""Highest frame rate; the lowest is anything above 0."""
MAX_FPS_TERM = (1 << 32) - 1
"""Largest numerator or denominator of a frame rate: the header stores each as an unsigned 32-bit value."""


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x960"`` (or ``"1920X960"``) -> (1920, 960): the one reading of a WxH option.

    Raises:
        ValueError: ``text`` is not two integers joined by an x (the limits are :func:`check_size`'s).
    """
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"{text!r} is not WxH") from None
    return width, height


def check_size(width: int, height: int, where: object) -> None:
    """Refuse sizes outside the table before anything that size is allocated."""
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise VideoInputError(
            f"{where}: frame size {width}x{height} is outside the supported {MIN_SIDE}..{MAX_SIDE} per side"
        )
    if width * height > MAX_PIXELS:
        raise VideoInputError(f"{where}: frame size {width}x{height} is above {MAX_PIXELS} pixels")


def check_frame_count(count: int, where: object) -> None:
    """Refuse a video longer than the header can describe."""
    if count > MAX_FRAMES:
        raise VideoInputError(f"{where}: {count} frames is more than the supported {MAX_FRAMES}; select fewer")


def as_fps(value: object, where: object) -> Fraction:
    """An exact frame rate within the table; floats are refused because 29.97 is not 30000/1001."""
    if isinstance(value, bool) or not isinstance(value, numbers.Rational) or value <= 0:
        raise VideoInputError(f"{where}: frame rate must be a positive int or Fraction, got {value!r}")
    fps = Fraction(value)
    if fps > MAX_FPS:
        raise VideoInputError(f"{where}: frame rate {fps} is above the supported {MAX_FPS}")
    if max(fps.numerator, fps.denominator) > MAX_FPS_TERM:
        raise VideoInputError(
            f"{where}: frame rate {fps} needs a numerator or denominator above {MAX_FPS_TERM}; give it as a shorter N/D"
        )
    return fps
