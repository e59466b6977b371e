"""The encoder's defaults that the command line shows, in a module that imports nothing heavy.

``nvc --help`` builds its parser from these, so it must not wait for torch; :class:`CodecConfig`
and :class:`EncodeOptions` take their defaults from here too, so each default has one home.
"""

from __future__ import annotations

import os

__all__ = ["PRESET", "GROUP_SIZE", "KEY_INTERVAL", "SCENE_CUT_DB", "TILE", "SEED", "DEVICE", "DEVICES",
           "default_threads"]

PRESET = "medium"
GROUP_SIZE = 30
"""Frames per network; 30 chosen by measurement on bikes (docs/design-notes.md)."""
KEY_INTERVAL = 8
SCENE_CUT_DB = 14.0
"""A pair of consecutive frames below this RGB PSNR is a scene cut (measured: codec/scenes.py)."""
TILE = 512
SEED = 0
DEVICES = ("cpu", "cuda")
DEVICE = "cpu"


def default_threads() -> int:
    """CPU threads when none are asked for.

    Under torchrun, this process's share of the CPUs (all of them divided among the ranks on this
    machine): torchrun sets ``OMP_NUM_THREADS=1`` for every multi-process job it starts, so there the
    variable says nothing about what the user wants.  Otherwise OMP_NUM_THREADS when set, else the
    CPUs this process may use."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    ranks_here = os.environ.get("LOCAL_WORLD_SIZE", "")
    if ranks_here.isdigit() and int(ranks_here) > 0:
        return max(1, cpus // int(ranks_here))
    configured = os.environ.get("OMP_NUM_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return cpus
