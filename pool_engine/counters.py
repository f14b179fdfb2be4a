"""What the engine counts while it runs, for the exporter's counters and histograms
(docs/contracts/metrics.md): per pool, pod starts, cold starts, binds by result,
releases by reason and refused NEC changes; and every cloud API call it made.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field

from pool_engine.config import Reason
from pool_engine.plan import ReleaseReason


class BindResult(enum.StrEnum):
    """How a requested slot bind ended (the ``result`` label of the bind counter)."""

    SUCCESS = "success"
    ERROR = "error"
    """The provider refused or failed it, or bound fewer slots than asked."""
    THROTTLED = "throttled"
    """Not sent: the client-side rate limit, or the provider throttled the call."""


@dataclass
class PoolCounters:
    """Monotonic counts per pool, for the exporter's counters."""

    pod_starts: int = 0
    pod_stops: int = 0
    cold_starts: int = 0
    binds: Counter[BindResult] = field(default_factory=Counter)
    """Slots by result."""
    releases: Counter[ReleaseReason] = field(default_factory=Counter)
    """Slots by reason."""
    rejections: Counter[Reason] = field(default_factory=Counter)
    """Refused NEC changes by reason."""


@dataclass(frozen=True)
class ApiCall:
    """One cloud API call, for the latency histogram and the error counter."""

    operation: str
    seconds: float
    code: str | None
    """None on success, else the provider's error code."""
