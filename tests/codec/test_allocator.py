"""The allocator thresholds: set once on glibc, left alone where the user tuned malloc."""

from __future__ import annotations

import ctypes
import platform

import pytest

import nvc
from nvc.codec import allocator

from ..conftest import TINY


def _on_glibc() -> bool:
    try:
        ctypes.CDLL(None).gnu_get_libc_version  # noqa: B018
    except (OSError, AttributeError, TypeError):
        return False
    return True


def test_the_thresholds_are_pinned_exactly_where_glibc_serves_malloc():
    assert allocator._pin_thresholds({}) == _on_glibc(), platform.platform()


@pytest.mark.parametrize("environ", [{"MALLOC_TRIM_THRESHOLD_": "0"}, {"MALLOC_MMAP_THRESHOLD_": "65536"},
                                     {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}])
def test_a_user_tuned_allocator_is_left_alone(environ):
    assert allocator._pin_thresholds(environ) is False


def test_encoding_and_decoding_keep_freed_memory(tiny_clip, tmp_path, monkeypatch):
    calls = []
    for room in ("encoder", "decoder"):
        monkeypatch.setattr(f"nvc.codec.{room}.keep_freed_memory", lambda room=room: calls.append(room))
    nvc.encode(tiny_clip[:1], tmp_path / "one.nvc", fps=25, **TINY)
    assert calls == ["encoder"]
    assert len(list(nvc.decode(tmp_path / "one.nvc"))) == 1
    assert calls == ["encoder", "decoder"]
