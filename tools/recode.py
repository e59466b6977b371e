"""What the table kinds save on real files: re-code every group's symbols, changing nothing else.

The fit never sees the tables, so the symbols of a file made with any set of kinds are those of a
file made with any other: re-coding them measures a table kind exactly, with no fitting noise.
Prints, per file, the bytes of the GRUP tensor payloads coded with kind 0 alone (format version
1), with kinds 0 and 1 (version 2) and with every registered kind (the encoder's choice), and
writes nothing.

    python -m tools.recode /work/bench/ab/qcif-film2/*.nvc
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nvc.codec.decoder import Decoder
from nvc.codec.tensor_coding import encode_tensors
from nvc.entropy import FREQUENCY, TABLE_KINDS, TAILED, TableKind

__all__ = ["KIND_SETS", "main", "payload_bytes"]

KIND_SETS: dict[str, list[TableKind]] = {
    "kind 0": [FREQUENCY],
    "kinds 0-1": [FREQUENCY, TAILED],
    "every kind": list(TABLE_KINDS.values()),
}


def payload_bytes(path: Path) -> tuple[int, dict[str, int]]:
    """File bytes, and the tensor payload bytes of its groups under each of :data:`KIND_SETS`."""
    totals = dict.fromkeys(KIND_SETS, 0)
    with Decoder(path) as decoder:
        previous = None
        for group in decoder.bitstream.groups:
            symbols = decoder.group_symbols(group)
            reference = None if group.key else previous
            for name, kinds in KIND_SETS.items():
                totals[name] += len(encode_tensors(symbols, reference, kinds=kinds)[0])
            previous = symbols
    return path.stat().st_size, totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    print(f"| file | file bytes | {' | '.join(f'payload, {name}' for name in KIND_SETS)} | every kind against 0-1 |")
    print("|---|---|" + "---|" * (len(KIND_SETS) + 1))
    for path in args.files:
        size, totals = payload_bytes(path)
        change = totals["every kind"] - totals["kinds 0-1"]
        print(f"| {path.name} | {size} | {' | '.join(str(totals[name]) for name in KIND_SETS)} | "
              f"{change:+d} B ({change / size:+.1%} of the file) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
