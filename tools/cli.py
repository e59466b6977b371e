"""Argument helpers shared by the tools' command lines."""

from __future__ import annotations

import argparse

__all__ = ["HelpFormatter", "parse_size"]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default and keeps the description's example commands on their own lines."""


def parse_size(text: str) -> tuple[int, int]:
    """'1920x960' -> (1920, 960); an argparse type."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    return width, height
