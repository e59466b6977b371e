"""What the table kinds save on real files: re-code every group's symbols, changing nothing else.

The fit never sees the tables, so the symbols of a file made with any set of kinds are those of a
file made with any other: re-coding them measures a table kind exactly, with no fitting noise.
Prints, per file, the bytes of the GRUP tensor payloads coded with kind 0 alone and with every
registered kind (the encoder's choice), and writes nothing.

    python -m tools.recode /work/bench/ab/qcif-film2/*.nvc
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nvc.codec.decoder import Decoder
from nvc.codec.tensor_coding import encode_tensors
from nvc.entropy import FREQUENCY, TABLE_KINDS

__all__ = ["main", "payload_bytes"]


def payload_bytes(path: Path) -> tuple[int, int, int]:
    """(file bytes, tensor payload bytes with kind 0 alone, with every kind)."""
    alone = chosen = 0
    with Decoder(path) as decoder:
        previous = None
        for group in decoder.bitstream.groups:
            symbols = decoder.group_symbols(group)
            reference = None if group.key else previous
            alone += len(encode_tensors(symbols, reference, kinds=[FREQUENCY])[0])
            chosen += len(encode_tensors(symbols, reference, kinds=list(TABLE_KINDS.values()))[0])
            previous = symbols
    return path.stat().st_size, alone, chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    print("| file | file bytes | payload, kind 0 | payload, cheapest kind | change |")
    print("|---|---|---|---|---|")
    for path in args.files:
        size, alone, chosen = payload_bytes(path)
        print(f"| {path.name} | {size} | {alone} | {chosen} | {chosen - alone:+d} B ({(chosen - alone) / size:+.1%} "
              "of the file) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
