"""Shell completion for ``nvc``, generated from its argparse parser by shtab.

    nvc --print-completion bash | sudo tee /usr/share/bash-completion/completions/nvc
    nvc --print-completion zsh > ~/.zfunc/_nvc

Every option, subcommand and choice comes from the parser itself, so completion cannot drift
from the command line.
"""

from __future__ import annotations

import argparse

import shtab

__all__ = ["FILE", "add_completion"]

FILE = shtab.FILE
"""Mark a positional argument as a path: ``parser.add_argument(...).complete = FILE``."""


def add_completion(parser: argparse.ArgumentParser) -> None:
    """Add ``--print-completion SHELL`` (bash, zsh, tcsh, ...), which prints the script and exits 0."""
    shtab.add_argument_to(parser, ["--print-completion"], help="print a shell completion script and exit")
