"""The allocator thresholds: set on glibc when decoding, left alone where the user tuned malloc."""

from __future__ import annotations

import ctypes
import platform

import pytest

import nvc
from nvc.codec import allocator


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


def test_decoding_keeps_freed_memory(tiny_encoded, monkeypatch):
    calls = []
    monkeypatch.setattr("nvc.codec.decoder.keep_freed_memory", lambda: calls.append("decoder"))
    assert len(list(nvc.decode(tiny_encoded[0]))) > 0
    assert calls == ["decoder"]
