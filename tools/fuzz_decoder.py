"""Coverage-guided fuzzing of the .nvc decoder with atheris (libFuzzer for Python).

Every .nvc file is hostile: whatever the bytes, opening them with ``nvc.open`` and decoding every
frame must either succeed or raise ``nvc.BitstreamError``.  Any other exception, a crash, a
timeout or running out of memory is a finding.

Set-up (atheris is not a dependency of nvc):

    .venv/bin/pip install atheris

Usage (from the repository root; one thread, the decoder of tiny files does not need more):

    # seed corpus: a few tiny valid files (8x8 .. 16x8, 1-3 frames, preset ultrafast)
    OMP_NUM_THREADS=1 .venv/bin/python -m tools.fuzz_decoder --make-corpus /tmp/nvc-corpus
    # fuzz for 30 minutes; findings are written as /tmp/nvc-crash-<sha1>
    OMP_NUM_THREADS=1 .venv/bin/python -m tools.fuzz_decoder /tmp/nvc-corpus \\
        -dict=tools/fuzz_decoder.dict -max_total_time=1800 -timeout=20 -rss_limit_mb=4096 \\
        -artifact_prefix=/tmp/nvc-crash-
    # replay one input (prints the outcome of the raw and the CRC-repaired variant)
    OMP_NUM_THREADS=1 .venv/bin/python -m tools.fuzz_decoder --replay /tmp/nvc-crash-1234abcd

    # the config target: inputs are a frame size and a JSON config; the harness builds a whole file
    OMP_NUM_THREADS=1 .venv/bin/python -m tools.fuzz_decoder --target config --make-corpus /tmp/nvc-configs
    OMP_NUM_THREADS=1 .venv/bin/python -m tools.fuzz_decoder --target config /tmp/nvc-configs \\
        -dict=tools/fuzz_decoder.dict -max_total_time=1800 -timeout=20 -rss_limit_mb=4096 \\
        -artifact_prefix=/tmp/nvc-config-crash-

Everything after the options of this script goes to libFuzzer (``-help=1`` lists its flags).

Two targets:

- ``file`` (default): the input is an .nvc file.
- ``config``: the input is ``width-1:u8 height-1:u8 n:u8`` (1 + n mod 8 frames), then a header config
  (JSON).  When the config parses, the harness writes a complete, valid file for it (every tensor
  filled with a small pattern) and decodes that, so the fuzzer explores architectures, strides,
  tiles and group layouts that byte mutations of a file never reach (a tensor's shape follows the
  config).  Configs whose rendering needs more than 2^24 values per feature map are only opened
  (their header must be refused or accepted quickly), not rendered, to keep executions fast.

How the target gets past the checksums: every chunk of an .nvc file carries a CRC32, and a
group's rANS string carries another, so almost every random mutation is rejected by the first
CRC it meets.  The target therefore decodes each input twice: as it is, and with every chunk
CRC (and, where the group parses that far, the rANS string's CRC) recomputed, so the mutations
reach the header, the config, the tensor headers, the frequency tables, the rANS decoder and
the renderer.  With forged CRCs a decode may legitimately succeed with other frames (a changed
step or frame rate is a valid file), so success is accepted whenever the frames have the
header's size and count.
"""

from __future__ import annotations

import argparse
import io
import struct
import sys
import zlib
from pathlib import Path

import numpy as np  # imported before instrumentation: only nvc's own modules are instrumented
import torch

__all__ = ["repair_crcs", "check_one", "check_config", "file_for_config", "make_corpus", "main"]

_MAX_GROUP_BYTES = 1 << 20


def _read_uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = buf[pos]  # IndexError when truncated: the caller gives up
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80 or shift > 63:
            return value, pos
        shift += 7


def _repair_coded_crc(payload: bytearray) -> None:
    """Recompute the CRC32 at the end of a GRUP chunk's rANS string, if its tensor headers parse."""
    from nvc.codec.bitstream import GROUP
    from nvc.codec.tensor_coding import TENSOR

    if not GROUP.size <= len(payload) <= _MAX_GROUP_BYTES:
        return
    try:
        count, pos = _read_uvarint(payload, GROUP.size)
        if count > 256:
            return
        for _ in range(count):
            rank = payload[pos]
            pos += 1
            for _ in range(min(rank, 8)):
                _, pos = _read_uvarint(payload, pos)
            pos += TENSOR.size + 1  # mode, step, symbols crc, the table's precision
            _, pos = _read_uvarint(payload, pos)  # offset
            size, pos = _read_uvarint(payload, pos)
            if size > len(payload):
                return
            for _ in range(size):
                _, pos = _read_uvarint(payload, pos)
        length, pos = _read_uvarint(payload, pos)
    except IndexError:
        return
    if length >= 8 and pos + length == len(payload):
        body_end = len(payload) - 4
        struct.pack_into("<I", payload, body_end, zlib.crc32(bytes(payload[pos:body_end])))


def repair_crcs(data: bytes) -> bytes:
    """The bytes with every chunk CRC32 recomputed (and the rANS CRC of groups that parse)."""
    from tools.chunks import fix_crcs  # nvc loads inside the instrumented imports, not here

    return fix_crcs(data, _repair_coded_crc)


def _decode_all(nvc, data: bytes) -> str:
    """Decode every frame; returns a short outcome, raises whatever the decoder raised otherwise."""
    try:
        with nvc.open(io.BytesIO(data)) as video:
            info = video.info
            count = 0
            for frame in video.frames():
                if not (isinstance(frame, np.ndarray) and frame.dtype == np.uint8
                        and frame.shape == (info.height, info.width, 3)):
                    raise AssertionError(f"bad frame {type(frame)} {getattr(frame, 'shape', '')}")
                count += 1
            if count != len(video):
                raise AssertionError(f"{count} frames decoded, the header says {len(video)}")
    except nvc.BitstreamError as exc:
        return f"BitstreamError: {exc}"
    return f"decoded {count} frames"


def check_one(nvc, data: bytes) -> list[str]:
    """Outcomes for the raw bytes and, when it differs, their CRC-repaired variant."""
    outcomes = [_decode_all(nvc, data)]
    repaired = repair_crcs(data)
    if repaired != data:
        outcomes.append(_decode_all(nvc, repaired))
    return outcomes


_CONFIG_RENDER_LIMIT = 1 << 24
_CONFIG_PARAMETER_LIMIT = 1 << 20


def file_for_config(nvc, data: bytes) -> bytes | None:
    """A complete valid file for the config target's input, or None when the config does not parse."""
    from fractions import Fraction

    from nvc.codec.bitstream import BitstreamWriter, group_layout
    from nvc.codec.config import VideoHeader, config_from_json
    from nvc.codec.tensor_coding import encode_tensors
    from nvc.models import QuantizedTensor

    if len(data) < 4:
        return None
    width, height, frames = data[0] + 1, data[1] + 1, data[2] % 8 + 1
    try:
        config, encoder = config_from_json(data[3:])
    except ValueError:
        return None
    header = VideoHeader(width, height, Fraction(25), frames)
    layout = group_layout(frames, config.group_size, config.key_interval)
    shapes = [config.model.parameter_shapes(height, width, count) for _, count, _ in layout]
    if sum(int(np.prod(shape)) for group in shapes for shape in group.values()) > _CONFIG_PARAMETER_LIMIT:
        return None
    stream = io.BytesIO()
    writer = BitstreamWriter(stream, header, config, encoder)
    reference = None
    for index, ((first, count, key), group) in enumerate(zip(layout, shapes)):
        tensors = {}
        for number, (name, shape) in enumerate(group.items()):
            values = (np.arange(int(np.prod(shape)), dtype=np.int64) * (number + 3) + index) % 7 - 3
            tensors[name] = QuantizedTensor(torch.from_numpy(values.reshape(shape)), 2.0 ** -(number % 9))
        payload, _ = encode_tensors(tensors, None if key else reference)
        writer.write_group(index, first, count, key, payload)
        reference = tensors
    writer.finish()
    return stream.getvalue()


def check_config(nvc, data: bytes) -> list[str]:
    """The config target: build the file, then decode it (or only open it when rendering is costly)."""
    from nvc.codec.bitstream import Bitstream

    built = file_for_config(nvc, data)
    if built is None:
        return ["config does not parse"]
    try:
        bitstream = Bitstream(io.BytesIO(built))
    except nvc.BitstreamError as exc:
        return [f"BitstreamError: {exc}"]
    model, header, tile = bitstream.config.model, bitstream.header, bitstream.config.tile
    if model.largest_feature_map(header.height, header.width, tile) > _CONFIG_RENDER_LIMIT:
        return ["accepted, too costly to render here"]
    return check_one(nvc, built)


def make_corpus(folder: Path, target: str = "file") -> None:
    """A few tiny valid files (and the committed golden files, when present) as fuzzing seeds."""
    import nvc
    from nvc.datasets import synthetic_clip

    folder.mkdir(parents=True, exist_ok=True)
    if target == "config":
        from nvc.codec.config import CodecConfig, EncoderInfo, config_to_json
        from nvc.codec.rate import model_for_video

        seeds = [(8, 8, 1, 28, 1, 1), (16, 8, 3, 40, 1, 3), (17, 9, 4, 51, 2, 2), (64, 48, 2, 28, 2, 1),
                 (1, 1, 1, 0, 1, 1)]
        for width, height, frames, quality, group_size, key_interval in seeds:
            config = CodecConfig(model=model_for_video(quality, height, width), group_size=group_size,
                                 key_interval=key_interval, tile=16)
            seed = bytes([width - 1, height - 1, frames - 1]) + config_to_json(config, EncoderInfo())
            (folder / f"config{width}x{height}_{frames}f_q{quality}.bin").write_bytes(seed)
        for path in sorted(folder.iterdir()):
            print(f"{path}: {path.stat().st_size} bytes")
        return
    golden = Path(__file__).resolve().parents[1] / "tests" / "golden"
    for path in sorted(golden.glob("v*/*.nvc")):
        (folder / path.name).write_bytes(path.read_bytes())
    specs = [((8, 8), 2, 2, 2), ((16, 8), 2, 1, 2), ((8, 16), 3, 3, 1)]
    for (width, height), frames, group_size, key_interval in specs:
        name = folder / f"seed{width}x{height}_{frames}f_g{group_size}_k{key_interval}.nvc"
        clip = synthetic_clip(width, height, frames, seed=width + height + frames)
        nvc.encode(clip, name, fps=25, preset="ultrafast", group_size=group_size, key_interval=key_interval,
                   tile=16, progress=False)
    for path in sorted(folder.iterdir()):
        print(f"{path}: {path.stat().st_size} bytes")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(description="Fuzz the nvc decoder (see the module docstring).",
                                     add_help=False)
    parser.add_argument("--target", choices=["file", "config"], default="file")
    parser.add_argument("--make-corpus", type=Path, metavar="DIR")
    parser.add_argument("--replay", type=Path, nargs="+", metavar="FILE")
    parser.add_argument("--help", action="store_true")
    ours, rest = parser.parse_known_args(argv[1:])
    torch.set_num_threads(1)
    if ours.help:
        print(__doc__)
        return 0
    check = check_config if ours.target == "config" else check_one
    if ours.make_corpus:
        make_corpus(ours.make_corpus, ours.target)
        return 0
    if ours.replay:
        import nvc

        for path in ours.replay:
            print(path, check(nvc, path.read_bytes()))
        return 0

    import atheris

    with atheris.instrument_imports(include=["nvc"]):
        import nvc  # noqa: F811 - the instrumented import
        import nvc.codec.api  # noqa: F401
        import nvc.codec.bitstream  # noqa: F401
        import nvc.codec.config  # noqa: F401
        import nvc.codec.container  # noqa: F401
        import nvc.codec.decoder  # noqa: F401
        import nvc.codec.render  # noqa: F401
        import nvc.codec.tensor_coding  # noqa: F401
        import nvc.entropy  # noqa: F401
        import nvc.models  # noqa: F401

    def target(data: bytes) -> None:
        check(nvc, data)  # anything but BitstreamError propagates and is reported by libFuzzer

    atheris.Setup([argv[0], *rest], target)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
