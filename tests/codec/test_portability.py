"""A file decodes the same whatever the machine: symbols bit-exact, frames within one level.

Different thread counts change the order of floating-point reductions in the convolutions, which
is what differs between machines too; the entropy-decoded symbols must not change at all, and
frames may differ by at most 1 in rare 8-bit samples.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

_PROBE = """
import hashlib, json, sys, torch, numpy as np, nvc
torch.set_num_threads(int(sys.argv[2]))
video = nvc.open(sys.argv[1])
decoder = video._decoder
symbols = hashlib.sha256()
for group in decoder.bitstream.groups:
    for coded in decoder.group_symbols(group).values():
        symbols.update(coded.symbols.numpy().astype('<i4').tobytes())
frames = np.stack(list(video.frames()))
np.save(sys.argv[3], frames, allow_pickle=False)
print(json.dumps({"symbols": symbols.hexdigest()}))
"""


def _decode_in_process(path, threads: int, out) -> dict:
    done = subprocess.run([sys.executable, "-c", _PROBE, str(path), str(threads), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_decoding_does_not_depend_on_thread_count(tiny_encoded, tmp_path):
    path, _ = tiny_encoded
    one = _decode_in_process(path, 1, tmp_path / "one.npy")
    two = _decode_in_process(path, 2, tmp_path / "two.npy")
    assert one["symbols"] == two["symbols"]
    a = np.load(tmp_path / "one.npy", allow_pickle=False).astype(np.int16)
    b = np.load(tmp_path / "two.npy", allow_pickle=False).astype(np.int16)
    assert np.abs(a - b).max() <= 1
