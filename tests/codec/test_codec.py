"""The encoder, the container and the decoder, end to end on a tiny clip."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import nvc
from nvc.codec.bitstream import Bitstream
from nvc.codec.config import CodecConfig, EncoderInfo, config_from_json, config_to_json
from nvc.codec.container import scan_chunks
from nvc.codec.tensor_coding import decode_tensors, encode_tensors
from nvc.entropy import MAX_ALPHABET
from nvc.models import MAX_SYMBOL, QuantizedTensor

from ..bitstream_tools import rechunk as _rechunk
from ..conftest import TINY


def _decode_all(data: bytes) -> list[np.ndarray]:
    return list(nvc.decode(io.BytesIO(data)))


def test_decoder_output_is_what_the_encoder_scored(tiny_clip, tiny_encoded):
    path, report = tiny_encoded
    frames = list(nvc.decode(path))
    assert len(frames) == len(tiny_clip)
    mse = np.mean([(a.astype(np.float64) - b) ** 2 for a, b in zip(tiny_clip, frames)])
    assert abs(10 * np.log10(255**2 / mse) - report.psnr) < 1e-9
    assert report.bytes == path.stat().st_size
    assert report.bpp == pytest.approx(report.bytes * 8 / (40 * 24 * 5))


def test_groups_follow_the_key_interval(tiny_encoded):
    _, report = tiny_encoded
    assert [(g.first_frame, g.frame_count, g.key) for g in report.groups] == [(0, 2, True), (2, 2, False), (4, 1, True)]
    assert report.groups[1].residual_tensors > 0


def test_random_access_and_ranges_match_sequential_decode(tiny_encoded):
    path, _ = tiny_encoded
    frames = list(nvc.decode(path))
    with nvc.open(path) as video:
        assert len(video) == 5
        assert np.array_equal(video[3], frames[3])
        assert np.array_equal(video[-1], frames[4])
        assert all(np.array_equal(a, b) for a, b in zip(video[1:4], frames[1:4]))
    ranged = list(nvc.decode(path, frames=(2, 5)))
    assert all(np.array_equal(a, b) for a, b in zip(ranged, frames[2:5]))
    tensors = list(nvc.decode(path, frames=range(0, 1), as_tensor=True))
    assert torch.equal(tensors[0], torch.from_numpy(frames[0]).permute(2, 0, 1))


def test_encoding_is_deterministic_whatever_the_source_type(tiny_clip, tiny_encoded, tmp_path):
    path, _ = tiny_encoded
    from_iter = tmp_path / "iter.nvc"
    nvc.encode((frame for frame in tiny_clip), from_iter, fps=25, **TINY)
    from_tensor = tmp_path / "tensor.nvc"
    nvc.encode(torch.from_numpy(tiny_clip), from_tensor, fps=25, **TINY)
    assert from_iter.read_bytes() == from_tensor.read_bytes() == path.read_bytes()


def test_tensor_coding_round_trip_with_residuals():
    gen = torch.Generator().manual_seed(0)
    ref = {"a": QuantizedTensor(torch.randint(-40, 40, (8, 3, 3, 3), generator=gen), 0.0078125),
           "b": QuantizedTensor(torch.randint(-3, 3, (5,), generator=gen), 0.5)}
    cur = {"a": QuantizedTensor(ref["a"].symbols + torch.randint(-1, 2, (8, 3, 3, 3), generator=gen), 0.0078125),
           "b": QuantizedTensor(torch.randint(-300, 300, (5,), generator=gen), 0.25)}
    payload, stats = encode_tensors(cur, ref)
    assert [s.mode for s in stats] == [1, 0]  # a is a cheap residual; b changed grid, so intra
    shapes = {"a": (8, 3, 3, 3), "b": (5,)}
    decoded = decode_tensors(payload, 100, shapes, ref)
    assert all(torch.equal(decoded[k].symbols, cur[k].symbols) and decoded[k].step == cur[k].step for k in cur)
    with pytest.raises(nvc.BitstreamError) as err:
        decode_tensors(payload, 100, {"a": (8, 3, 3, 2), "b": (5,)}, ref)
    assert err.value.field == "tensor shape" and err.value.offset > 100


def test_a_residual_too_wide_for_one_table_is_coded_intra():
    saturated = torch.full((4,), MAX_SYMBOL)
    saturated[0] = -MAX_SYMBOL
    ref = {"a": QuantizedTensor(-saturated, 0.5)}
    cur = {"a": QuantizedTensor(saturated, 0.5)}  # residual spans 4 * MAX_SYMBOL + 1 values
    payload, stats = encode_tensors(cur, ref)
    assert [s.mode for s in stats] == [0]
    assert torch.equal(decode_tensors(payload, 0, {"a": (4,)}, ref)["a"].symbols, cur["a"].symbols)


def test_symbols_wider_than_one_table_are_a_typed_encoder_error():
    too_wide = {"a": QuantizedTensor(torch.tensor([0, MAX_ALPHABET]), 0.5)}
    with pytest.raises(nvc.CodecRuntimeError, match="'a'"):
        encode_tensors(too_wide, None)


def test_config_takes_its_architecture_from_the_model_config_type():
    from nvc.models import HNeRVConfig
    from nvc.models.hnerv_grid import HNeRVGridConfig

    assert CodecConfig(model=HNeRVConfig()).arch == "hnerv"
    assert CodecConfig(model=HNeRVGridConfig()).arch == "hnerv-grid"  # a subclass, yet another architecture

    @dataclass(frozen=True)
    class Unregistered(HNeRVConfig):
        pass

    with pytest.raises(ValueError, match="no registered architecture"):
        CodecConfig(model=Unregistered())


def test_config_json_is_strict():
    data = config_to_json(CodecConfig(), EncoderInfo())
    assert config_from_json(data)[0] == CodecConfig()
    for bad in [data.replace(b'"tile":512', b'"tile":512.5'), data.replace(b'"rate_lambda":0.0', b'"rate_lambda":NaN'),
                data[:-1], b"[" * 50 + b"]" * 50, data.replace(b'"tile"', b'"tiles"'), b"\xff" * 8]:
        with pytest.raises(ValueError):
            config_from_json(bad)


def _chunk_starts(data: bytes) -> list[int]:
    return [c.offset for c in scan_chunks(io.BytesIO(data))[1]]


def test_every_truncation_is_a_typed_error(tiny_encoded):
    data = tiny_encoded[0].read_bytes()
    starts = _chunk_starts(data)
    cuts = sorted(set(range(0, 64)) | set(starts) | {s + d for s in starts for d in (1, 4, 12, 13)} |
                  set(range(len(data) - 40, len(data))) | set(range(0, len(data), max(1, len(data) // 300))))
    for cut in cuts:
        with pytest.raises(nvc.BitstreamError):
            _decode_all(data[:cut])


def test_bit_flips_are_typed_errors(tiny_encoded):
    data = tiny_encoded[0].read_bytes()
    rng = np.random.default_rng(0)
    positions = sorted(set(range(0, 120)) | set(rng.integers(0, len(data), 150).tolist()) |
                       set(range(len(data) - 80, len(data))))
    for position in positions:
        corrupt = bytearray(data)
        corrupt[position] ^= 1 << int(rng.integers(0, 8))
        with pytest.raises(nvc.BitstreamError):
            _decode_all(bytes(corrupt))


@pytest.mark.parametrize("name,edit,field", [
    ("unknown critical chunk", lambda c: c[:1] + [(b"ZZZZ", b"x")] + c[1:], "chunk type"),
    ("duplicate header", lambda c: c[:1] + c[:1] + c[1:], "chunk type"),
    ("groups out of order", lambda c: [c[0], c[2], c[1], *c[3:]], "group header"),
    ("group missing", lambda c: [c[0], *c[2:]], "group count"),
])
def test_structural_errors_name_their_field(tiny_encoded, name, edit, field):
    data = _rechunk(tiny_encoded[0].read_bytes(), edit)
    with pytest.raises(nvc.BitstreamError) as err:
        Bitstream(io.BytesIO(data))
    assert err.value.field == field, name


def test_unknown_ancillary_chunk_is_skipped(tiny_encoded):
    data = tiny_encoded[0].read_bytes()
    assert _rechunk(data, lambda c: c) == data
    edited = _rechunk(data, lambda c: c[:2] + [(b"noTE", b"hello")] + c[2:])
    assert all(np.array_equal(a, b) for a, b in zip(_decode_all(edited), _decode_all(data)))


def test_index_must_point_at_the_groups(tiny_encoded):
    data = bytearray(tiny_encoded[0].read_bytes())
    index = scan_chunks(io.BytesIO(bytes(data)))[1][-2]
    struct.pack_into("<Q", data, index.data_offset + 4, 3)  # first group "at byte 3", CRC fixed below
    crc_at = index.end - 4
    struct.pack_into("<I", data, crc_at, zlib.crc32(bytes(data[index.offset: crc_at])))
    with pytest.raises(nvc.BitstreamError) as err:
        Bitstream(io.BytesIO(bytes(data)))
    assert err.value.field == "INDX"


def test_newer_format_is_reported_as_such(tiny_encoded):
    data = bytearray(tiny_encoded[0].read_bytes())
    data[10:12] = struct.pack("<H", 9)
    with pytest.raises(nvc.NewerFormatError, match="newer nvc"):
        Bitstream(io.BytesIO(bytes(data)))


@pytest.mark.parametrize("blob", [b"", b"\x89NVC\r\n", b"\x89PNG\r\n\x1a\n" + bytes(40),
                                  b"\x89NVC\n\x1a\n" + bytes(40)])
def test_foreign_files_are_refused_at_the_signature(blob):
    with pytest.raises(nvc.BitstreamError) as err:
        Bitstream(io.BytesIO(blob))
    assert err.value.field == "signature" and err.value.offset == 0


def test_frame_range_reads_only_the_groups_it_needs(tiny_encoded, monkeypatch):
    path, _ = tiny_encoded
    read = []
    original = Bitstream.group_payload
    monkeypatch.setattr(Bitstream, "group_payload",
                        lambda self, group: read.append(group.index) or original(self, group))
    list(nvc.decode(path, frames=(4, 5)))  # group 2 is a key group
    assert read == [2]
    read.clear()
    list(nvc.decode(path, frames=(3, 4)))  # group 1 needs its reference, group 0
    assert read == [0, 1]


def test_rate_search_steps_towards_the_target():
    from nvc.codec.ratecontrol import _next_quality

    assert _next_quality({28: 0.4}, 0.1, 0, 51) == 40  # 2 halvings at 6 steps each
    assert _next_quality({28: 0.4, 40: 0.1}, 0.2, 0, 51) == 34
    assert _next_quality({28: 0.4}, 100.0, 0, 51) == 0  # clamped to the scale


def test_bpp_target_picks_a_quality_under_the_target(tiny_clip, tmp_path):
    default = nvc.encode(tiny_clip, tmp_path / "d.nvc", fps=25, **TINY)
    target = default.bpp / 2
    report = nvc.encode(tiny_clip, tmp_path / "t.nvc", fps=25, bpp=target, **TINY)
    free = nvc.encode(tiny_clip, tmp_path / "f.nvc", fps=25, quality=report.quality, **TINY)
    assert report.bytes == free.bytes  # the search only chooses the quality
    assert report.quality > 28  # half the default quality's rate needs a coarser quality


@pytest.mark.parametrize("options", [
    dict(quality=28.5), dict(quality=True), dict(group_size=2.0), dict(group_size=True), dict(key_interval="2"),
    dict(seed=2**64), dict(seed=-1), dict(scene_cut_db=float("nan")), dict(progress=1), dict(preset=None),
    dict(tile=16.0), dict(logdir=3), dict(colour="bt709"), dict(fps=29.97), dict(fps=0), dict(fps=True),
    dict(frames=2.0), dict(frames=0), dict(seek=-1), dict(seek="1"), dict(input_res=(0, 0)), dict(bpp="0.1"),
    dict(bpp=True), dict(kbps=float("inf")), dict(distributed="yes"), dict(rank_timeout=-1.0),
    dict(rank_timeout="60"), dict(resume=1),
])  # a misspelled option is Python's TypeError for nvc.encode's typed keywords (tests/codec/test_api.py)
def test_bad_api_options_raise_usage_error_before_any_fit(tiny_clip, tmp_path, monkeypatch, options):
    monkeypatch.setattr("nvc.codec.encoder._GroupCoder.code", lambda *a, **k: pytest.fail("fitted"))
    with pytest.raises(nvc.UsageError):
        nvc.encode(tiny_clip[:2], tmp_path / "o.nvc", **{**TINY, **options})
    assert list(tmp_path.iterdir()) == []


def test_numpy_integers_and_64_bit_seeds_make_files_that_open(tiny_clip, tmp_path):
    options = {**TINY, "group_size": np.int64(2), "quality": np.int32(30), "key_interval": np.uint8(2),
               "seed": 2**64 - 1, "scene_cut_db": np.float32(0)}
    nvc.encode(tiny_clip[:2], tmp_path / "o.nvc", fps=np.int64(25), frames=np.int16(2), **options)
    with nvc.open(tmp_path / "o.nvc") as video:
        assert (video.info.config.group_size, video.info.encoder.seed, video.info.fps) == (2, 2**64 - 1, 25)


@pytest.mark.parametrize("call", [
    lambda tmp: nvc.encode(np.zeros((2, 8, 8, 3), np.uint8), tmp / "o.nvc", fps=2000, **TINY),
    lambda tmp: nvc.encode(np.zeros((2, 9000, 1, 3), np.uint8), tmp / "o.nvc", **TINY),
    lambda tmp: nvc.encode(np.zeros((2, 8, 8, 3), np.float32), tmp / "o.nvc", **TINY),
    lambda tmp: nvc.encode(np.zeros((2, 8, 8, 3), np.uint8), tmp / "o.nvc", frames=3, **TINY),
    lambda tmp: nvc.encode(42, tmp / "o.nvc", **TINY),
    lambda tmp: nvc.encode(np.zeros((2, 8, 8, 3), np.uint8), tmp / "missing" / "o.nvc", **TINY),
    lambda tmp: nvc.encode(np.zeros((2, 8, 8, 3), np.uint8), tmp, **TINY),
    lambda tmp: nvc.encode(np.zeros((2, 8, 8, 3), np.uint8), 3, **TINY),
    # dest=None is main's "return the bytes" (report.data), not an error
])
def test_every_api_error_for_bad_input_is_an_nvc_error(tmp_path, call):
    with pytest.raises(nvc.NvcError):
        call(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_encode_refuses_to_overwrite_its_own_source(tmp_path):
    source = tmp_path / "in.y4m"
    nvc.datasets.write_video(source, np.zeros((2, 8, 8, 3), np.uint8), nvc.datasets.VideoInfo(8, 8, 25))
    before = source.read_bytes()
    with pytest.raises(nvc.UsageError, match="is the input"):
        nvc.encode(source, source, **TINY)
    assert source.read_bytes() == before


def test_every_api_error_for_a_bad_decode_request_is_an_nvc_error(tiny_encoded):
    path, _ = tiny_encoded
    with nvc.open(path) as video:
        for index in (1.5, "a", None):
            with pytest.raises(nvc.UsageError):
                video[index]
        for index in (len(video), -len(video) - 1):
            with pytest.raises(IndexError) as raised:  # the sequence protocol's error, and an nvc error
                video[index]
            assert isinstance(raised.value, nvc.NvcError)
        assert np.array_equal(video[np.int64(-1)], video[len(video) - 1])
    for frames in ((0.5, 2), "0:2", (0, 1, 2)):  # a stepped range is honoured (tests/codec/test_api.py)
        with pytest.raises(nvc.UsageError):
            nvc.decode(path, frames=frames)
    with pytest.raises(nvc.UsageError):
        nvc.open(123)
