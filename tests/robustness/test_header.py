"""Hostile files, the HEAD chunk: its fixed fields and the config JSON.
"""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest

from nvc.codec.bitstream import MAX_GROUP_PARAMETERS
from nvc.entropy import write_uvarint

from ..bitstream_tools import (
    HEAD_OFFSETS,
    chunk_list,
    edit_group,
    edit_head,
    head_fields,
    parse_group,
    splice,
)
from .hostile import (
    CONFIG_AT,
    HEAD_DATA,
    REFERENCE,
    SMALL,
    decode_all,
    group_base,
    rejects,
    replace_in_config,
)

# --- HEAD fields ---------------------------------------------------------------------------------


@pytest.mark.parametrize("values,field", [
    (dict(width=0), "width"),
    (dict(height=0), "height"),
    (dict(width=0, height=0), "width"),
    (dict(width=65535, height=65535), "width"),
    (dict(width=50000, height=50000), "width"),  # 2.5e9 pixels: overflows 32 bits
    (dict(width=0xFFFFFFFF, height=0xFFFFFFFF), "width"),
    (dict(width=8193, height=1), "width"),
    (dict(width=8192, height=4353), "height"),  # each side fine, the area is not
    (dict(width=4352, height=8193), "height"),
    (dict(fps_den=0), "fps"),
    (dict(fps_num=0), "fps"),
    (dict(fps_num=1001, fps_den=1), "fps"),
    (dict(fps_num=0xFFFFFFFF, fps_den=1), "fps"),
    (dict(frame_count=0), "frame_count"),
    (dict(frame_count=0xFFFFFFFF), "frame_count"),
    (dict(frame_count=(1 << 20) + 1), "frame_count"),
    (dict(colour_matrix=2), "colour"),
    (dict(full_range=2), "colour"),
])
def test_head_values_outside_their_range(values, field):
    offset = HEAD_DATA + HEAD_OFFSETS[{"width": "width", "height": "height", "fps": "fps_num",
                                       "frame_count": "frame_count", "colour": "colour_matrix"}[field]]
    if "fps_den" in values and values["fps_den"] == 0:
        offset = HEAD_DATA + HEAD_OFFSETS["fps_den"]
    if "full_range" in values:
        offset = HEAD_DATA + HEAD_OFFSETS["full_range"]
    rejects(edit_head(SMALL, **values), field, offset)


@pytest.mark.parametrize("values,field", [
    (dict(frame_count=2), "group count"),  # header says 2 groups, the file holds 1
    (dict(frame_count=1 << 20), "group count"),
    (dict(width=16), "tensor shape"),  # a wider frame implies a wider embedding grid
])
def test_head_values_that_disagree_with_the_groups(values, field):
    rejects(edit_head(SMALL, **values), field)


def _default_model(group_size: int):
    def edit(doc: dict) -> None:
        doc["model"].update(strides=[5, 4, 2, 2, 2], channels=[64, 48, 32, 24, 16], kernels=[1, 3, 3, 3, 3],
                            stem_channels=64)
        doc["group_size"] = group_size

    return edit


def _group_size(group_size: int):
    def edit(doc: dict) -> None:
        doc["group_size"] = group_size

    return edit


@pytest.mark.parametrize("values,config,field", [
    (dict(width=8192, height=4352, frame_count=600), _default_model(600), "group header"),
    (dict(width=8192, height=4352, frame_count=1), _default_model(600), "tensor count"),
    (dict(width=8192, height=4352, frame_count=1 << 20), _default_model(1), "group count"),
    (dict(width=8192, height=4352, frame_count=1 << 20), _default_model(600), "group count"),
    (dict(frame_count=1 << 20), None, "group count"),
    (dict(width=8192, height=4352, frame_count=1), None, "tensor shape"),  # 35.6M parameters: allowed
    (dict(width=8192, height=4352, frame_count=2), _group_size(2), "config"),  # 71M: above 2^26
])
def test_huge_claims_fail_fast_without_allocating(values, config, field):
    """A header claiming 8K frames and 600-frame groups is refused before anything that size exists:
    well under a second, and the peak of Python/numpy allocations grows by less than 100 MB."""
    data = edit_head(SMALL, config=config, **values)
    tracemalloc.start()
    try:
        start = time.perf_counter()
        rejects(data, field)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 << 20 and elapsed < 1.0, (peak, elapsed)


def _claiming(width: int, height: int) -> bytes:
    """SMALL relabelled as a width x height video: the embeddings tensor claims that grid, its table
    and coded data stay those of 2x2 embeddings (a few hundred bytes for millions of symbols)."""

    def edit(payload, layout):
        t = layout.tensors[0]
        dims = b"".join(write_uvarint(d) for d in (t.dims[0], t.dims[1], -(-height // 4), -(-width // 4)))
        return splice(payload, t.dims_at, t.mode_at - t.dims_at, dims)

    return edit_group(edit_head(SMALL, width=width, height=height), 0, edit)


@pytest.mark.parametrize("width,height", [(2048, 2048), (8192, 4352)])
def test_a_tiny_file_claiming_a_huge_tensor_costs_what_its_size_pays_for(width, height):
    """Coded data too short for the symbol counts is refused before anything their size exists.

    Before the minimum-length check, the 2048x2048 claim (4.2M symbols) made the decoder build
    Python lists of ~200 MB, and the 8192x4352 one (35.6M) 3.6 GB.  Now parsing the file may cost
    what its bytes hold: tables become CDFs of Python ints (under 100 bytes per table byte), on top
    of the config and error handling (1 MiB).
    """
    data = _claiming(width, height)
    assert len(data) < 4096
    tracemalloc.start()
    try:
        rejects(data, "coded data", match="cannot hold")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * len(data) + (1 << 20), peak


# --- the config ------------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [
    pytest.param(replace_in_config(b'"rate_lambda":0.004', b'"rate_lambda":NaN'), id="NaN"),
    pytest.param(replace_in_config(b'"rate_lambda":0.004', b'"rate_lambda":Infinity'), id="Infinity"),
    pytest.param(replace_in_config(b'"rate_lambda":0.004', b'"rate_lambda":-Infinity'), id="-Infinity"),
    pytest.param(replace_in_config(b'"rate_lambda":0.004', b'"rate_lambda":1e400'), id="1e400 (overflows to inf)"),
    pytest.param(replace_in_config(b'"tile":16', b'"tile":NaN'), id="tile NaN"),
    pytest.param(replace_in_config(b'"tile":16', b'"tile":16.0'), id="tile float"),
    pytest.param(replace_in_config(b'"tile":16', b'"tile":true'), id="tile bool"),
    pytest.param(replace_in_config(b'"tile":16', b'"tile":15'), id="tile too small"),
    pytest.param(replace_in_config(b'"group_size":1', b'"group_size":0'), id="group_size 0"),
    pytest.param(replace_in_config(b'"group_size":1', b'"group_size":601'), id="group_size 601"),
    pytest.param(replace_in_config(b'"key_interval":1', b'"key_interval":0'), id="key_interval 0"),
    pytest.param(replace_in_config(b'"seed":0', b'"seed":' + b"9" * 5000), id="5000-digit integer"),
    pytest.param(replace_in_config(b'"strides":[2,2]', b'"strides":[2,9]'), id="stride 9"),
    pytest.param(replace_in_config(b'"kernels":[1,3]', b'"kernels":[1,4]'), id="even kernel"),
    pytest.param(replace_in_config(b'"channels":[24,16]', b'"channels":[24,1025]'), id="1025 channels"),
    pytest.param(replace_in_config(b'"channels":[24,16]', b'"channels":[24]'), id="one channel list short"),
    pytest.param(replace_in_config(b'"activation":"gelu"', b'"activation":"tanh"'), id="unknown activation"),
    pytest.param(replace_in_config(b'"arch":"hnerv"', b'"arch":"nerv"'), id="unknown arch"),
    pytest.param(replace_in_config(b'"tile":16', b'"tile":16,"extra":1'), id="unknown key"),
    pytest.param(replace_in_config(b',"tile":16', b''), id="missing key"),
    pytest.param(replace_in_config(b'"nvc_version":"0.1.0"', b'"nvc_version":[[[["x"]]]]'), id="5 levels"),
    pytest.param(b"[" * 100000 + b"]" * 100000, id="100000 levels"),
    pytest.param(replace_in_config(b'"nvc_version":"0.1.0"', b'"nvc_version":"' + b"x" * 70000 + b'"'), id="70 KB"),
    pytest.param(replace_in_config(b"}", b"}" + b" " * 70000), id="70 KB of spaces"),
    pytest.param(replace_in_config(b'"0.1.0"', b'"\xff\xfe"'), id="not UTF-8"),
    pytest.param(b"", id="empty"),
    pytest.param(b"null", id="null"),
    pytest.param(b"[]", id="array"),
    pytest.param(replace_in_config(b'"model":{', b'"model":{"model":{},'), id="nested unknown"),
    pytest.param(replace_in_config(b'"arch":"hnerv"', b'"arch":"hnerv","arch":"hnerv"'), id="duplicate key"),
    pytest.param(b"{" + b",".join(b'"k%d":0' % (i % 3000) for i in range(6000)) + b"}", id="3000 repeated keys"),
    pytest.param(b"{" + b",".join(b'"k%d":0' % i for i in range(6000)) + b"}", id="6000 keys"),
    pytest.param(replace_in_config(b'{', b'\xef\xbb\xbf{'), id="byte order mark"),
    pytest.param(replace_in_config(b'"tile":16}', b'"tile":16}{}'), id="two documents"),
])
def test_hostile_configs(config):
    rejects(edit_head(SMALL, config=config), "config", CONFIG_AT)


def test_a_config_that_disagrees_with_the_tensors():
    data = edit_head(SMALL, config=replace_in_config(b'"embed_channels":16', b'"embed_channels":8'))
    layout = parse_group(chunk_list(data)[1][1])
    rejects(data, "tensor shape", group_base(data) + layout.tensors[0].dims_at)


def test_a_config_that_implies_too_many_parameters():
    doc = head_fields(chunk_list(SMALL)[0][1])[1]
    doc["model"].update(embed_channels=1024, stem_channels=1024, channels=[1024, 1024])
    doc["group_size"] = 600
    data = edit_head(SMALL, config=json.dumps(doc).encode(), width=8192, height=4352)
    exc = rejects(data, "config", CONFIG_AT, str(MAX_GROUP_PARAMETERS))
    assert "parameters" in str(exc)


# --- hnerv-grid's fields ----------------------------------------------------------------------------

def _as_grid(tiled_stages: int = 2, **grid) -> bytes:
    """SMALL's config relabelled as hnerv-grid (both its stages tiled, so no grid: still SMALL's frames)."""
    doc = head_fields(chunk_list(SMALL)[0][1])[1]
    doc["arch"] = "hnerv-grid"
    doc["model"].update(tiled_stages=tiled_stages, grid_times=2, grid_divisors=[0] * (2 - tiled_stages))
    doc["model"].update(grid)
    return json.dumps(doc, separators=(",", ":")).encode()


def test_a_grid_config_without_grids_decodes_as_hnerv():
    """The relabelled file is valid, so the hostile cases below fail on the field they edit."""
    frames = decode_all(edit_head(SMALL, config=_as_grid()))
    assert all((a == b).all() for a, b in zip(frames, REFERENCE[id(SMALL)], strict=True))


@pytest.mark.parametrize("config", [
    pytest.param(_as_grid(grid_times=0), id="no time slot"),
    pytest.param(_as_grid(grid_times=17), id="17 time slots"),
    pytest.param(_as_grid(grid_times=2.5), id="fractional time slots"),
    pytest.param(_as_grid(grid_divisors=[0]), id="a divisor for a tiled stage"),
    pytest.param(_as_grid(tiled_stages=1, grid_divisors=[]), id="no divisor for an untiled stage"),
    pytest.param(_as_grid(tiled_stages=1, grid_divisors=[17]), id="divisor 17"),
    pytest.param(_as_grid(tiled_stages=1, grid_divisors=[-1]), id="negative divisor"),
    pytest.param(_as_grid(tiled_stages=1, grid_divisors=1), id="divisors not a list"),
    pytest.param(_as_grid(grid_divisors=None), id="divisors null"),
])
def test_hostile_grid_fields(config):
    rejects(edit_head(SMALL, config=config), "config", CONFIG_AT)


def test_a_grid_the_group_does_not_hold():
    """A divisor names a grid tensor after the network's tensors; the group has none."""
    rejects(edit_head(SMALL, config=_as_grid(tiled_stages=1, grid_divisors=[1])), "tensor count")


def test_a_huge_grid_is_refused_before_it_exists():
    """16 full-resolution slots of an 8K frame's first stage: 3.4e9 values, refused from the header."""
    data = edit_head(SMALL, config=_as_grid(tiled_stages=1, grid_divisors=[1], grid_times=16),
                     width=8192, height=4352)
    tracemalloc.start()
    try:
        exc = rejects(data, "config", CONFIG_AT, str(MAX_GROUP_PARAMETERS))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "parameters" in str(exc) and peak < 100 << 20, peak
