"""A deterministic test clip: a camera gliding over a photograph that ships with scikit-image.

Real image content with real, sub-pixel motion lets codecs, metrics and the
README demo behave as they would on video, with no download and no file.
"""

import numpy as np

from .errors import VideoInputError
from .limits import check_size

ZOOM = 0.15
"""The view narrows by this fraction from the first frame to the last."""
MARGIN = 0.8
"""Fraction of the photograph the widest view spans, leaving room to pan."""


def synthetic_clip(width: int = 256, height: int = 144, frames: int = 24, seed: int = 0) -> np.ndarray:
    """T x H x W x 3 uint8 RGB: an eased pan across skimage's coffee photo with a slight zoom in.

    The seed picks the pan direction; the same arguments always give the same bytes.
    """
    # scikit-image loads here, not with nvc.datasets: importing it costs most of a second
    from skimage.data import coffee
    from skimage.transform import AffineTransform, downscale_local_mean, warp

    check_size(width, height, "synthetic_clip")
    if frames < 1:
        raise VideoInputError(f"synthetic_clip: frames must be >= 1, got {frames}")
    photo = coffee().astype(np.float64)
    # Anti-alias: box-filter down to the coarsest whole factor the view allows, then sample bilinearly.
    factor = max(1, int(MARGIN * min(photo.shape[1] / width, photo.shape[0] / height)))
    photo_height, photo_width = photo.shape[0] // factor, photo.shape[1] // factor
    photo = downscale_local_mean(photo[: photo_height * factor, : photo_width * factor], (factor, factor, 1))
    step = MARGIN * min(photo_width / width, photo_height / height)  # photo pixels per output pixel
    angle = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi)
    room_x, room_y = (photo_width - width * step) / 2.0, (photo_height - height * step) / 2.0
    clip = np.empty((frames, height, width, 3), dtype=np.uint8)
    for index in range(frames):
        progress = index / max(frames - 1, 1)
        scale = step / (1.0 + ZOOM * progress)
        travel = np.sin(np.pi * (progress - 0.5))  # -1 -> 1, easing in and out
        centre_x = (photo_width - 1) / 2.0 + room_x * np.cos(angle) * travel
        centre_y = (photo_height - 1) / 2.0 + room_y * np.sin(angle) * travel
        output_to_photo = AffineTransform(
            matrix=np.array(
                [
                    [scale, 0.0, centre_x - scale * (width - 1) / 2.0],
                    [0.0, scale, centre_y - scale * (height - 1) / 2.0],
                    [0.0, 0.0, 1.0],
                ]
            )
        )
        view = warp(photo, output_to_photo, output_shape=(height, width), order=1, mode="edge", preserve_range=True)
        clip[index] = np.clip(np.floor(view + 0.5), 0, 255)
    return clip
