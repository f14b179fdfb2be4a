"""What the engine counts while it runs, for the exporter's counters and histograms
(docs/contracts/metrics.md): per pool, pod starts, cold starts, binds by result,
releases by reason and refused NEC changes; every cloud API call it made; and, for
the fault audit, every slot handed to a pod.
"""

from __future__ import annotations

import enum
import math
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


BURST_WINDOW = {Mode.ROUTE_ENI: 2.5, Mode.DIRECT_ENI: 25.0}
"""Seconds of a burst of pod starts, by mode: a nominal bind latency (an IP 2 s, an ENI
attach 20 s) and a quarter. Pods within it of the burst's first cannot all be served by
binds asked for at its first start; the quarter covers the burst's later pods, whose
binds complete after the next burst may begin (bench/bench_step_placement.py, from
30 s steps: with a window of one latency, recommendations idled 0.82x what the exact
history's do, at 1.07 % cold starts against 0.62 %; with one and a quarter, 0.95-1.02x
at cold starts within 0.1 points of the exact history's, on four simulated clusters;
bench/RESULTS.md)."""


@dataclass
class PoolCounters:
    """Monotonic counts per pool, for the exporter's counters."""

    pod_starts: int = 0
    pod_start_bursts: int = 0
    """Pod starts that began a burst: a start at least :data:`BURST_WINDOW` after the
    start that began the burst before. With ``pod_starts`` it tells a reader of
    per-scrape counts (the tuner) how the starts between two scrapes bunched."""
    pod_start_pairs: int = 0
    """Pairs of pod starts within one burst (a burst of s pods has s(s - 1) / 2): how
    big the bursts were, where ``pod_start_bursts`` says how many."""
    burst_began: float = -math.inf
    """When the latest burst began."""
    burst_size: int = 0
    """Pod starts in the latest burst so far."""
    pod_stops: int = 0
    cold_starts: int = 0
    binds: Counter[BindResult] = field(default_factory=Counter)
    """Slots by result."""
    releases: Counter[ReleaseReason] = field(default_factory=Counter)
    """Slots by reason."""
    rejections: Counter[Reason] = field(default_factory=Counter)
    """Refused NEC changes by reason."""

    def started(self, mode: Mode, now: float) -> None:
        """Count a pod start at ``now``, and the burst it begins, if it begins one."""
        self.pod_starts += 1
        if now - self.burst_began >= BURST_WINDOW[mode]:
            self.pod_start_bursts += 1
            self.burst_began, self.burst_size = now, 0
        self.pod_start_pairs += self.burst_size  # pairs with each start before it in the burst
        self.burst_size += 1


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
