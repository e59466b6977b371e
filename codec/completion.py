"""Shell completion for ``nvc``, generated from its argparse parser by shtab.

    nvc --print-completion bash | sudo tee /usr/share/bash-completion/completions/nvc
    nvc --print-completion zsh > ~/.zfunc/_nvc

Every option, subcommand and choice comes from the parser itself, so completion cannot drift
from the command line.
"""

from __future__ import annotations

import argparse

import shtab

__all__ = ["add_completion", "completes_path"]


def completes_path(action: argparse.Action) -> None:
    """Mark a positional argument as a path, which the shell completes with file names."""
    action.complete = shtab.FILE  # type: ignore[attr-defined]  # shtab's convention: an attribute it reads


def add_completion(parser: argparse.ArgumentParser) -> None:
    """Add ``--print-completion SHELL`` (bash, zsh, tcsh, ...), which prints the script and exits 0."""
    shtab.add_argument_to(parser, ["--print-completion"], help="print a shell completion script and exit")
