"""What a file given as CSV text is when it is not: compressed, an archive, UTF-16.

Named from its first bytes, so that a refusal says "gzip-compressed" rather than
showing the compressed bytes as a header (docs/contracts/trace.md, "Errors").
"""

from __future__ import annotations

MAGIC = (
    (b"\x1f\x8b", "gzip-compressed; decompress it first"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed; decompress it first"),
    (b"\xfd7zXZ\x00", "xz-compressed; decompress it first"),
    (b"PK\x03\x04", "a zip archive; extract it first"),
    (b"\xff\xfe", "UTF-16 text; save it as UTF-8"),
    (b"\xfe\xff", "UTF-16 text; save it as UTF-8"),
)
"""Leading bytes, and what a file starting with them is (and what to do)."""
HEAD = max(len(magic) for magic, _ in MAGIC)
"""Bytes to read to tell them apart."""


def foreign_kind(head: bytes) -> str | None:
    """What a file starting with ``head`` is, if it is a known kind that is not UTF-8
    text; None otherwise (plain text, or something unknown)."""
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    return None
