"""Scene cuts: detection, and an inter group that holds one is fitted from scratch."""

from __future__ import annotations

import numpy as np
import pytest

import nvc
from nvc.codec.rate import DEFAULT_QUALITY, fit_settings
from nvc.codec.scenes import SCENE_CUT_DB, holds_scene_cut
from nvc.datasets import synthetic_clip

from ..conftest import TINY


def _two_shots() -> np.ndarray:
    """Four frames of 40x24: two of one pan, then two of its negative (a hard cut at frame 2)."""
    clip = synthetic_clip(40, 24, 4, seed=1)
    clip[2:] = 255 - clip[2:]
    return clip


def test_a_cut_is_found_inside_a_group_and_across_its_start():
    clip = _two_shots()
    assert holds_scene_cut(clip, None, SCENE_CUT_DB)
    assert holds_scene_cut(clip[2:], clip[1], SCENE_CUT_DB)
    assert not holds_scene_cut(clip[2:], None, SCENE_CUT_DB)
    assert not holds_scene_cut(clip[2:], clip[1], 0.0)


def test_a_smooth_pan_holds_no_cut():
    clip = synthetic_clip(256, 144, 24)
    assert not holds_scene_cut(clip[1:], clip[0], SCENE_CUT_DB)


def test_identical_frames_are_no_cut_at_any_threshold():
    frame = synthetic_clip(40, 24, 1)[0]
    assert not holds_scene_cut(np.stack([frame, frame]), frame, 100.0)


@pytest.mark.parametrize("threshold, cut", [(SCENE_CUT_DB, True), (0.0, False)])
def test_an_inter_group_after_a_cut_is_fitted_from_scratch(tmp_path, threshold, cut):
    clip = _two_shots()
    options = {**TINY, "key_interval": 4, "scene_cut_db": threshold}
    report = nvc.encode(clip, tmp_path / "cut.nvc", fps=25, **options)
    first, second = report.groups
    assert (first.key, first.scene_cut, second.key, second.scene_cut) == (True, False, False, cut)
    inter_iterations = fit_settings(TINY["preset"], DEFAULT_QUALITY, False, (clip.shape[1], clip.shape[2])).iterations
    assert second.iterations > inter_iterations if cut else second.iterations <= inter_iterations
    decoded = np.stack(list(nvc.decode(tmp_path / "cut.nvc"))).astype(np.float64)
    assert 10 * np.log10(255**2 / np.mean((decoded - clip) ** 2)) == pytest.approx(report.psnr, abs=1e-9)


def test_the_threshold_is_checked():
    with pytest.raises(nvc.UsageError, match="scene-cut"):
        nvc.encode(_two_shots(), "unused.nvc", fps=25, **{**TINY, "scene_cut_db": -1.0})
