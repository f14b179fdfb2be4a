"""What the engine counts while it runs, for the exporter's counters and histograms
(docs/contracts/metrics.md): per pool, pod starts, cold starts, binds by result,
releases by reason and refused NEC changes; every cloud API call it made; and, for
the fault audit, every slot handed to a pod.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field

from pool_engine.config import Mode, Reason
from pool_engine.plan import ReleaseReason
from pool_engine.pods import Handout
from pool_engine.pool import NodePool

Key = tuple[str, Mode]


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


class Observations:
    """What the engine saw since the publisher last asked: per-pool counters, waits,
    API calls, handouts (when recorded) and whether any pool changed."""

    def __init__(self, record_handouts: bool = False) -> None:
        self.handouts_on = record_handouts
        self.changed = True
        """Some pool changed since the publisher last asked."""
        self._counters: dict[Key, PoolCounters] = {}
        self._waits: list[tuple[Mode, float]] = []
        self._api_calls: list[ApiCall] = []
        self._handouts: list[tuple[str, Mode, Handout]] = []

    def counted(self, key: Key) -> PoolCounters:
        """The pool's counters, created on first use."""
        counters = self._counters.get(key)
        if counters is None:
            counters = self._counters[key] = PoolCounters()
        return counters

    def peek(self, key: Key) -> PoolCounters:
        """The pool's counters; zeros (not kept) for a pool nothing happened to."""
        return self._counters.get(key) or PoolCounters()

    def waited(self, mode: Mode, seconds: float) -> None:
        self._waits.append((mode, seconds))

    def called(self, call: ApiCall) -> None:
        self._api_calls.append(call)

    def collect(self, pool: NodePool) -> None:
        """Take the pool's handouts: kept when recorded, else dropped."""
        handouts = pool.take_handouts()
        if self.handouts_on:
            self._handouts.extend((pool.node, pool.mode, h) for h in handouts)

    def take_changed(self) -> bool:
        changed, self.changed = self.changed, False
        return changed

    def drain_waits(self) -> list[tuple[Mode, float]]:
        waits, self._waits = self._waits, []
        return waits

    def drain_api_calls(self) -> list[ApiCall]:
        calls, self._api_calls = self._api_calls, []
        return calls

    def drain_handouts(self) -> list[tuple[str, Mode, Handout]]:
        handouts, self._handouts = self._handouts, []
        return handouts
