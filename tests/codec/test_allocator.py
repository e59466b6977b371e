"""The allocator thresholds: set on glibc when decoding, left alone where the user tuned malloc."""

from __future__ import annotations

import platform

import pytest

import nvc
from nvc.codec import allocator


def test_the_thresholds_are_pinned_exactly_where_glibc_serves_malloc():
    # the standard library's own answer (it reads the interpreter's binary), not the module's probe again
    on_glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert allocator._pin_thresholds({}) == on_glibc, platform.platform()


@pytest.mark.parametrize("environ", [{"MALLOC_TRIM_THRESHOLD_": "0"}, {"MALLOC_MMAP_THRESHOLD_": "65536"},
                                     {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}])
def test_a_user_tuned_allocator_is_left_alone(environ):
    assert allocator._pin_thresholds(environ) is False


def test_decoding_keeps_freed_memory(tiny_encoded, monkeypatch):
    calls = []
    monkeypatch.setattr("nvc.codec.decoder.keep_freed_memory", lambda: calls.append("decoder"))
    assert len(list(nvc.decode(tiny_encoded[0]))) > 0
    assert calls == ["decoder"]
