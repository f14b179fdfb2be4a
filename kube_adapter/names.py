"""Names the API server takes: an object (a node, its NEC, a Lease) is named by an
RFC 1123 subdomain, a namespace by an RFC 1123 label. Anything else it answers 422."""

from __future__ import annotations

import re

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")


def object_name(name: str) -> bool:
    """Whether ``name`` can name an object: lower case letters, digits, '-' and '.',
    at most 253 characters."""
    return len(name) <= 253 and _SUBDOMAIN.fullmatch(name) is not None


def namespace_name(name: str) -> bool:
    """Whether ``name`` can name a namespace: lower case letters, digits and '-', at
    most 63 characters."""
    return len(name) <= 63 and re.fullmatch(_LABEL, name) is not None
