"""Build, load and pick the CUDA extension: JIT through ``torch.utils.cpp_extension.load``.

Nothing here runs at import.  The extension is compiled on first use (about a minute for one
architecture, a little more for the default list), into a cache folder keyed by the Python, torch
and CUDA versions and the architecture list, so a torch upgrade never loads a stale binary; the
source and flag hash that ``cpp_extension`` keeps inside that folder rebuilds it when the sources
change.  The build never asks the GPU anything: the architectures are named explicitly.

Environment:
    NVC_CUDA_EXT=0        never use the extension (the PyTorch composition serves every op).
    NVC_CUDA_ARCH         architecture list, e.g. "9.0" (default: DEFAULT_ARCH).
    NVC_CUDA_EXT_DIR      cache folder (default: $TORCH_EXTENSIONS_DIR/nvc or ~/.cache/nvc/cuda_ext).
    MAX_JOBS              parallel compile jobs (read by cpp_extension's ninja build).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import threading
import time
import warnings
from pathlib import Path
from types import ModuleType

import torch

__all__ = ["DEFAULT_ARCH", "ExtensionBuildError", "arch_list", "available", "build_dir", "describe", "extension",
           "load", "set_enabled", "enabled"]

EXTENSION_NAME = "nvc_cuda_ext"
DEFAULT_ARCH = "7.5;8.0;9.0+PTX"
"""Turing (T4), Ampere (A100; its sm_80 code also runs on 8.6/8.7/8.9), Hopper (H100/H200) and PTX
for newer chips (Blackwell JIT-compiles it).  nvcc 13 dropped everything below 7.5."""

SOURCES = ("bindings.cpp", "kernels.cu")
CSRC = Path(__file__).resolve().parent / "csrc"
_ARCH_RE = re.compile(r"^(\d+)\.(\d+)([a-z]?)(\+PTX)?$")


class ExtensionBuildError(RuntimeError):
    """The extension could not be compiled or imported; the message is one line."""


_lock = threading.Lock()
_module: ModuleType | None = None
_error: str | None = None
_tried = False
_enabled = os.environ.get("NVC_CUDA_EXT", "").strip().lower() not in ("0", "off", "false", "no")
_build_seconds: float | None = None


def arch_list() -> str:
    """The architecture list the extension is built for (NVC_CUDA_ARCH or DEFAULT_ARCH)."""
    return os.environ.get("NVC_CUDA_ARCH", "").strip() or DEFAULT_ARCH


def _gencode_flags(archs: str) -> list[str]:
    flags = []
    for item in filter(None, (a.strip() for a in archs.replace(",", ";").split(";"))):
        m = _ARCH_RE.match(item)
        if m is None:
            raise ExtensionBuildError(f"nvc.cuda_ext: bad architecture {item!r} in {archs!r} "
                                      "(want e.g. '9.0' or '9.0+PTX')")
        cc = f"{m.group(1)}{m.group(2)}{m.group(3)}"
        flags.append(f"-gencode=arch=compute_{cc},code=sm_{cc}")
        if m.group(4):
            flags.append(f"-gencode=arch=compute_{cc},code=compute_{cc}")
    if not flags:
        raise ExtensionBuildError(f"nvc.cuda_ext: empty architecture list {archs!r}")
    return flags


def _cuda_home() -> str | None:
    """The CUDA toolkit root: CUDA_HOME / CUDA_PATH, /usr/local/cuda, or the folder above nvcc.

    torch's own guess takes the folder above the first ``nvcc`` on PATH, which is wrong when that
    is a wrapper script (``/usr/local/bin/nvcc`` on this project's machines).
    """
    for var in ("CUDA_HOME", "CUDA_PATH"):
        home = os.environ.get(var)
        if home and Path(home, "bin", "nvcc").exists():
            return home
    if Path("/usr/local/cuda/bin/nvcc").exists():
        return "/usr/local/cuda"
    nvcc = shutil.which("nvcc")
    if nvcc:
        root = Path(nvcc).resolve().parent.parent
        if (root / "include" / "cuda_runtime.h").exists():
            return str(root)
    return None


def build_dir(archs: str | None = None) -> Path:
    """The cache folder of this Python / torch / CUDA / architecture combination."""
    base = os.environ.get("NVC_CUDA_EXT_DIR")
    if base is None:
        ext_root = os.environ.get("TORCH_EXTENSIONS_DIR")
        base = str(Path(ext_root) / "nvc") if ext_root else str(Path.home() / ".cache" / "nvc" / "cuda_ext")
    archs = archs or arch_list()
    tag = "py{}{}-torch{}-cu{}-{}".format(sys.version_info[0], sys.version_info[1], torch.__version__,
                                          torch.version.cuda or "none", hashlib.sha1(archs.encode()).hexdigest()[:8])
    return Path(base) / re.sub(r"[^A-Za-z0-9._-]", "_", tag)


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    for line in text.splitlines():
        if re.search(r"\berror\b", line, re.IGNORECASE) and "Error building extension" not in line:
            return line.strip()[:240]
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:240]


def load(directory: str | Path | None = None, *, verbose: bool = False) -> ModuleType:
    """Compile (first time) and import the extension; raises ExtensionBuildError (one line) if it can't.

    Works without a GPU: the kernels only run on one, but the build needs only nvcc and ninja.
    ``directory`` builds somewhere else than the cache (tests use a fresh folder).
    """
    global _build_seconds
    if torch.version.cuda is None:
        raise ExtensionBuildError(f"nvc.cuda_ext: this torch ({torch.__version__}) is a CPU-only build")
    home = _cuda_home()
    if home is None:
        raise ExtensionBuildError("nvc.cuda_ext: no CUDA toolkit (nvcc) found; set CUDA_HOME")
    if shutil.which("ninja") is None:
        try:
            import ninja  # noqa: F401  (the pip package puts the binary on PATH only in its venv)
        except ImportError:
            raise ExtensionBuildError("nvc.cuda_ext: ninja is required to build the extension") from None
    archs = arch_list()
    flags = _gencode_flags(archs)
    folder = Path(directory) if directory is not None else build_dir(archs)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CUDA_HOME", home)
    saved_arch = os.environ.get("TORCH_CUDA_ARCH_LIST")
    os.environ["TORCH_CUDA_ARCH_LIST"] = archs.replace(",", ";")  # explicit: torch never queries the GPU
    start = time.perf_counter()
    try:
        from torch.utils import cpp_extension

        cpp_extension.CUDA_HOME = home  # in case torch guessed another root at its import
        module = cpp_extension.load(
            name=EXTENSION_NAME,
            sources=[str(CSRC / s) for s in SOURCES],
            extra_cflags=["-O3"],
            extra_cuda_cflags=["-O3", *flags],
            build_directory=str(folder),
            with_cuda=True,
            verbose=verbose,
        )
    except Exception as exc:  # compile errors, missing headers, import failures
        log = folder / "last_error.log"
        try:
            log.write_text(f"{type(exc).__name__}: {exc}\n")
        except OSError:
            pass
        raise ExtensionBuildError(
            f"nvc.cuda_ext: cannot build the CUDA extension: {_one_line(exc)} (log: {log})") from exc
    finally:
        if saved_arch is None:
            os.environ.pop("TORCH_CUDA_ARCH_LIST", None)
        else:
            os.environ["TORCH_CUDA_ARCH_LIST"] = saved_arch
    _build_seconds = time.perf_counter() - start
    return module


def _smoke_test(module: ModuleType) -> None:
    """Run one kernel on the GPU: catches a binary without code for this chip."""
    x = torch.arange(16, dtype=torch.float32, device="cuda").reshape(1, 4, 2, 2)
    y = module.shuffle_bias_act(x, None, 2, 0, None, 0, 0)
    torch.cuda.synchronize()
    if not torch.equal(y.cpu(), torch.nn.functional.pixel_shuffle(x.cpu(), 2)):
        raise ExtensionBuildError("nvc.cuda_ext: the extension loaded but computed a wrong result on this GPU")


def enabled() -> bool:
    """False when NVC_CUDA_EXT=0 (or set_enabled(False)) forces the PyTorch fallback."""
    return _enabled


def set_enabled(flag: bool) -> bool:
    """Switch the extension on or off for this process (benchmarks compare both); returns the old value."""
    global _enabled
    old, _enabled = _enabled, bool(flag)
    return old


def extension() -> ModuleType | None:
    """The loaded extension, or None (disabled, no GPU, or it failed: then one warning, once)."""
    global _module, _error, _tried
    if _module is not None:
        return _module if _enabled else None
    if not _enabled or _tried or not torch.cuda.is_available():
        return None
    with _lock:
        if not _tried:
            try:
                if not any(build_dir().glob(f"{EXTENSION_NAME}*.so")):
                    print("nvc.cuda_ext: compiling the CUDA extension (first use; about a minute)...",
                          file=sys.stderr, flush=True)
                module = load()
                _smoke_test(module)
                _module = module
            except Exception as exc:  # noqa: BLE001 - any failure means: fall back, say why once
                _error = _one_line(exc) if not isinstance(exc, ExtensionBuildError) else str(exc)
                if "cuda_ext" not in _error:
                    _error = f"nvc.cuda_ext: the CUDA extension cannot run here: {_error}"
                warnings.warn(f"{_error}; using the PyTorch fallback", RuntimeWarning, stacklevel=3)
            finally:
                _tried = True
    return _module if _enabled else None


def available() -> bool:
    """True when a GPU is present and the extension builds, loads and runs (builds on first call)."""
    return extension() is not None


def describe() -> str:
    """One line naming the path that serves the ops on CUDA (for ``-v``); may build the extension."""
    if not _enabled:
        return "PyTorch fallback: disabled by NVC_CUDA_EXT=0"
    if not torch.cuda.is_available():
        return "PyTorch fallback: no GPU"
    if extension() is None:
        return f"PyTorch fallback: {_error or 'extension unavailable'}"
    major, minor = torch.cuda.get_device_capability()
    how = f"built in {_build_seconds:.0f} s" if _build_seconds is not None and _build_seconds > 5 else "cached"
    return f"cuda_ext: fused kernels (sm_{major}{minor}, {torch.cuda.get_device_name()}; {how}, archs {arch_list()})"
