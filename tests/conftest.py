"""Shared fixtures: tiny deterministic clips and one small encoded file reused by many tests."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # lets tests import tools/ (benchmarks) as a package
    sys.path.insert(0, str(ROOT))

import nvc  # noqa: E402
from nvc.codec.rate import Tuning, model_for_video  # noqa: E402
from nvc.datasets import synthetic_clip  # noqa: E402
from nvc.models import HNeRVConfig  # noqa: E402

torch.set_num_threads(2)

TINY = dict(preset="ultrafast", group_size=2, key_interval=2, tile=16, scene_cut_db=0.0)
"""Encoder options that make a test encode take a second or two.  A tiny pan moves many pixels per
frame (tiny_clip's frames differ by 14-19 dB), so scene cuts are off here and tested on their own."""


def hnerv_sized(quality: int, height: int, width: int) -> HNeRVConfig:
    """The codec's HNeRV network for this quality and frame size (tests of HNeRV and its fused
    kernels name it: the default architecture is another)."""
    config = model_for_video(quality, height, width, Tuning(arch="hnerv"))
    assert isinstance(config, HNeRVConfig)
    return config


@pytest.fixture(scope="session")
def tiny_clip() -> np.ndarray:
    """5 frames of 40x24 camera motion: three groups (key, inter, key)."""
    return synthetic_clip(40, 24, 5, seed=1)


@pytest.fixture(scope="session")
def tiny_encoded(tiny_clip, tmp_path_factory) -> tuple[Path, nvc.EncodeReport]:
    """The tiny clip encoded once for the whole session."""
    path = tmp_path_factory.mktemp("encoded") / "tiny.nvc"
    report = nvc.encode(tiny_clip, path, fps=25, **TINY)
    return path, report
