"""nvc.entropy: integer symbols to bytes and back, bit-exact on every machine.

Tables are fitted on the encoder with floats allowed; everything the decoder
does is integer arithmetic on the tables and bytes it reads. A kind of table
(kinds.TableKind) is the seam a new entropy model plugs into. Parsing hostile
input raises EntropyFormatError only. compressai is imported on first use.
"""

from .errors import EntropyFormatError
from .kinds import FREQUENCY, SLICED, TABLE_KINDS, TAILED, FrequencyKind, TableKind, table_kind
from .rans import MAX_SYMBOLS, decode_streams, encode_streams
from .symbols import SYMBOL_MAX, SYMBOL_MIN, symbols_checksum
from .tables import (
    MAX_ALPHABET,
    MAX_PRECISION,
    FrequencyTable,
    build_table,
    estimate_bits,
    table_from_bytes,
    table_nbytes,
    table_to_bytes,
)
from .varint import read_svarint, read_uvarint, write_svarint, write_uvarint

__all__ = [
    "FREQUENCY",
    "SLICED",
    "TAILED",
    "TABLE_KINDS",
    "FrequencyKind",
    "TableKind",
    "table_kind",
    "MAX_ALPHABET",
    "MAX_PRECISION",
    "MAX_SYMBOLS",
    "SYMBOL_MAX",
    "SYMBOL_MIN",
    "EntropyFormatError",
    "FrequencyTable",
    "build_table",
    "decode_streams",
    "encode_streams",
    "estimate_bits",
    "read_svarint",
    "read_uvarint",
    "symbols_checksum",
    "table_from_bytes",
    "table_nbytes",
    "table_to_bytes",
    "write_svarint",
    "write_uvarint",
]
