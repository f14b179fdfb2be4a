"""Pacing cloud calls: a client-side token bucket and per-node exponential backoff.

Both take ``now`` as a parameter (virtual time in the simulator, the wall clock in the
daemon), which is why they are not a retry library's sleep-based decorators.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field

EPSILON = 1e-9
"""Tokens a refill may fall short by rounding (0.2 x 5 s gave 0.19999999999999996): a
bucket that said "ready" and then refused left its caller waiting for an instant already
past."""


@dataclass
class TokenBucket:
    """``rate`` calls per second on average, bursts up to ``burst``."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Spend ``cost`` tokens if there are enough at ``now``. A call dearer than
        the whole burst goes once the bucket is full, leaving it in debt."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = max(self.updated, now)
        if self.tokens < min(cost, self.burst) - EPSILON:
            return False
        self.tokens -= cost
        return True

    def ready_at(self, now: float, cost: float = 1.0) -> float:
        """The first time at or after ``now`` when ``cost`` tokens will be there (as
        :meth:`take` counts them: a refill short by a rounding error is there)."""
        tokens = min(self.burst, self.tokens + max(0.0, now - self.updated) * self.rate)
        if tokens >= min(cost, self.burst) - EPSILON:
            return now
        return now + (min(cost, self.burst) - tokens) / self.rate

    def retune(self, rate: float) -> None:
        """``rate`` calls per second from now on, bursts as large; tokens saved stay."""
        self.rate = self.burst = rate


#: Failures beyond this many do not grow the delay (2 ** 62 s is far past any cap).
MAX_EXPONENT = 62


@dataclass
class Backoff:
    """Exponential backoff with full jitter, per key (a node's pool): after n failures
    in a row the wait is uniform in [0, min(cap, base * 2 ** (n - 1))]. The exponent
    stops growing, so any number of failures is fine."""

    base: float = 1.0
    cap: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    """Jitter; seeded from the OS unless given, so engines that fail together (replicas,
    a restart after a shared outage) do not retry in step."""
    failures: dict[object, int] = field(default_factory=dict)
    until: dict[object, float] = field(default_factory=dict)

    def blocked(self, key: object, now: float) -> bool:
        return self.until.get(key, 0.0) > now

    def waited(self, key: object, now: float) -> bool:
        """The key is backing off and its wait is over: time to try again."""
        return key in self.until and not self.blocked(key, now)

    def failed(self, key: object, now: float) -> float:
        """Record a failure; returns when the key may try again."""
        n = self.failures.get(key, 0) + 1
        self.failures[key] = n
        delay = self.rng.uniform(0.0, min(self.cap, self.base * 2.0 ** min(n - 1, MAX_EXPONENT)))
        self.until[key] = now + delay
        return self.until[key]

    def ends(self) -> Iterable[float]:
        """When the waits of keys backing off end (some may be over already)."""
        return self.until.values()

    def retried(self, key: object) -> None:
        """The key tried again after its wait (the failure count stays)."""
        self.until.pop(key, None)

    def succeeded(self, key: object) -> None:
        self.failures.pop(key, None)
        self.until.pop(key, None)
