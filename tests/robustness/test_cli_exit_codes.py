"""Hostile files on the command line: exit code 4, one line on stderr, no output left behind.
"""

from __future__ import annotations

import json
import math
import struct

import pytest

import nvc
from nvc.codec.cli import main
from nvc.codec.container import SIGNATURE

from ..bitstream_tools import (
    edit_group,
    edit_head,
    splice,
)
from .hostile import (
    MULTI,
    PNG,
    SMALL,
    U64_MAX,
    newer_writer,
    replace_in_config,
    set_length,
)

# --- the command line -------------------------------------------------------------------------------------


def _cli_cases():
    edited_length, at = set_length(SMALL, 1, U64_MAX)
    return {
        "empty": (b"", "signature"),
        "seven bytes": (SIGNATURE[:7], "signature"),
        "png": (PNG, "signature"),
        "crlf": (SMALL.replace(b"\r\n", b"\n"), "signature"),
        "newer": (SMALL[:10] + struct.pack("<H", 9) + SMALL[12:], "min_reader_version"),
        "truncated": (SMALL[:-1], "chunk length"),
        "length 2^64-1": (edited_length, "chunk length"),
        "width 0": (edit_head(SMALL, width=0), "width"),
        "fps_den 0": (edit_head(SMALL, fps_den=0), "fps"),
        "NaN config": (edit_head(SMALL, config=replace_in_config(b"0.004", b"NaN")), "config"),
        "NaN step": (edit_group(SMALL, 0, lambda p, layout: splice(p, layout.tensors[0].step_at, 4,
                                                              struct.pack("<f", math.nan))), "tensor step"),
        "flip in the last group": (MULTI[:-200] + bytes([MULTI[-200] ^ 1]) + MULTI[-199:], "crc32"),
        "bad table in the last group": (edit_group(MULTI, 2, lambda p, layout: splice(
            p, layout.tensors[0].table_at, 1, b"\x00")), "precision"),
    }


@pytest.mark.parametrize("case", list(_cli_cases()))
@pytest.mark.parametrize("output", ["out.y4m", "out.mkv", "frames"])
def test_cli_decode_exit_code_4_one_line_no_output(case, output, tmp_path, capsys):
    data, field = _cli_cases()[case]
    source = tmp_path / "in.nvc"
    source.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["decode", str(source), str(out / output), "--quiet", "--threads", "1"]) == 4
    err = capsys.readouterr().err.strip()
    assert err.startswith("nvc: error: ") and "\n" not in err and "Traceback" not in err, err
    assert f"(field '{field}', byte " in err, err
    if field == "min_reader_version":
        assert "newer nvc" in err
    assert list(out.iterdir()) == []  # no output, no temporary file


@pytest.mark.parametrize("case", ["empty", "png", "newer", "length 2^64-1", "width 0", "NaN config"])
def test_cli_info_exit_code_4(case, tmp_path, capsys):
    data, field = _cli_cases()[case]
    source = tmp_path / "in.nvc"
    source.write_bytes(data)
    assert main(["info", str(source), "--json"]) == 4
    captured = capsys.readouterr()
    assert captured.out == "" and f"(field '{field}', byte " in captured.err and captured.err.count("\n") == 1


@pytest.mark.parametrize("case", ["NaN step", "flip in the last group", "bad table in the last group"])
def test_cli_info_verify_finds_what_the_header_does_not_show(case, tmp_path, capsys):
    data, field = _cli_cases()[case]
    source = tmp_path / "in.nvc"
    source.write_bytes(data)
    assert main(["info", str(source)]) == 0  # the header and the chunk structure are fine
    capsys.readouterr()
    assert main(["info", str(source), "--verify"]) == 4
    captured = capsys.readouterr()
    assert captured.out == "" and f"(field '{field}', byte " in captured.err and captured.err.count("\n") == 1


def test_cli_info_verify_decodes_every_group_and_renders_nothing(tmp_path, capsys, monkeypatch):
    from nvc.codec import render

    def no_network(*args, **kwargs):
        raise AssertionError("--verify rendered a frame")

    monkeypatch.setattr(render, "build_network", no_network)
    source = tmp_path / "in.nvc"
    source.write_bytes(MULTI)
    assert main(["info", str(source), "--verify"]) == 0
    assert "verify: OK: 3 groups entropy-decoded" in capsys.readouterr().out
    assert main(["info", str(source), "--verify", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verified"] == "OK: 3 groups entropy-decoded"


def test_info_shows_the_files_format_version_not_the_readers(tmp_path, capsys):
    source = tmp_path / "in.nvc"
    source.write_bytes(newer_writer(7))
    assert main(["info", str(source), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format_version"] == 7
    with nvc.open(source) as video:
        assert video.info.format_version == 7


@pytest.mark.parametrize("error", [MemoryError(), RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. "
                                   "DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes.")],
                         ids=["MemoryError", "torch CPU allocator"])
def test_running_out_of_memory_is_exit_5_and_says_so(error, tmp_path, monkeypatch, capsys):
    from nvc.codec import decoder

    def exhausted(*args, **kwargs):
        raise error

    monkeypatch.setattr(decoder, "decode_tensors", exhausted)
    source = tmp_path / "in.nvc"
    source.write_bytes(SMALL)
    assert main(["decode", str(source), str(tmp_path / "out.y4m")]) == 5
    err = capsys.readouterr().err
    assert err.startswith("nvc: error: out of memory") and err.count("\n") == 1, err
    assert not (tmp_path / "out.y4m").exists()
