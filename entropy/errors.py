"""The single error type raised for malformed or hostile entropy-coded input."""

from __future__ import annotations


class EntropyFormatError(ValueError):
    """Input bytes do not form a valid table or stream.

    It carries the field and byte offset so that whoever diagnoses a bad file
    sees where it went wrong. The offset is counted from the start of the
    buffer given to the parser.
    """

    field: str
    offset: int

    def __init__(self, message: str, *, field: str, offset: int) -> None:
        super().__init__(f"{message} (field {field!r}, byte {offset})")
        self.field = field
        self.offset = offset
