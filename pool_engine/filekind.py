"""What a file given as CSV text is when it is not: compressed, an archive, UTF-16 or
UTF-32, binary.

Named from its first bytes, so that a refusal says "gzip-compressed" rather than
showing the compressed bytes as a header (docs/contracts/trace.md, "Errors"), and so
that a device that never ends (/dev/zero, /dev/urandom) is refused before the rest of
it is read.
"""

from __future__ import annotations

MAGIC = (
    (b"\x1f\x8b", "gzip-compressed; decompress it first"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed; decompress it first"),
    (b"\xfd7zXZ\x00", "xz-compressed; decompress it first"),
    (b"PK\x03\x04", "a zip archive; extract it first"),
    (b"\xff\xfe\x00\x00", "UTF-32 text; save it as UTF-8"),  # before UTF-16's mark: it starts so
    (b"\x00\x00\xfe\xff", "UTF-32 text; save it as UTF-8"),
    (b"\xff\xfe", "UTF-16 text; save it as UTF-8"),
    (b"\xfe\xff", "UTF-16 text; save it as UTF-8"),
)
"""Leading bytes, and what a file starting with them is (and what to do)."""
PARQUET_SUFFIXES = (".parquet", ".pq")
"""Names read and written as Parquet (a trace is also Parquet when it starts with PAR1)."""
HEAD = 4096
"""Bytes to read to tell them apart: the magic numbers, and a NUL byte, which no text
holds (random bytes hold one in 4096 but for a chance of 1 in 10 million)."""


def foreign_kind(head: bytes) -> str | None:
    """What a file starting with ``head`` is, if it is a known kind that is not UTF-8
    text; None otherwise (plain text, or something unknown)."""
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    if b"\x00" in head:
        return f"binary data (a NUL byte at offset {head.index(0)}), not text"
    return None
