"""Type and range checks of option values, shared by the API and the CLI.

Each returns the value as the plain Python type the file format stores (a numpy integer becomes an
``int``), or raises :class:`UsageError` naming the option: a float quality, a bool group size or a
seed of 2^70 must never reach a file that ``nvc.open`` would refuse, nor leak a ``TypeError``.
"""

from __future__ import annotations

import numbers
import os
from fractions import Fraction

from .errors import UsageError

__all__ = ["integer", "real", "flag", "text", "path", "optional_path", "fraction"]


def integer(name: str, value: object, low: int, high: int | None = None) -> int:
    """An integral value (int or numpy integer, not bool) in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UsageError(f"{name} must be an integer, got {value!r}")
    number = int(value)
    if number < low or (high is not None and number > high):
        raise UsageError(f"{name} {number} outside {low}..{'' if high is None else high}")
    return number


def real(name: str, value: object, low: float, high: float) -> float:
    """A finite real value (int, float or numpy number, not bool) in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not low <= number <= high:  # also refuses NaN
        raise UsageError(f"{name} {number} outside {low:g}..{high:g}")
    return number


def flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be True or False, got {value!r}")
    return value


def text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{name} must be a string, got {value!r}")
    return value


def path(name: str, value: object) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise UsageError(f"{name} must be a path, got {value!r}")
    return os.fspath(value)


def optional_path(name: str, value: object) -> str | None:
    return None if value is None else path(name, value)


def fraction(name: str, value: object) -> Fraction:
    """An exact positive rate: int, Fraction or numpy integer (a float like 29.97 is not 30000/1001)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Rational) or value <= 0:
        raise UsageError(f"{name} must be a positive int or Fraction, got {value!r}")
    return Fraction(int(value.numerator), int(value.denominator))
