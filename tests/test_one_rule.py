"""One copy of each rule: the shared helpers, and a guard that the copies they replaced stay gone."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from nvc.codec import errors
from nvc.codec.cli import EXIT_CODES
from nvc.datasets.limits import parse_size
from nvc.models.psnr import psnr_from_mse

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("codec", "models", "datasets", "entropy", "cuda_ext", "tools")
SOURCES = [p for room in ROOMS for p in (ROOT / room).rglob("*.py")]

RULES = {
    r"log10\(": "models/psnr.py",  # PSNR
    r"\.split\(\"x\"\)": "datasets/limits.py",  # WxH
    r"\* 255\)\.round\(\)": "cuda_ext/ops.py",  # float -> uint8
    r"% (config\.)?key_interval": "codec/bitstream.py",  # which groups are key groups
    r"CRC\.pack_into|crc32\(bytes\(out": "tools/chunks.py",  # re-framing edited bytes
    r"def _typed\(": "",  # the JSON field-type checker lives in models/jsonfields.py as typed_value
}


@pytest.mark.parametrize("pattern,home", RULES.items())
def test_each_rule_is_written_once(pattern, home):
    found = sorted(str(p.relative_to(ROOT)) for p in SOURCES if re.search(pattern, p.read_text()))
    assert found == ([home] if home else [])


def test_psnr():
    assert psnr_from_mse(0.0) == float("inf")
    assert psnr_from_mse(1e-2) == pytest.approx(20.0, abs=1e-12)
    assert psnr_from_mse(255.0**2 / 1e3, 255.0) == pytest.approx(30.0, abs=1e-12)


@pytest.mark.parametrize("text,size", [("64x48", (64, 48)), ("1920X1080", (1920, 1080))])
def test_size_parses(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["64", "64x48x2", "ax3", "", "x"])
def test_size_refuses(text):
    with pytest.raises(ValueError, match="is not WxH"):
        parse_size(text)
    from tools.cli import parse_size as tool_parse_size

    with pytest.raises(argparse.ArgumentTypeError, match="is not WxH"):
        tool_parse_size(text)


def test_exit_codes_come_from_the_error_classes():
    """The CLI's table lists exactly the codes the error classes own (plus success and interrupts),
    and the README's table lists the same."""
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.NvcError)]
    owned = {cls.exit_code for cls in classes}
    assert set(EXIT_CODES) == owned | {errors.EXIT_OK, errors.EXIT_INTERRUPTED}
    readme = (ROOT / "README.md").read_text().split("### Exit codes", 1)[1]
    listed = {int(code) for code in re.findall(r"^\| (\d+)[ ,]", readme, re.M)}
    assert set(EXIT_CODES) <= listed
