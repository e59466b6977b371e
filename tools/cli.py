"""Argument helpers shared by the tools' command lines."""

from __future__ import annotations

import argparse

from nvc.datasets import limits

__all__ = ["HelpFormatter", "parse_size"]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default and keeps the description's example commands on their own lines."""


def parse_size(text: str) -> tuple[int, int]:
    """'1920x960' -> (1920, 960); an argparse type."""
    try:
        return limits.parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
