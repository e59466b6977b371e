"""Golden files: committed .nvc files must keep decoding to the same symbols and frames.

tests/golden/ holds two tiny files made by tools/make_golden.py (regenerate them only when the
format version changes on purpose) and golden.json with what they decode to.  The entropy
decoder works on integers only, so every group's symbols must match their stored sha256 exactly,
on every machine.  The frames come out of float32 convolutions whose rounding may differ between
CPUs (instruction sets, thread counts, oneDNN kernels): they must match the stored sha256, or else
differ from the stored frames (<name>.frames.npy) by at most 1 per 8-bit sample (max abs
difference <= 1), which is the documented tolerance.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import nvc
from nvc.codec.decoder import Decoder
from nvc.codec.tensor_coding import RESIDUAL
from tools.make_golden import frames_sha256, steps_sha256, symbols_sha256

from ..bitstream_tools import chunk_list, parse_group

FOLDER = Path(__file__).parents[1] / "golden"
DOC = json.loads((FOLDER / "golden.json").read_text())
NAMES = sorted(DOC["files"])
FRAME_TOLERANCE = 1
"""Largest allowed |decoded - stored| per uint8 sample when the frame hash differs (CPU rounding)."""


def test_the_golden_set_is_complete():
    """The committed files are format version 1's: this reader must keep decoding them."""
    assert DOC["format_version"] == 1 <= nvc.FORMAT_VERSION
    assert NAMES == ["inter16x8.nvc", "key8x8.nvc"]


@pytest.mark.parametrize("name", NAMES)
def test_golden_file_is_the_committed_one(name):
    entry = DOC["files"][name]
    data = (FOLDER / name).read_bytes()
    assert len(data) == entry["bytes"] and hashlib.sha256(data).hexdigest() == entry["file_sha256"]


@pytest.mark.parametrize("name", NAMES)
def test_golden_symbols_are_bit_exact(name):
    entry = DOC["files"][name]
    with Decoder(FOLDER / name) as decoder:
        assert len(decoder.bitstream.groups) == len(entry["groups"])
        for group, stored in zip(decoder.bitstream.groups, entry["groups"]):
            symbols = decoder.group_symbols(group)
            assert (group.index, group.key) == (stored["index"], stored["key"])
            assert symbols_sha256(symbols) == stored["symbols_sha256"], f"group {group.index}"
            assert steps_sha256(symbols) == stored["steps_sha256"], f"group {group.index}"


def test_the_inter_file_really_codes_residuals():
    data = (FOLDER / "inter16x8.nvc").read_bytes()
    modes = [[t.mode for t in parse_group(payload).tensors] for kind, payload in chunk_list(data) if kind == b"GRUP"]
    assert set(modes[0]) == {0} and all(RESIDUAL in m for m in modes[1:])


@pytest.mark.parametrize("name", NAMES)
def test_golden_frames(name):
    """Frames equal the stored hash, or lie within FRAME_TOLERANCE (= 1) of the stored frames."""
    entry = DOC["files"][name]
    frames = np.stack(list(nvc.decode(FOLDER / name)))
    assert list(frames.shape) == entry["frames_shape"] and frames.dtype == np.uint8
    if frames_sha256(frames) == entry["frames_sha256"]:
        return
    stored = np.load(FOLDER / entry["frames_npy"], allow_pickle=False)
    assert frames_sha256(stored) == entry["frames_sha256"]
    difference = np.abs(frames.astype(np.int16) - stored.astype(np.int16)).max()
    assert difference <= FRAME_TOLERANCE, f"frames differ by up to {difference}"


@pytest.mark.parametrize("name", NAMES)
def test_random_access_decodes_the_same_frames(name):
    entry = DOC["files"][name]
    stored = np.load(FOLDER / entry["frames_npy"], allow_pickle=False)
    with nvc.open(FOLDER / name) as video:
        for index in reversed(range(len(video))):
            assert np.abs(video[index].astype(np.int16) - stored[index]).max() <= FRAME_TOLERANCE
