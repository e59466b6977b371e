"""Tests of the benchmark tools: BD metrics, quality metrics, baselines, and one tiny end-to-end run."""

from __future__ import annotations

import json
import math
import sys
from fractions import Fraction

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

import nvc
from nvc.codec.metrics import ms_ssim, psnr, score
from nvc.codec.rate import PRESETS, Preset
from nvc.datasets import VideoInfo, rgb_to_yuv420, synthetic_clip, write_video
from tools import bdrate, decode_bench, demo
from tools.baselines import BaselineSetting, encode_baseline
from tools.make_tiny_uvg import make_tiny_uvg
from tools.published_uvg import PUBLISHED_UVG
from tools.results import load_results
from tools.sequences import clip_sequence

RATES = [100.0, 200.0, 400.0, 800.0]
PSNRS = [30.0, 33.0, 36.0, 39.0]


@pytest.mark.parametrize("method", bdrate.METHODS)
def test_bd_rate_of_a_curve_shifted_by_a_rate_factor_is_that_factor(method):
    assert bdrate.bd_rate(RATES, PSNRS, [0.8 * r for r in RATES], PSNRS, method) == pytest.approx(-20.0, abs=1e-9)
    assert bdrate.bd_rate(RATES, PSNRS, [1.5 * r for r in RATES], PSNRS, method) == pytest.approx(50.0, abs=1e-9)
    assert bdrate.bd_psnr(RATES, PSNRS, RATES, PSNRS, method) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("method", bdrate.METHODS)
def test_bd_on_partly_overlapping_lines_matches_the_hand_computed_value(method):
    # Anchor: ln R = (P - 30) / 5 for P in [30, 40]; test: ln R = (P - 30) / 10 for P in [32, 44].
    # Both interpolations reproduce lines exactly. Over the shared P in [32, 40] the log-rate gap
    # -(P - 30) / 10 averages -0.6, so BD-rate = exp(-0.6) - 1. Over the shared ln R in [0.2, 1.4]
    # the PSNR gap 10 ln R - 5 ln R averages 5 * 0.8 = 4 dB.
    anchor_psnr = np.array([30.0, 32.5, 35.0, 37.5, 40.0])
    test_psnr = np.array([32.0, 35.0, 38.0, 41.0, 44.0])
    anchor_rate, test_rate = np.exp((anchor_psnr - 30) / 5), np.exp((test_psnr - 30) / 10)
    assert bdrate.bd_rate(anchor_rate, anchor_psnr, test_rate, test_psnr, method) == pytest.approx(
        100 * (math.exp(-0.6) - 1), abs=1e-9)
    assert bdrate.bd_psnr(anchor_rate, anchor_psnr, test_rate, test_psnr, method) == pytest.approx(4.0, abs=1e-9)


@pytest.mark.parametrize("method", bdrate.METHODS)
def test_bd_of_curves_that_do_not_overlap_is_nan(method):
    high = [p + 20 for p in PSNRS]
    assert math.isnan(bdrate.bd_rate(RATES, PSNRS, RATES, high, method))
    assert math.isnan(bdrate.bd_psnr(RATES, PSNRS, [r * 100 for r in RATES], PSNRS, method))


def test_cubic_bd_of_a_nearly_flat_curve_is_nan_not_a_swing():
    # nvc's bikes medium curve of 2026-11-28: the cubic through it turns inside the shared interval.
    flat_rate, flat_psnr = [0.0728, 0.1084, 0.1616, 0.2061], [32.17, 33.10, 33.19, 33.22]
    anchor_rate, anchor_psnr = [0.01, 0.02, 0.04, 0.08], [30.0, 32.0, 34.0, 36.0]
    assert math.isnan(bdrate.bd_rate(anchor_rate, anchor_psnr, flat_rate, flat_psnr, "cubic"))
    assert bdrate.bd_rate(anchor_rate, anchor_psnr, flat_rate, flat_psnr, "pchip") > 0


def test_bd_refuses_curves_it_cannot_interpolate():
    with pytest.raises(ValueError, match="at least 2"):
        bdrate.bd_rate([100.0], [30.0], RATES, PSNRS)
    with pytest.raises(ValueError, match="distinct"):
        bdrate.bd_rate([100.0, 200.0, 400.0], [30.0, 30.0, 33.0], RATES, PSNRS, "pchip")


@pytest.mark.parametrize("anchor, expected", [("HM-18 RA (published)", 8.0),
                                              ("x265 medium, no B-frames (published)", -54.0)])
def test_published_hinerv_bd_rates_match_the_anchor_notes(anchor, expected):
    # shared/ANCHORS.md computed HiNeRV at +8% against HM and -54% against x265 medium without B-frames.
    curves = {curve.name: list(zip(*curve.points, strict=True)) for curve in PUBLISHED_UVG}
    (anchor_rate, anchor_psnr), (test_rate, test_psnr) = curves[anchor], curves["HiNeRV"]
    for method in bdrate.METHODS:
        bd = bdrate.bd_rate(anchor_rate, anchor_psnr, test_rate, test_psnr, method)
        assert bd == pytest.approx(expected, abs=1.5)


def test_psnr_matches_skimage():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    b = np.clip(a + rng.normal(0, 6, a.shape), 0, 255).astype(np.uint8)
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-10)
    assert psnr(a, a) == math.inf


def test_score_averages_per_frame_psnr_and_weights_yuv_6_1_1():
    clip = synthetic_clip(48, 32, 3, seed=2)
    noisy = np.clip(clip + np.random.default_rng(1).normal(0, 5, clip.shape), 0, 255).astype(np.uint8)
    result = score(clip, noisy)
    pairs = list(zip(clip, noisy, strict=True))
    planes = [[peak_signal_noise_ratio(p, q, data_range=255) for p, q in zip(rgb_to_yuv420(a), rgb_to_yuv420(b))]
              for a, b in pairs]
    assert result["psnr_rgb"] == pytest.approx(np.mean([peak_signal_noise_ratio(a, b) for a, b in pairs]))
    assert result["psnr_y"] == pytest.approx(np.mean([y for y, _, _ in planes]))
    assert result["psnr_yuv"] == pytest.approx(np.mean([(6 * y + u + v) / 8 for y, u, v in planes]))
    assert math.isnan(result["ms_ssim_rgb"])  # 32 pixels is too small for 5 scales


def test_ms_ssim_is_one_for_identical_frames_and_falls_with_noise():
    frame = synthetic_clip(192, 176, 1, seed=3)[0]
    rng = np.random.default_rng(4)
    values = [ms_ssim(frame, np.clip(frame + rng.normal(0, s, frame.shape), 0, 255).astype(np.uint8))
              for s in (2, 8, 20)]
    assert ms_ssim(frame, frame) == pytest.approx(1.0, abs=1e-12)
    assert 1.0 > values[0] > values[1] > values[2] > 0.0


def test_ms_ssim_agrees_with_pytorch_msssim():
    reference = pytest.importorskip("pytorch_msssim")
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    frame = synthetic_clip(192, 176, 1, seed=5)[0]
    noisy = np.clip(frame + np.random.default_rng(6).normal(0, 10, frame.shape), 0, 255).astype(np.uint8)
    as_tensor = lambda x: torch.from_numpy(np.moveaxis(x, -1, 0)[None].astype(np.float64))  # noqa: E731
    expected = reference.ms_ssim(as_tensor(frame), as_tensor(noisy), data_range=255).item()
    assert ms_ssim(frame, noisy) == pytest.approx(expected, abs=1e-5)


def test_baseline_settings_are_named_and_configured_as_documented():
    nob = BaselineSetting("x265", "medium", False, 28)
    assert (nob.name, nob.curve) == ("x265-medium-nob-crf28", "x265-medium-nob")
    assert "bframes=0" in nob.options(60, 1)["x265-params"]
    assert BaselineSetting("x264", "veryslow", False, 23, gop=32).options(60, 1)["bf"] == "0"
    assert BaselineSetting("x264", "veryslow", False, 23, gop=32).name == "x264-veryslow-nob-gop32-crf23"
    svt = BaselineSetting("svtav1", "6", True, 35)
    assert svt.name == "svtav1-p6-b-crf35" and "pred-struct" not in svt.options(60, 1)["svtav1-params"]


@pytest.mark.parametrize("codec, preset", [("x264", "medium"), ("x265", "medium"), ("svtav1", "8")])
def test_baselines_encode_decode_and_count_real_bytes(codec, preset):
    clip = synthetic_clip(64, 48, 4, seed=7)
    row = encode_baseline(clip, Fraction(25), BaselineSetting(codec, preset, False, 30), threads=1)
    assert row["bytes"] > 0 and row["bpp"] == row["bytes"] * 8 / (4 * 64 * 48)
    assert row["psnr_rgb"] > 25 and row["psnr_yuv"] > row["psnr_rgb"] - 10
    assert row["keyint"] == 4 and row["frames"] == 4


def test_clip_sequence_is_named_by_file_and_frame_count(tmp_path):
    path = tmp_path / "clip.y4m"
    write_video(path, synthetic_clip(32, 32, 3), VideoInfo(32, 32, Fraction(25)))
    sequence = clip_sequence(str(path), None)
    assert sequence.name == "clip-3f" and sequence.frames.shape == (3, 32, 32, 3)
    scaled = clip_sequence(str(path), 2, (16, 8))
    assert scaled.name == "clip-16x8-2f" and scaled.frames.shape == (2, 8, 16, 3)
    # area averaging: each output pixel is the mean of a 2x4 block of the source, rounded
    block = sequence.frames[0, :4, :2].astype(np.float64).mean(axis=(0, 1))
    assert np.abs(scaled.frames[0, 0, 0] - block).max() <= 0.5 + 1e-9


def test_old_nvc_rows_get_their_curve(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps([{"sequence": "bikes-60f", "codec": "nvc", "setting": "medium-q22", "preset": "medium",
                                 "frames": 60, "encode_s": 30.0, "bpp": 0.1, "psnr_rgb": 30.0}]))
    row = load_results(path)[0]
    assert row["curve"] == "nvc-medium" and row["encode_fps"] == 2.0


@pytest.fixture
def bench_main():
    """tools.benchmark.main; its plots need matplotlib (the `bench` extra)."""
    pytest.importorskip("matplotlib")
    from tools.benchmark import main

    return main


def test_crop_without_uvg_and_scale_with_uvg_are_refused(tmp_path, bench_main):
    with pytest.raises(SystemExit):
        bench_main(["--crop", "16x16", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        bench_main(["--uvg", str(tmp_path), "--scale", "16x16", "--out", str(tmp_path)])


def test_tiny_uvg_benchmark_writes_results_report_and_plots_then_resumes(tmp_path, monkeypatch, capsys, bench_main):
    # The test checks the plumbing, not nvc's quality: a few fitting iterations are enough.
    monkeypatch.setitem(PRESETS, "fast", Preset(key_iterations=8, inter_iterations=4))
    make_tiny_uvg(tmp_path / "uvg", (32, 32), 4, ["Beauty"])
    out = tmp_path / "bench"
    argv = ["--uvg", str(tmp_path / "uvg"), "--uvg-size", "32x32", "--frames", "0", "--qualities", "30",
            "--preset", "fast", "--group-size", "2", "--threads", "1", "--baselines", "x264",
            "--baseline-presets", "medium", "--bframes", "off", "--crf", "30", "--out", str(out)]
    assert bench_main(argv) == 0
    saved = (out / "results.json").read_text()
    rows = json.loads(saved)
    assert [(r["sequence"], r["setting"]) for r in rows] == [("Beauty-4f", "fast-q30-gs2"),
                                                             ("Beauty-4f", "x264-medium-nob-crf30")]
    assert all(r["uvg"] == "Beauty" and r["bpp"] > 0 and r["psnr_rgb"] > 5 for r in rows)
    report = (out / "report.md").read_text()
    assert "x264-medium-nob-crf30" in report and "HiNeRV" in report
    assert (out / "rd-Beauty-4f.png").stat().st_size > 0 and (out / "rd-mean.png").stat().st_size > 0
    nvc_file = out / "Beauty-4f-fast-q30-gs2.nvc"
    written = nvc_file.stat().st_mtime_ns
    capsys.readouterr()

    assert bench_main(argv) == 0
    assert "skip (measured) Beauty-4f nvc fast-q30-gs2" in capsys.readouterr().err
    assert (out / "results.json").read_text() == saved
    assert nvc_file.stat().st_mtime_ns == written
    assert bench_main(["--report", "--out", str(out)]) == 0


def test_benchmark_tuning_names_the_curve_and_reaches_the_encoder(tmp_path, monkeypatch, bench_main):
    monkeypatch.setitem(PRESETS, "fast", Preset(key_iterations=4, inter_iterations=2))
    make_tiny_uvg(tmp_path / "uvg", (32, 32), 2, ["Beauty"])
    argv = ["--uvg", str(tmp_path / "uvg"), "--uvg-size", "32x32", "--frames", "0", "--qualities", "30",
            "--preset", "fast", "--threads", "1", "--baselines", "x264", "--baseline-presets", "medium",
            "--bframes", "off", "--crf", "30", "--tuning", "arch=hnerv-grid", "--out", str(tmp_path / "bench")]
    assert bench_main(argv) == 0
    row = json.loads((tmp_path / "bench" / "results.json").read_text())[0]
    assert (row["setting"], row["curve"], row["tuning"]) == ("fast-q30-arch=hnerv-grid",
                                                             "nvc-fast-arch=hnerv-grid", ["arch=hnerv-grid"])
    with nvc.open(row["file"]) as video:
        assert video.info.config.arch == "hnerv-grid"
    with pytest.raises(SystemExit):
        bench_main([*argv[:-2], "--tuning", "nosuch=1", "--out", str(tmp_path / "refused")])


def test_demo_writes_the_sample_the_file_and_the_decoded_clip(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path), "--size", "64x48", "--frames", "3", "--preset", "ultrafast"]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"sample.mkv", "sample.nvc", "decoded.mp4"}
    report = capsys.readouterr().out
    assert f"{(tmp_path / 'sample.nvc').stat().st_size} bytes" in report and "RGB PSNR" in report


def test_tuning_parses_fit_and_model_overrides():
    from nvc.codec.rate import Tuning, fit_settings, model_for_video

    tuning = Tuning.parse(["lr=0.005", "batch_frames=4", "width=0.5", "kernels=1,1,3,3,3"])
    settings = fit_settings("fast", 28, True, (272, 640), tuning)
    assert (settings.lr, settings.batch_frames) == (0.005, 4)
    assert isinstance(settings.batch_frames, int)
    model = model_for_video(28, 272, 640, tuning)
    assert model.kernels == (1, 1, 3, 3, 3)
    assert model.channels == tuple(c // 2 for c in model_for_video(28, 272, 640).channels)
    assert Tuning.parse(["arch=hnerv-grid", "grid_times=3"]).model == (("grid_times", 3),)
    for bad in (["nosuch=1"], ["lr"], ["lr=abc"], ["width=9"], ["activation=1"], ["arch=nerv"],
                ["arch=hnerv", "grid_times=3"], ["inter.nosuch=1"], ["inter.lr=abc"], ["inter.width=0.5"]):
        with pytest.raises(ValueError):
            Tuning.parse(bad)


def test_inter_overrides_apply_to_inter_groups_only():
    from nvc.codec.rate import Tuning, fit_settings

    tuning = Tuning.parse(["lr=0.005", "optimizer=adam", "inter.lr=0.001", "inter.optimizer=adan"])
    key, inter = (fit_settings("fast", 28, from_scratch, (272, 640), tuning) for from_scratch in (True, False))
    assert (key.lr, key.optimizer) == (0.005, "adam")
    assert (inter.lr, inter.optimizer) == (0.001, "adan")


def test_inter_groups_fit_with_their_own_defaults_unless_a_tuning_sets_every_group():
    from nvc.codec.rate import INTER_GROUP_FIT, Tuning, fit_settings

    inter = fit_settings("medium", 28, False, (272, 640))
    assert {name: getattr(inter, name) for name in INTER_GROUP_FIT} == INTER_GROUP_FIT
    assert fit_settings("medium", 28, True, (272, 640)).optimizer != INTER_GROUP_FIT["optimizer"]
    assert fit_settings("medium", 28, False, (272, 640), Tuning.parse(["optimizer=adan"])).optimizer == "adan"


def test_small_frames_fit_for_more_iterations_up_to_a_bound():
    from nvc.codec.rate import MAX_ITERATION_SCALE, PRESETS, fit_settings, iteration_scale

    sizes = [(1080, 1920), (272, 640), (256, 640), (288, 352), (144, 176), (8, 8)]
    scales = [iteration_scale(height, width) for height, width in sizes]
    assert scales[:2] == [1.0, 1.0] and scales[-2:] == [MAX_ITERATION_SCALE] * 2
    assert scales == sorted(scales) and 1.0 < scales[2] < MAX_ITERATION_SCALE
    medium = PRESETS["medium"]
    assert fit_settings("medium", 28, True, (272, 640)).iterations == medium.key_iterations
    small_inter = fit_settings("medium", 28, False, (144, 176))
    assert small_inter.iterations == round(medium.inter_iterations * MAX_ITERATION_SCALE)


def _table_label(curve: str, codec: str, setting: int) -> str:
    """How the row of benchmarks.md's bikes table holding this point starts."""
    if curve.endswith("-old"):
        return "| previous default, q"  # one row for all its qualities
    return f"| nvc medium q{setting}" if codec == "nvc" else f"| {curve} ("


def test_the_readme_plot_data_are_the_benchmark_table_and_draw(tmp_path):
    from tools import rd_plot

    docs = rd_plot.DOCS
    table = (docs / "benchmarks.md").read_text()
    table = table[table.index("| point | bytes"):]
    rows = table[: table.index("\n\n")].splitlines()[2:]
    title, curves = rd_plot.load_curves(docs / "rd-bikes.json")
    assert {"nvc", "x264", "x265", "svtav1"} == {curve.codec for curve in curves.values()}
    assert any(name.endswith("-old") for name in curves)  # the superseded default, drawn beside the new one
    for name, curve in curves.items():
        for point in curve.rows:  # every plotted number is the table's, to its printed precision
            row = next(r for r in rows if r.startswith(_table_label(name, curve.codec, point["setting"])))
            assert f"{point['bpp']:.4f}" in row and f"{point['psnr_rgb']:.2f}" in row, (name, point)
    rd_plot.main([str(docs / "rd-bikes.json"), str(tmp_path / "rd.png")])
    assert (tmp_path / "rd.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_timing_runs_each_command_in_a_fresh_process(tmp_path):
    from tools.cli_timing import time_command

    marker = tmp_path / "runs"
    code = f"open({str(marker)!r}, 'a').write('x')"
    seconds = time_command([sys.executable, "-c", code], 3)
    assert len(seconds) == 3 and all(s > 0 for s in seconds) and marker.read_text() == "xxx"


def test_each_bikes_ab_clip_holds_the_frames_and_size_its_description_names():
    from tools.ab import _BIKES_FRAMES, CLIPS, load_clip

    for name, (first, end) in _BIKES_FRAMES.items():
        clip = load_clip(name)
        size = (144, 176) if "176x144" in CLIPS[name] else (272, 640)
        assert f"frames {first}-{end - 1}" in CLIPS[name]
        assert clip.shape == (end - first, *size, 3) and clip.dtype == np.uint8, name


def test_decode_bench_times_a_baseline_revision_and_the_working_tree_in_turns(tiny_encoded, capsys):
    path, _ = tiny_encoded
    assert decode_bench.main([str(path), "--runs", "1", "--threads", "1", "--baseline-rev", "HEAD"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["code"] for row in rows] == ["HEAD", "working tree"]
    assert all(row["runs"] == 1 and row["decode_fps_median"] > 0 and row["peak_rss_mib_max"] > 0 for row in rows)
