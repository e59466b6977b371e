"""`nvc compare` and the metrics it shares with the benchmark tools."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

import nvc
from nvc.codec import metrics
from nvc.codec.cli import main
from nvc.codec.compare import compare
from nvc.datasets import VideoInfo, rgb_to_yuv420, synthetic_clip, write_video


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A 4-frame 24x16 clip and a noisy copy, as lossless PNG folders."""
    folder = tmp_path_factory.mktemp("compare")
    reference = synthetic_clip(24, 16, 4, seed=2)
    noise = np.random.default_rng(0).integers(-12, 13, reference.shape)
    distorted = np.clip(reference.astype(np.int64) + noise, 0, 255).astype(np.uint8)
    info = VideoInfo(24, 16, Fraction(25))
    write_video(folder / "ref", reference, info)
    write_video(folder / "dist", distorted, info)
    return folder, reference, distorted


def test_per_frame_psnr_matches_scikit_image(pair):
    folder, reference, distorted = pair
    result = compare(folder / "ref", folder / "dist")
    assert len(result.frames) == 4
    for ref, dist, scores in zip(reference, distorted, result.frames):
        # the same MSE in float64 by both; only the log's last bits may differ
        assert scores.psnr_rgb == pytest.approx(peak_signal_noise_ratio(ref, dist, data_range=255), rel=1e-12)
        planes = [peak_signal_noise_ratio(a, b, data_range=255)
                  for a, b in zip(rgb_to_yuv420(ref), rgb_to_yuv420(dist))]
        assert scores.psnr_y == pytest.approx(planes[0], rel=1e-12)
        assert scores.psnr_yuv == pytest.approx((6 * planes[0] + planes[1] + planes[2]) / 8, rel=1e-12)
    assert result.mean["psnr_rgb"] == pytest.approx(np.mean([s.psnr_rgb for s in result.frames]), rel=1e-12)


def test_the_benchmark_tools_score_with_the_same_code():
    from tools import baselines, bench_nvc, demo

    assert bench_nvc.score is baselines.score is demo.score is metrics.score


def test_an_nvc_file_is_decoded_for_comparison(tiny_clip, tiny_encoded, tmp_path):
    path, report = tiny_encoded
    write_video(tmp_path / "ref", tiny_clip, VideoInfo(40, 24, Fraction(25)))
    result = compare(tmp_path / "ref", path)
    assert result.mean["psnr_rgb"] == pytest.approx(
        np.mean([metrics.psnr(a, b) for a, b in zip(tiny_clip, nvc.decode(path))]), rel=1e-12)


def test_cli_json_text_and_unequal_lengths(pair, capsys):
    folder, reference, _ = pair
    write_video(folder / "short", reference[:2], VideoInfo(24, 16, Fraction(25)))
    assert main(["compare", str(folder / "ref"), str(folder / "short"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["compared_frames"], doc["reference_frames"], doc["distorted_frames"]) == (2, 4, 2)
    assert doc["frames"][0]["psnr_rgb"] is None  # identical frames: infinite PSNR is null in strict JSON
    assert doc["mean"]["ms_ssim_rgb"] is None  # undefined below 161 pixels
    assert main(["compare", str(folder / "ref"), str(folder / "dist")]) == 0
    text = capsys.readouterr().out
    assert text.count("\nframe ") == 3 and "mean of 4 frames: PSNR RGB" in text and "{" not in text


def test_frames_of_different_sizes_are_refused(pair, tmp_path, capsys):
    folder, _, _ = pair
    write_video(tmp_path / "other", synthetic_clip(16, 16, 2, seed=1), VideoInfo(16, 16, Fraction(25)))
    assert main(["compare", str(folder / "ref"), str(tmp_path / "other")]) == 3
    assert "16x16" in capsys.readouterr().err
