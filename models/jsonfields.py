"""The one rule for reading a typed field from strict JSON (the header's config is JSON).

JSON has no tuples and Python's ``bool`` is an ``int``, so a field's value is checked against its
declared type by name: ``True`` is no integer, ``1`` is no string, a tuple field is a list of
integers.  nvc.codec's config parser and the model registry's configs both read through it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["typed_value"]

_SCALARS: dict[str, tuple[type, ...]] = {"int": (int,), "str": (str,), "float": (int, float), "bool": (bool,)}


def typed_value(key: str, annotation: object, value: Any) -> Any:
    """``value`` as the type ``annotation`` names ('int', 'str', 'float', 'bool', 'tuple[int, ...]', or
    the type itself); a float field accepts an integer (JSON writes 1.0 as 1).

    Raises:
        ValueError: naming the field and the type it needs.
    """
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    if text.startswith("tuple"):
        if not isinstance(value, list) or not all(type(v) is int for v in value):
            raise ValueError(f"config field {key!r} must be a list of integers")
        return tuple(value)
    kinds = _SCALARS[text]
    if type(value) not in kinds:
        raise ValueError(f"config field {key!r} must be {text}, got {type(value).__name__}")
    if text == "float":
        try:
            return float(value)
        except OverflowError:  # an integer literal beyond float's range
            raise ValueError(f"config field {key!r} is out of range") from None
    return value
