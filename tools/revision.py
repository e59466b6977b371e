"""Another git revision of nvc, installed aside, for benchmarks that time a change against the code
before it in the same session (taking turns, so a noisy machine slows both alike)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

__all__ = ["Installed", "installed_revision"]


class Installed(NamedTuple):
    """Where a revision lies and how to run it: a child started in ``folder`` with ``env`` imports it
    (not the working tree, which a child started in the repository's root would find first)."""

    folder: Path
    env: dict[str, str]


@contextlib.contextmanager
def installed_revision(rev: str) -> Iterator[Installed]:
    """Install nvc (and tools/) as of git revision ``rev`` into a temporary folder, for the block."""
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=repo, check=True, capture_output=True).stdout
    with tempfile.TemporaryDirectory(prefix="nvc-rev-") as tmp:
        tree, site = Path(tmp, "tree"), Path(tmp, "site")
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                        "--target", str(site), str(tree)], check=True, capture_output=True)
        yield Installed(Path(tmp), {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(tree)])})
