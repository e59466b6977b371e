"""A group's quantized tensors <-> the payload of its GRUP chunk.

Each tensor is coded either intra (its symbols) or as the residual against the previous group's
symbols on the same grid, whichever costs fewer bytes (table included; a residual too wide for
one table is no option); all tensors of a group share one rANS string.  The decoder checks every
shape against the one the config implies and every tensor's symbols against a stored CRC32.

The byte after a tensor's shape holds its coding mode (low four bits) and the kind of table that
follows (high four bits; nvc.entropy.kinds).  The encoder picks, per tensor, the kind and mode that
cost the fewest bytes: kind 0 (a count per symbol); since format version 2, kind 1 (a few
counts and two geometric tails), which is what small and sparse tensors mostly take; since
version 3, kind 2 (a kind-1 table per channel), which grids and wide convolutions take where
their channels differ.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nvc.entropy import (
    MAX_ALPHABET,
    TABLE_KINDS,
    EntropyFormatError,
    TableKind,
    decode_streams,
    encode_streams,
    read_uvarint,
    symbols_checksum,
    table_kind,
    write_uvarint,
)
from nvc.models import MAX_SYMBOL
from nvc.models.quantized import QuantizedTensor

from .errors import BitstreamError, CodecRuntimeError
from .layout import Field, Layout

__all__ = ["TENSOR", "TensorStats", "encode_tensors", "decode_tensors", "tensor_modes", "INTRA", "RESIDUAL"]

INTRA, RESIDUAL = 0, 1
MAX_RANK = 4
_MODE_BITS = 4

TENSOR = Layout(Field("mode", "B", "tensor mode"), Field("step", "f", "tensor step"),
                Field("symbols_crc", "I", "symbol checksum"))
"""The fixed fields of a tensor header, after its rank and shape; its table follows them.
``mode`` holds the coding mode (low four bits) and the table kind (high four bits)."""


@dataclass(frozen=True)
class TensorStats:
    """What coding one tensor cost, for reports."""

    name: str
    mode: int
    table_bytes: int
    coded_bits: float
    intra_cost: float  # bytes (table + estimated code) had it been coded intra

    @property
    def cost(self) -> float:
        return self.table_bytes + self.coded_bits / 8


def encode_tensors(
    tensors: Mapping[str, QuantizedTensor],
    reference: Mapping[str, QuantizedTensor] | None,
    kinds: Sequence[TableKind] = tuple(TABLE_KINDS.values()),
) -> tuple[bytes, list[TensorStats]]:
    """Serialise a group's tensors, each with the cheapest of ``kinds``' tables; residual coding is
    tried wherever ``reference`` matches."""
    out = bytearray(write_uvarint(len(tensors)))
    parts, stats = [], []
    for name, coded in tensors.items():
        symbols = coded.symbols.numpy().astype(np.int64)
        if not _fits_alphabet(symbols):
            raise CodecRuntimeError(f"tensor {name!r}: symbols span more than the {MAX_ALPHABET} values a table holds"
                                    f" (fitted states saturate at +-{MAX_SYMBOL})")
        choice = _cheapest(kinds, symbols)
        mode, values, intra_cost = INTRA, symbols, choice.cost
        ref = None if reference is None else reference.get(name)
        if ref is not None and ref.step == coded.step and tuple(ref.symbols.shape) == symbols.shape:
            residual = symbols - ref.symbols.numpy().astype(np.int64)
            if _fits_alphabet(residual) and (residual_choice := _cheapest(kinds, residual)).cost < choice.cost:
                choice, mode, values = residual_choice, RESIDUAL, residual
        kind, table = choice.kind, choice.table
        out += bytes([symbols.ndim]) + b"".join(write_uvarint(d) for d in symbols.shape)
        out += TENSOR.pack({"mode": mode | kind.number << _MODE_BITS, "step": coded.step,
                            "symbols_crc": symbols_checksum(symbols)})
        out += kind.to_bytes(table)
        flat, start = values.reshape(-1), 0
        for count, part_table in kind.parts(table, values.shape):
            parts.append((flat[start : start + count], part_table))
            start += count
        stats.append(TensorStats(name, mode, choice.table_bytes, choice.coded_bits, intra_cost))
    coded_bytes = encode_streams(parts)
    out += write_uvarint(len(coded_bytes)) + coded_bytes
    return bytes(out), stats


def _fits_alphabet(symbols: np.ndarray) -> bool:
    """Whether one frequency table can span the symbols (a residual of two saturated tensors may not)."""
    return int(symbols.max()) - int(symbols.min()) < MAX_ALPHABET


@dataclass(frozen=True)
class _TableChoice:
    """A fitted table of one kind for one tensor's values, with what coding them by it costs."""

    kind: TableKind
    table: object
    table_bytes: int
    coded_bits: float

    @property
    def cost(self) -> float:
        """Bytes: the table's plus the estimated code's."""
        return self.table_bytes + self.coded_bits / 8


def _cheapest(kinds: Sequence[TableKind], values: np.ndarray) -> _TableChoice:
    """The kind (and its table) that codes ``values`` cheapest, the first on a tie; a kind whose
    lower bound cannot beat the best so far is not fitted."""
    best: _TableChoice | None = None
    for kind in kinds:
        if not kind.accepts(values.shape) or (best is not None and kind.least_bytes(values) >= best.cost):
            continue
        table = kind.fit(values)
        choice = _TableChoice(kind, table, kind.nbytes(table), kind.estimate_bits(table, values))
        if best is None or choice.cost < best.cost:
            best = choice
    if best is None:
        raise ValueError(f"none of the table kinds {[kind.number for kind in kinds]} takes shape {values.shape}")
    return best


def decode_tensors(
    data: bytes,
    base_offset: int,
    expected: Mapping[str, tuple[int, ...]],
    reference: Mapping[str, QuantizedTensor] | None,
) -> dict[str, QuantizedTensor]:
    """Parse and entropy-decode a group payload produced by :func:`encode_tensors`.

    Args:
        data: the payload; ``base_offset`` is its position in the file (for error messages).
        expected: tensor name -> shape, in coding order, as the config implies.
        reference: the previous group's tensors (required when a tensor is coded as a residual).

    Raises:
        BitstreamError: naming the field and file offset of the first problem found.
    """
    view = memoryview(data)
    headers, pos = _read_headers(view, base_offset, expected, reference, check_reference=True)
    length_at = pos
    try:
        length, pos = read_uvarint(view, pos, "coded length")
    except EntropyFormatError as exc:
        raise _wrap(exc, base_offset) from None
    if length != len(view) - pos:
        raise BitstreamError(f"coded length {length} disagrees with the {len(view) - pos} bytes left",
                             field="coded length", offset=base_offset + length_at)
    runs = [list(h.kind.parts(h.table, h.shape)) for h in headers]
    try:
        decoded = iter(decode_streams(bytes(view[pos:]), [part for tensor_runs in runs for part in tensor_runs]))
    except EntropyFormatError as exc:
        # exc.offset counts from the start of the coded data (e.g. where its CRC32 lies)
        raise BitstreamError(f"coded data: {_message(exc)}", field="coded data",
                             offset=base_offset + pos + exc.offset) from None
    result = {}
    for header, tensor_runs in zip(headers, runs, strict=True):
        pieces = [next(decoded) for _ in tensor_runs]
        values = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        symbols = values.astype(np.int64).reshape(header.shape)
        if header.mode == RESIDUAL:
            assert reference is not None
            symbols = symbols + reference[header.name].symbols.numpy()
        if _checksum_or_none(symbols) != header.checksum:
            raise BitstreamError(f"tensor {header.name!r} symbols fail their checksum",
                                 field="symbol checksum", offset=header.checksum_offset)
        result[header.name] = QuantizedTensor(torch.from_numpy(symbols), header.step)
    return result


def tensor_modes(data: bytes, base_offset: int, expected: Mapping[str, tuple[int, ...]]) -> list[int]:
    """Each tensor's coding mode (INTRA or RESIDUAL), from the headers alone (nothing entropy-decoded)."""
    headers, _ = _read_headers(memoryview(data), base_offset, expected, None, check_reference=False)
    return [header.mode for header in headers]


def _read_headers(view: memoryview, base: int, expected: Mapping[str, tuple[int, ...]],
                  reference: Mapping[str, QuantizedTensor] | None,
                  check_reference: bool) -> tuple[list[_TensorHeader], int]:
    """The tensor count and every tensor header; returns them and the offset just past them."""
    try:
        count, pos = read_uvarint(view, 0, "tensor count")
    except EntropyFormatError as exc:
        raise _wrap(exc, base) from None
    if count != len(expected):
        raise BitstreamError(f"group holds {count} tensors, the config implies {len(expected)}",
                             field="tensor count", offset=base)
    headers = []
    for name, shape in expected.items():
        header, pos = _read_tensor_header(view, pos, base, name, shape, reference, check_reference)
        headers.append(header)
    return headers, pos


def _checksum_or_none(symbols: np.ndarray) -> int | None:
    """The symbols' CRC32, or None when a residual pushed them outside int32 (a corrupt file)."""
    try:
        return symbols_checksum(symbols)
    except ValueError:
        return None


@dataclass(frozen=True)
class _TensorHeader:
    name: str
    shape: tuple[int, ...]
    mode: int
    kind: TableKind
    step: float
    checksum: int
    checksum_offset: int
    table: object


def _read_tensor_header(view, pos, base, name, shape, reference, check_reference) -> tuple[_TensorHeader, int]:
    def fail(message: str, field: str, at: int) -> BitstreamError:
        return BitstreamError(f"tensor {name!r}: {message}", field=field, offset=base + at)

    if pos >= len(view):
        raise fail("payload ends before the tensor", "tensor rank", pos)
    rank = view[pos]
    if not 1 <= rank <= MAX_RANK:
        raise fail(f"rank {rank} outside 1..{MAX_RANK}", "tensor rank", pos)
    dims_at = pos + 1
    pos = dims_at
    dims = []
    try:
        for _ in range(rank):
            dim, pos = read_uvarint(view, pos, "tensor shape")
            dims.append(dim)
    except EntropyFormatError as exc:
        raise _wrap(exc, base) from None
    if tuple(dims) != tuple(shape):
        raise fail(f"shape {tuple(dims)} disagrees with the config's {tuple(shape)}", "tensor shape", dims_at)
    if len(view) - pos < TENSOR.size:
        raise fail("payload ends inside the tensor header", "tensor mode", pos)
    fields = TENSOR.unpack(view, pos)
    mode = fields["mode"] & ((1 << _MODE_BITS) - 1)
    if mode not in (INTRA, RESIDUAL):
        raise fail(f"unknown coding mode {mode}", "tensor mode", pos)
    try:
        kind = table_kind(fields["mode"] >> _MODE_BITS, pos)
    except EntropyFormatError as exc:
        raise _wrap(exc, base) from None
    check_residual = check_reference and mode == RESIDUAL
    if check_residual and (reference is None or tuple(reference[name].symbols.shape) != tuple(shape)):
        raise fail("residual coding without a matching reference tensor", "tensor mode", pos)
    step = fields["step"]
    step_at = pos + TENSOR.offsets["step"]
    if not (math.isfinite(step) and step > 0):
        raise fail(f"step {step} is not a positive finite number", "tensor step", step_at)
    if check_residual and step != reference[name].step:
        raise fail("residual on a different quantization grid", "tensor step", step_at)
    checksum_offset = pos + TENSOR.offsets["symbols_crc"]
    try:
        table, pos = kind.from_bytes(view, pos + TENSOR.size, tuple(shape))
    except EntropyFormatError as exc:
        raise _wrap(exc, base) from None
    header = _TensorHeader(name, tuple(shape), mode, kind, step, fields["symbols_crc"], base + checksum_offset, table)
    return header, pos


def _message(exc: EntropyFormatError) -> str:
    """The entropy error's message without its own "(field ..., byte ...)" suffix."""
    return str(exc).split(" (field")[0]


def _wrap(exc: EntropyFormatError, base: int) -> BitstreamError:
    return BitstreamError(_message(exc), field=exc.field, offset=base + exc.offset)
