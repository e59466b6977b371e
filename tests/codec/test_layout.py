"""The headers' tables of named fields: the one description that packing, parsing, error offsets,
docs/FORMAT.md and the test tools agree on."""

from __future__ import annotations

from pathlib import Path

import pytest

from nvc.codec.bitstream import GROUP, HEAD
from nvc.codec.errors import BitstreamError
from nvc.codec.layout import Field, Layout

FORMAT_MD = (Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md").read_text()
TYPES = {"B": "u8", "H": "u16", "I": "u32", "Q": "u64", "f": "f32"}


def documented_fields(section: str) -> list[tuple[str, str]]:
    """(name, type) of the fixed fields in a FORMAT.md section's first table, in order."""
    lines = FORMAT_MD.split(f"\n## {section}", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    out = []
    for line in lines[start + 2 :]:  # after the header row and the |---| row
        cells = [c.strip() for c in line.split("|")[1:3]] if line.startswith("|") else []
        types = [t.strip() for t in cells[1].split(",")] if cells else []
        if not types or not all(t in TYPES.values() for t in types):
            break  # the variable-length part (config, tensors) follows the fixed fields
        out += list(zip((n.strip() for n in cells[0].split(",")), types))
    return out


@pytest.mark.parametrize("section,layout", [("HEAD", HEAD), ("GRUP", GROUP)])
def test_format_md_documents_the_table(section, layout):
    assert documented_fields(section) == [(f.name, TYPES[f.code]) for f in layout.fields]


def test_offsets_follow_from_the_field_sizes():
    layout = Layout(Field("a", "H"), Field("b", "B"), Field("c", "I", "see"))
    assert dict(layout.offsets) == {"a": 0, "b": 2, "c": 3} and layout.size == 7
    assert layout.unpack(b"\x00" + layout.pack({"a": 1, "b": 2, "c": 3}), at=1) == {"a": 1, "b": 2, "c": 3}
    error = layout.error("bad", "c", 100)
    assert isinstance(error, BitstreamError) and (error.field, error.offset) == ("see", 103)
    with pytest.raises(ValueError, match="differ"):
        layout.pack({"a": 1})
