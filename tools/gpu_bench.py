"""GPU decode / fit benchmark of nvc's CUDA extension: frames/s by path, half-precision quality, fit speed.

    python -m tools.gpu_bench --out gpu_out                 # on a GPU machine (tools/gpu_check.sh runs it)
    python -m tools.gpu_bench --device cpu --quick          # smoke test anywhere (tiny sizes)

Decode is measured through the decoder's own entry, ``nvc.codec.render.render_frames`` (network
built from symbols, weights loaded, frames back as numpy uint8), for each path (see PATHS):

    pytorch_fp32          the extension switched off: the per-tile PyTorch loop (the old decoder)
    pytorch_batched_fp32  all tiles of a batch of frames at once, ops by their PyTorch forms
    ext_fp32/fp16/bf16    the batched renderer with the fused kernels, in that dtype
    ...@N, ...+cudnn      N frames per batch; cudnn.benchmark on (the decoder leaves it off)

The network is HNeRV's (the architecture with fused kernels; the others render through the
PyTorch fallback, which pytorch_fp32 measures).  Weights are the default initialisation quantized
to 8 bits (what a decoder loads), so speed does not depend on fitting.  Each figure is the median
of several timed runs after a warm-up, with torch.cuda.synchronize around each.  Then a synthetic
clip is fitted on the device for a few hundred iterations (fit_group; its iterations/s is the
fitting throughput) and decoded in each dtype: the PSNR lost by half precision.  Correctness
checks (exit status 1 when one fails): the fused fp32 frames equal the PyTorch frames up to rare
one-level rounding differences, on random and fitted weights.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from nvc import cuda_ext
from nvc.codec.config import CodecConfig
from nvc.codec.rate import Tuning, model_for_video, rate_lambda
from nvc.codec.render import build_network, render_frames
from nvc.cuda_ext import build as ext_build
from nvc.datasets import synthetic_clip
from nvc.datasets.limits import parse_size
from nvc.models import FitSettings, QuantizedTensor, fit_group, hnerv_fused, load_symbols, psnr_from_mse

FUSED_ARCH = "hnerv"
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
PATHS = ("pytorch_fp32", "pytorch_fp16", "pytorch_batched_fp32", "ext_fp32", "ext_fp16", "ext_bf16",
         "ext_fp16@1", "ext_fp16@8", "ext_fp32+cudnn", "ext_fp16+cudnn")
"""Decode paths: IMPL_DTYPE[@BATCH][+cudnn].  IMPL: pytorch (the extension off: the per-tile loop),
pytorch_batched (the batched renderer, ops in their PyTorch forms), ext (batched + fused kernels);
@BATCH: frames per render batch (default: by pixel budget); +cudnn: torch.backends.cudnn.benchmark on
(off otherwise, as in the decoder)."""


def fused_config(height: int, width: int, tile: int) -> CodecConfig:
    """The codec's quality-28 network of the architecture with fused kernels (HNeRV)."""
    return CodecConfig(model=model_for_video(28, height, width, Tuning(arch=FUSED_ARCH)), tile=tile)


def parse_path(path: str) -> tuple[str, torch.dtype, int | None, bool]:
    name, cudnn = (path[: -len("+cudnn")], True) if path.endswith("+cudnn") else (path, False)
    name, _, batch = name.partition("@")
    impl, _, dtype = name.rpartition("_")
    if impl not in ("pytorch", "pytorch_batched", "ext") or dtype not in DTYPES:
        raise ValueError(f"bad decode path {path!r}")
    return impl, DTYPES[dtype], int(batch) if batch else None, cudnn


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def extension(on: bool):
    old = ext_build.set_enabled(on)
    try:
        yield
    finally:
        ext_build.set_enabled(old)


@contextlib.contextmanager
def cudnn_benchmark(on: bool):
    old = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = on
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = old


def decoder_symbols(config: CodecConfig, height: int, width: int, frames: int, seed: int = 0) -> dict:
    """The default initialisation, quantized to 8 bits per tensor: what a decoder would load."""
    torch.manual_seed(seed)
    network = build_network(config, height, width, frames)
    symbols = {}
    for name, p in network.named_parameters():
        step = float(torch.tensor(float(p.detach().abs().max().clamp(min=1e-4)) / 127, dtype=torch.float32))
        symbols[name] = QuantizedTensor(torch.round(p.detach() / step).to(torch.int64), step)
    return symbols


def decode(config, height, width, symbols, frames, device, path: str):
    """One decode of ``frames`` frames by ``path`` (see PATHS); returns the frames (numpy uint8)."""
    impl, dtype, batch, cudnn = parse_path(path)
    half = None if dtype == torch.float32 else dtype
    with cudnn_benchmark(cudnn), extension(impl == "ext"):
        if impl == "pytorch_batched":  # the decoder's network, rendered by the batched renderer
            network = build_network(config, height, width, frames)
            load_symbols(network, symbols)
            network.eval().to(device)
            if half is not None:
                network.to(half)
            return list(hnerv_fused.render_uint8(network, range(frames), config.tile, batch))
        return list(render_frames(config, height, width, symbols, frames, device=device, dtype=half, batch=batch))


def timed(fn, device: torch.device, repeats: int) -> tuple[list[float], object]:
    result = fn()  # warm-up: cuDNN autotuning, the extension's first load
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        result = fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return times, result


def compare(a: list[np.ndarray], b: list[np.ndarray]) -> dict:
    x = np.stack(a).astype(np.int16)
    y = np.stack(b).astype(np.int16)
    diff = np.abs(x - y)
    mse = float(np.mean((x.astype(np.float64) - y) ** 2)) / 255**2
    return {"max_diff": int(diff.max()), "fraction_differing": float(np.mean(diff > 0)),
            "psnr_between_db": psnr_from_mse(mse)}


def close_enough(cmp: dict) -> bool:
    return cmp["max_diff"] <= 1 and cmp["fraction_differing"] <= 1e-3


def psnr_vs(frames: list[np.ndarray], clip: np.ndarray) -> float:
    x = np.stack(frames).astype(np.float64)
    mse = float(np.mean((x - clip.astype(np.float64)) ** 2)) / 255**2
    return psnr_from_mse(mse)


def bench_decode(args, sizes, device, log) -> tuple[list[dict], list[dict]]:
    rows, checks = [], []
    for height, width in sizes:
        config = fused_config(height, width, args.tile)
        model = config.model
        symbols = decoder_symbols(config, height, width, args.frames)
        params = sum(int(np.prod(s.symbols.shape)) for n, s in symbols.items() if n != "embeddings")
        reference = None
        for path in args.paths:
            if "bf16" in path and device.type == "cuda" and not torch.cuda.is_bf16_supported():
                continue
            try:
                times, frames = timed(partial(decode, config, height, width, symbols, args.frames, device, path),
                                      device, args.repeats)
            except Exception as exc:  # noqa: BLE001 - a path that fails is reported, and fails the run
                log(f"  {width}x{height} {path}: FAILED {type(exc).__name__}: {exc}")
                checks.append({"check": f"{width}x{height} {path} runs", "ok": False, "error": str(exc)[:300]})
                continue
            median = statistics.median(times)
            impl, _, batch, cudnn = parse_path(path)
            row = {"size": f"{width}x{height}", "path": path, "frames": args.frames,
                   "batch": "per tile" if impl == "pytorch" else batch or "auto", "cudnn_benchmark": cudnn,
                   "median_s": median, "fps": args.frames / median, "runs_s": times, "parameters": params,
                   "strides": list(model.strides), "channels": list(model.channels)}
            if reference is None and path == "pytorch_fp32":
                reference = frames
            elif reference is not None:
                cmp = compare(frames, reference)
                row["vs_pytorch_fp32"] = cmp
                if path in ("ext_fp32", "pytorch_batched_fp32", "ext_fp32+cudnn"):
                    checks.append({"check": f"{width}x{height} {path} == pytorch_fp32 (random weights)",
                                   "ok": close_enough(cmp), **cmp})
            rows.append(row)
            versus = row.get("vs_pytorch_fp32")
            log(f"  {width}x{height} {path:20s} {row['fps']:8.1f} frames/s  "
                f"(median of {args.repeats}: {median * 1e3:.1f} ms for {args.frames} frames)"
                + (f"  vs fp32: max {versus['max_diff']}, {versus['psnr_between_db']:.1f} dB" if versus else ""))
    return rows, checks


def bench_fit(args, device, log) -> tuple[dict, list[dict]]:
    height, width = args.fit_size
    clip = synthetic_clip(width, height, args.fit_frames, seed=1)
    frames = torch.from_numpy(clip).permute(0, 3, 1, 2).float().div(255).to(device)
    config = fused_config(height, width, args.tile)
    torch.manual_seed(0)
    network = build_network(config, height, width, args.fit_frames).to(device)
    settings = FitSettings(iterations=args.fit_iterations, batch_frames=2, rate_lambda=rate_lambda(28),
                           eval_every=args.fit_iterations)
    sync(device)
    result = fit_group(network, frames, settings)
    sync(device)
    fit = {"size": f"{width}x{height}", "frames": args.fit_frames, "batch_frames": 2, "iterations": result.iterations,
           "seconds": result.seconds, "iterations_per_s": result.iterations / result.seconds,
           "fit_psnr_db": result.psnr}
    log(f"  fit {width}x{height}, batch 2: {fit['iterations_per_s']:.1f} it/s ({result.iterations} iterations in"
        f" {result.seconds:.1f} s, {result.psnr:.2f} dB)")
    decoded, checks = {}, []
    with extension(False):
        decoded["pytorch_fp32"] = list(render_frames(config, height, width, result.symbols, args.fit_frames,
                                                     device=device))
    for name, dtype in DTYPES.items():
        if name == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            continue
        decoded[f"ext_{name}"] = list(render_frames(config, height, width, result.symbols, args.fit_frames,
                                                    device=device, dtype=None if name == "fp32" else dtype))
    quality = {path: psnr_vs(frames_, clip) for path, frames_ in decoded.items()}
    base = quality["ext_fp32"]
    fit["decoded_psnr_db"] = quality
    fit["psnr_loss_db"] = {path: base - q for path, q in quality.items()}
    fit["vs_ext_fp32"] = {path: compare(f, decoded["ext_fp32"]) for path, f in decoded.items() if path != "ext_fp32"}
    cmp = compare(decoded["ext_fp32"], decoded["pytorch_fp32"])
    checks.append({"check": f"{width}x{height} ext_fp32 == pytorch_fp32 (fitted weights)", "ok": close_enough(cmp),
                   **cmp})
    for path, loss in fit["psnr_loss_db"].items():
        log(f"  decode {path:14s} {quality[path]:.3f} dB  (loss vs ext_fp32 {loss:+.4f} dB)")
    return fit, checks


def environment(device: torch.device) -> dict:
    env = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
           "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
           "device": str(device), "cudnn_benchmark": torch.backends.cudnn.benchmark,
           "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32, "cuda_ext": cuda_ext.describe(),
           "cuda_ext_archs": cuda_ext.arch_list()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(gpu=props.name, capability=f"{props.major}.{props.minor}", sms=props.multi_processor_count,
                   memory_gib=round(props.total_memory / 2**30, 1))
    return env


def markdown(doc: dict) -> str:
    env = doc["environment"]
    lines = ["# nvc GPU check", "",
             f"- device: {env.get('gpu', env['device'])} (capability {env.get('capability', '-')})",
             f"- torch {env['torch']}, CUDA {env['cuda']}, cuDNN {env['cudnn']}, Python {env['python']}",
             f"- path: {env['cuda_ext']}",
             f"- cuDNN benchmark {env['cudnn_benchmark']}, TF32 {env['cudnn_allow_tf32']}"]
    for key, value in doc.get("context", {}).items():
        if isinstance(value, (str, int, float)):
            lines.append(f"- {key}: {value}")
    lines += ["", "## Decode frames/s (render_frames: symbols -> numpy uint8, median)", "",
              "Paths: IMPL_DTYPE[@frames per batch][+cudnn benchmark]; pytorch = the per-tile loop with the "
              "extension off, pytorch_batched = batched renderer with PyTorch ops, ext = batched renderer with fused "
              "kernels.", "",
              "| size | path | batch | frames/s | ms/frame | speed-up | max diff vs PyTorch fp32 "
              "| PSNR vs PyTorch fp32 |",
              "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    base = {r["size"]: r["fps"] for r in doc["decode"] if r["path"] == "pytorch_fp32"}
    for r in doc["decode"]:
        cmp = r.get("vs_pytorch_fp32")
        speed = f"{r['fps'] / base[r['size']]:.2f}x" if r["size"] in base else "-"
        max_diff = cmp["max_diff"] if cmp else "-"
        between = f"{cmp['psnr_between_db']:.1f} dB" if cmp else "-"
        lines.append(f"| {r['size']} | {r['path']} | {r['batch']} | {r['fps']:.1f} | {1e3 / r['fps']:.2f} | {speed} | "
                     f"{max_diff} | {between} |")
    if doc.get("targets"):
        lines += ["", "Targets: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in doc["targets"].items())]
    fit = doc.get("fit")
    if fit:
        lines += ["", f"## Fitting ({fit['size']}, {fit['frames']} frames, batch 2)", "",
                  f"- {fit['iterations_per_s']:.2f} iterations/s ({fit['iterations']} iterations, "
                  f"{fit['seconds']:.1f} s), fit PSNR {fit['fit_psnr_db']:.2f} dB", "",
                  "| decode path | PSNR vs clip | loss vs ext_fp32 |",
                  "| --- | ---: | ---: |"]
        for path, q in fit["decoded_psnr_db"].items():
            lines.append(f"| {path} | {q:.3f} dB | {fit['psnr_loss_db'][path]:+.4f} dB |")
    lines += ["", "## Checks", ""]
    for c in doc["checks"]:
        differing = f" (max diff {c['max_diff']}, {c['fraction_differing']:.1e} differing)" if "max_diff" in c else ""
        lines.append(f"- {'PASS' if c['ok'] else 'FAIL'}: {c['check']}" + differing
                     + (f" {c['error']}" if "error" in c else ""))
    return "\n".join(lines) + "\n"


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """'640x272,1920x1080' -> [(272, 640), (1080, 1920)]: (height, width) pairs."""
    return [(h, w) for w, h in map(parse_size, text.split(","))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and counts (smoke test)")
    parser.add_argument("--out", default=os.environ.get("OUT", "gpu_out"), help="folder for the JSON and Markdown")
    parser.add_argument("--name", default="gpu_bench", help="file stem of the JSON / Markdown written")
    parser.add_argument("--sizes", default="1280x720,1920x1080", help="WxH list")
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--frames", type=int, default=8, help="frames per timed decode")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fit-size", default="1280x720")
    parser.add_argument("--fit-frames", type=int, default=4)
    parser.add_argument("--fit-iterations", type=int, default=300)
    parser.add_argument("--no-fit", action="store_true")
    parser.add_argument("--context", help="JSON file of extra facts (build time, test results) to include")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.frames, args.repeats, args.tile = "160x90,128x72", 2, 2, 64
        args.paths = "pytorch_fp32,pytorch_batched_fp32,ext_fp32,ext_bf16,ext_fp32@1+cudnn"
        args.fit_size, args.fit_frames, args.fit_iterations = "96x64", 2, 8
    args.sizes = parse_sizes(args.sizes)
    args.fit_size = parse_sizes(args.fit_size)[0]
    args.paths = [p for p in args.paths.split(",") if p]
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_bench: no CUDA GPU here (use --device cpu --quick for a smoke test)", file=sys.stderr)
        return 2
    device = torch.device(args.device)

    def log(message: str) -> None:
        print(message, flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"environment": environment(device), "settings": {k: v for k, v in vars(args).items() if k != "context"}}
    if args.context and Path(args.context).exists():
        doc["context"] = json.loads(Path(args.context).read_text())
    log(f"gpu_bench on {doc['environment'].get('gpu', args.device)}: {doc['environment']['cuda_ext']}")
    start = time.perf_counter()

    def save() -> bool:
        """Write what is known so far (a run cut short by a timeout still leaves its results)."""
        doc["seconds"] = time.perf_counter() - start
        doc["ok"] = all(c["ok"] for c in doc["checks"])
        (out / f"{args.name}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
        (out / f"{args.name}.md").write_text(markdown(doc))
        return doc["ok"]

    doc["decode"], doc["checks"] = [], []
    if device.type == "cuda" and not cuda_ext.available():
        doc["checks"].append({"check": "the CUDA extension loads on this GPU", "ok": False,
                              "error": cuda_ext.describe()})
    for size in args.sizes:
        rows, checks = bench_decode(args, [size], device, log)
        doc["decode"] += rows
        doc["checks"] += checks
        save()
    if not args.no_fit:
        doc["fit"], fit_checks = bench_fit(args, device, log)
        doc["checks"] += fit_checks
        loss = doc["fit"]["psnr_loss_db"]
        doc["targets"] = {f"{p} PSNR loss < 0.05 dB": abs(loss[p]) < 0.05
                          for p in ("ext_fp16", "ext_bf16") if p in loss}
    ok = save()
    log(f"gpu_bench: {'all checks passed' if ok else 'CHECK FAILED'} in {doc['seconds']:.0f} s;"
        f" wrote {out / (args.name + '.json')} and .md")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
