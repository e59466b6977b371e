#!/usr/bin/env bash
# One prepared GPU check of nvc's CUDA extension, for the device machine (H100 / H200).
#
#   bash tools/gpu_check.sh            # from the repository root; writes $OUT (default ./gpu_out)
#
# Steps: nvidia-smi and versions -> build the extension (default architecture list, timed) ->
# the needs_cuda tests -> tools/gpu_bench.py (decode frames/s at 1280x720 and 1920x1080 by path,
# half-precision PSNR loss on a clip fitted on the GPU, fitting iterations/s).  Results:
# $OUT/gpu_check.json, $OUT/gpu_check.md, $OUT/gpu_check.log, $OUT/pytest.xml.  Exit status 1 when
# the build, a test or a correctness check fails.  About 3-5 minutes on an H100 (each step has a
# timeout; all together at most 9.5 minutes): run it with the device tool's timeout_s=600.
#
# Works with no network and without installing nvc: wheels in .whl/ (if any) go to /tmp/site;
# PyAV, which nvc imports but this check never uses, is stubbed when missing; and when nvc is not
# installed, nvc/ gets temporary links to the package folders (removed at exit).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
OUT=${OUT:-$REPO/gpu_out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
status=0
step() { echo; echo "=== $* ($(date +%T))"; }

step "machine"
nvidia-smi || echo "nvidia-smi failed"
uname -a
$PY -c "import sys, torch; print('python', sys.version.split()[0], '| torch', torch.__version__, '| cuda', torch.version.cuda,
  '| cudnn', torch.backends.cudnn.version(), '| gpu', torch.cuda.is_available() and torch.cuda.get_device_name())"
(command -v nvcc && nvcc --version | tail -2) || echo "nvcc not on PATH"
command -v ninja >/dev/null || $PY -c "import ninja" 2>/dev/null || echo "WARNING: ninja missing"

step "python path"
if compgen -G ".whl/*.whl" >/dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH} || { echo "wheel install failed"; status=1; }
fi
if ! $PY -c "import av" 2>/dev/null; then
    echo "PyAV missing: stubbing it (nvc imports it; this check reads no video)"
    STUB=/tmp/nvc_stubs/av
    mkdir -p "$STUB/video"
    cat > "$STUB/__init__.py" <<'EOF'
"""Stand-in for PyAV on a machine without it: importable, but any use raises ImportError."""


class _Missing:
    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        return _Missing(f"{self._name}.{attr}")

    def __call__(self, *args, **kwargs):
        raise ImportError(f"{self._name}: PyAV is not installed (stub)")


class FFmpegError(Exception):
    pass


def __getattr__(name):
    return _Missing(f"av.{name}")
EOF
    printf 'from av import _Missing\n\n\ndef __getattr__(name):\n    return _Missing(f"%s.{name}")\n' av.video > "$STUB/video/__init__.py"
    printf 'from av import _Missing\n\n\ndef __getattr__(name):\n    return _Missing(f"%s.{name}")\n' av.video.reformatter > "$STUB/video/reformatter.py"
    export PYTHONPATH=/tmp/nvc_stubs${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}
LINKS=()
if ! (cd /tmp && $PY -c "import nvc.codec.render" 2>/dev/null); then
    echo "nvc not installed: linking its package folders into nvc/ for this run"
    for pkg in codec models entropy cuda_ext datasets; do
        if [ ! -e "nvc/$pkg" ]; then ln -s "../$pkg" "nvc/$pkg" && LINKS+=("nvc/$pkg"); fi
    done
fi
cleanup() { for l in "${LINKS[@]}"; do rm -f "$l"; done; }
trap cleanup EXIT
$PY -c "import nvc, nvc.cuda_ext; print('nvc from', nvc.__file__)" || { echo "FAIL: cannot import nvc"; exit 1; }

step "build the extension"
BUILD_JSON=/tmp/nvc_build.json
timeout 150 $PY - "$BUILD_JSON" <<'EOF'
import json, sys, time
from nvc import cuda_ext
doc = {"archs": cuda_ext.arch_list(), "build_dir": str(cuda_ext.build_dir())}
start = time.perf_counter()
try:
    cuda_ext.load()
    doc["build_ok"] = True
except Exception as exc:
    doc["build_ok"], doc["build_error"] = False, str(exc)
doc["build_seconds"] = round(time.perf_counter() - start, 1)
doc["path"] = cuda_ext.describe()
print(json.dumps(doc, indent=1))
json.dump(doc, open(sys.argv[1], "w"))
sys.exit(0 if doc["build_ok"] and cuda_ext.available() else 1)
EOF
[ $? -eq 0 ] || { echo "FAIL: the extension did not build or load"; status=1; }

step "needs_cuda tests"
timeout 150 $PY -m pytest -q -m needs_cuda tests/cuda_ext/test_cuda_ext.py -p no:cacheprovider --junitxml="$OUT/pytest.xml" -rfE
PYTEST_RC=$?
[ $PYTEST_RC -eq 0 ] || { echo "FAIL: needs_cuda tests (exit $PYTEST_RC)"; status=1; }

step "benchmark"
CONTEXT=/tmp/nvc_context.json
$PY - "$BUILD_JSON" "$OUT/pytest.xml" "$PYTEST_RC" "$CONTEXT" <<'EOF'
import json, sys, xml.etree.ElementTree as ET
build_json, junit, rc, out = sys.argv[1:5]
doc = {}
try:
    doc.update(json.load(open(build_json)))
except Exception as exc:
    doc["build_error"] = f"no build record: {exc}"
try:
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    t = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    doc["needs_cuda_tests"] = f"{t['tests'] - t['failures'] - t['errors'] - t['skipped']} passed, {t['failures'] + t['errors']} failed, {t['skipped']} skipped"
    doc["failed_tests"] = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None or c.find("error") is not None]
except Exception as exc:
    doc["needs_cuda_tests"] = f"no junit report: {exc}"
doc["pytest_exit"] = int(rc)
json.dump(doc, open(out, "w"), indent=1)
EOF
# GPU_BENCH_ARGS: extra arguments (e.g. "--device cpu --quick" to rehearse this script without a GPU).
timeout 240 $PY -m tools.gpu_bench --out "$OUT" --name gpu_check --context "$CONTEXT" ${GPU_BENCH_ARGS:-}
BENCH_RC=$?
[ $BENCH_RC -eq 0 ] || { echo "FAIL: gpu_bench (exit $BENCH_RC)"; status=1; }

step "done: $([ $status -eq 0 ] && echo ALL OK || echo FAILED)"
[ -f "$OUT/gpu_check.md" ] && cat "$OUT/gpu_check.md"
exit $status
