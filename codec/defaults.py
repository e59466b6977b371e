"""The encoder's defaults that the command line shows, in a module that imports nothing heavy.

``nvc --help`` builds its parser from these, so it must not wait for torch; :class:`CodecConfig`
and :class:`EncodeOptions` take their defaults from here too, so each default has one home.
"""

from __future__ import annotations

__all__ = ["PRESET", "GROUP_SIZE", "KEY_INTERVAL", "TILE", "SEED", "DEVICE", "DEVICES"]

PRESET = "medium"
GROUP_SIZE = 30
"""Frames per network; 30 chosen by measurement on bikes (docs/design-notes.md)."""
KEY_INTERVAL = 8
TILE = 512
SEED = 0
DEVICES = ("cpu", "cuda")
DEVICE = "cpu"
