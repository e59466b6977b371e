"""Golden files: committed .nvc files must keep decoding to the same symbols and frames.

tests/golden/v1/ holds two tiny files of format version 1, tests/golden/v2/ the same two of
format version 2 (kind-1 tables in most tensors) plus one with the hnerv-grid architecture, and
tests/golden/v3/ the three again as version 3 writes them (table kind 2 pays only on larger
networks than these; tests/entropy/test_sliced.py pins its rules), each set
made by tools/make_golden.py (a new set only when the format version changes on purpose, a new file
with --add) with golden.json: what they decode to.  The entropy
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
import torch

import nvc
from nvc.codec.decoder import Decoder
from nvc.codec.tensor_coding import RESIDUAL
from tools.make_golden import frames_sha256, golden_names, steps_sha256, symbols_sha256

from ..bitstream_tools import chunk_list, parse_group

ROOT = Path(__file__).parents[1] / "golden"
SETS = {1: ROOT / "v1", 2: ROOT / "v2", 3: ROOT / "v3"}
"""Format version -> the folder of its golden set."""
DOCS = {version: json.loads((folder / "golden.json").read_text()) for version, folder in SETS.items()}
FILES = [pytest.param(version, name, id=f"v{version}-{name}")
         for version in SETS for name in sorted(DOCS[version]["files"])]
FRAME_TOLERANCE = 1
"""Largest allowed |decoded - stored| per uint8 sample when the frame hash differs (CPU rounding)."""


def test_every_format_version_has_a_complete_golden_set():
    """This reader must keep decoding every version's files: one set per version up to its own."""
    assert sorted(SETS) == list(range(1, nvc.FORMAT_VERSION + 1))
    for version, doc in DOCS.items():
        assert doc["format_version"] == version
        assert sorted(doc["files"]) == golden_names(version)


@pytest.mark.parametrize("version,name", FILES)
def test_golden_file_is_the_committed_one(version, name):
    entry, folder = DOCS[version]["files"][name], SETS[version]
    data = (folder / name).read_bytes()
    assert len(data) == entry["bytes"] and hashlib.sha256(data).hexdigest() == entry["file_sha256"]


@pytest.mark.parametrize("version,name", FILES)
def test_golden_symbols_are_bit_exact(version, name):
    entry, folder = DOCS[version]["files"][name], SETS[version]
    with Decoder(folder / name) as decoder:
        assert len(decoder.bitstream.groups) == len(entry["groups"])
        for group, stored in zip(decoder.bitstream.groups, entry["groups"]):
            symbols = decoder.group_symbols(group)
            assert (group.index, group.key) == (stored["index"], stored["key"])
            assert symbols_sha256(symbols) == stored["symbols_sha256"], f"group {group.index}"
            assert steps_sha256(symbols) == stored["steps_sha256"], f"group {group.index}"


@pytest.mark.parametrize("version", SETS)
def test_the_inter_file_really_codes_residuals(version):
    data = (SETS[version] / "inter16x8.nvc").read_bytes()
    modes = [[t.mode & 15 for t in parse_group(payload).tensors] for kind, payload in chunk_list(data)
             if kind == b"GRUP"]
    assert set(modes[0]) == {0} and any(RESIDUAL in m for m in modes[1:])


def test_the_version_2_set_holds_both_table_kinds():
    data = (SETS[2] / "inter16x8.nvc").read_bytes()
    kinds = {t.mode >> 4 for kind, payload in chunk_list(data) if kind == b"GRUP" for t in parse_group(payload).tensors}
    assert kinds == {0, 1}


@pytest.mark.parametrize("version,name", FILES)
def test_golden_frames(version, name):
    """Frames equal the stored hash, or lie within FRAME_TOLERANCE (= 1) of the stored frames."""
    entry, folder = DOCS[version]["files"][name], SETS[version]
    frames = np.stack(list(nvc.decode(folder / name)))
    assert list(frames.shape) == entry["frames_shape"] and frames.dtype == np.uint8
    if frames_sha256(frames) == entry["frames_sha256"]:
        return
    stored = np.load(folder / entry["frames_npy"], allow_pickle=False)
    assert frames_sha256(stored) == entry["frames_sha256"]
    difference = np.abs(frames.astype(np.int16) - stored.astype(np.int16)).max()
    assert difference <= FRAME_TOLERANCE, f"frames differ by up to {difference}"


@pytest.mark.parametrize("version,name", FILES)
def test_random_access_decodes_the_same_frames(version, name):
    entry, folder = DOCS[version]["files"][name], SETS[version]
    stored = np.load(folder / entry["frames_npy"], allow_pickle=False)
    with nvc.open(folder / name) as video:
        for index in reversed(range(len(video))):
            assert np.abs(video[index].astype(np.int16) - stored[index]).max() <= FRAME_TOLERANCE


def test_add_keeps_the_committed_files_and_refuses_an_older_set(tmp_path):
    """make_golden --add encodes only what a set lacks, and never a current-version file into an old set."""
    import shutil

    from tools import make_golden

    version = nvc.FORMAT_VERSION
    old, current = tmp_path / "old", tmp_path / "current"
    shutil.copytree(SETS[version - 1], old)
    with pytest.raises(SystemExit):
        make_golden.main(["--add", "--out", str(old)])
    assert sorted(p.name for p in old.iterdir()) == sorted(p.name for p in SETS[version - 1].iterdir())
    shutil.copytree(SETS[version], current)
    threads = torch.get_num_threads()
    try:
        assert make_golden.main(["--add", "--out", str(current)]) == 0  # sets one thread, as the files were made
    finally:
        torch.set_num_threads(threads)
    for path in SETS[version].iterdir():
        assert (current / path.name).read_bytes() == path.read_bytes(), path.name
