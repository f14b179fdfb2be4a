"""When each pool next needs the engine besides its own events: inventory syncs and
retries after the client-side rate limiter said "not yet".

A pool's inventory sync is due every ``interval`` (60 s by default, as AWS's ipamd
does), at once after anything that leaves a doubt (an outcome that timed out, an
outcome that is not ours, a failed attach that may have left an ENI), and again soon
while the cloud shows something of someone else's still changing. A pool rebuilt
after a restart does not act until its first sync succeeds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pool_engine.config import Mode

Key = tuple[str, Mode]

#: Default seconds between a pool's inventory syncs.
DEFAULT_SYNC_INTERVAL = 60.0

#: Seconds to the next sync while the cloud shows something still changing.
SOON = 5.0


class Schedule:
    """Per pool: next inventory sync, rate-limit retry, and whether it is synced."""

    def __init__(self, interval: float = DEFAULT_SYNC_INTERVAL) -> None:
        if not interval > 0:
            raise ValueError("the sync interval must be positive")
        self.interval = interval
        self._sync: dict[Key, float] = {}
        self._wake: dict[Key, float] = {}
        self._unsynced: set[Key] = set()
        self._held: dict[Key, float] = {}
        """Pools the rate limiter held back (a sync or an operation) -> since when."""

    # --- inventory syncs --------------------------------------------------------------

    def sync_due(self, key: Key, now: float) -> bool:
        """The pool's sync is due (a pool seen for the first time: one interval on)."""
        return self._sync.setdefault(key, now + self.interval) <= now

    def sync_now(self, key: Key, now: float) -> None:
        """Something left a doubt: sync as soon as nothing of ours is in flight."""
        self._sync[key] = min(self._sync.get(key, now), now)

    def sync_at(self, key: Key, when: float) -> None:
        """Try the sync again at ``when`` (it failed, or the rate limiter refused it)."""
        self._sync[key] = when

    def synced(self, key: Key, now: float, in_progress: bool) -> None:
        self._unsynced.discard(key)
        self._sync[key] = now + (min(SOON, self.interval) if in_progress else self.interval)

    def rebuilt(self, key: Key, now: float) -> None:
        """A pool rebuilt after a restart: it waits for its first sync, due now."""
        self._unsynced.add(key)
        self._sync[key] = now

    def acting(self, key: Key) -> bool:
        """The pool may decide and act: it is not waiting for its first sync."""
        return key not in self._unsynced

    # --- rate-limit retries ---------------------------------------------------------------

    def held_back(self, key: Key, now: float) -> None:
        """The rate limiter refused one of the pool's calls (a sync or an operation): it
        meets the bucket before pools held back later (:meth:`in_turn`)."""
        self._held.setdefault(key, now)

    def served(self, key: Key) -> None:
        """The rate limiter let one of the pool's calls through: it queues anew."""
        self._held.pop(key, None)

    def in_turn(self, keys: Iterable[Key]) -> list[Key]:
        """Pools in the order they meet the bucket: those it held back, the longest held
        first, then the rest as given. (In one fixed order the first pools took every
        token: under a tight rate limit the last ones never synced.)"""
        listed = list(keys)
        if not self._held:
            return listed
        # the held ones alone are sorted: a step is not a sort of every pool of the cluster
        present = set(listed)
        first = [key for key in sorted(self._held, key=self._held.__getitem__) if key in present]
        return first + [key for key in listed if key not in self._held]

    def wake_at(self, key: Key, when: float) -> None:
        self._wake[key] = min(self._wake.get(key, math.inf), when)

    def woken(self, key: Key, now: float) -> bool:
        return self._wake.get(key, math.inf) <= now

    def woke(self, key: Key) -> None:
        self._wake.pop(key, None)

    # --- for the driver ------------------------------------------------------------------

    def next_after(self, now: float, also: Iterable[float] = ()) -> float:
        """The earliest scheduled time after ``now`` (``also`` adds other timers)."""
        later = (t for t in (*self._sync.values(), *self._wake.values(), *also) if t > now)
        return min(later, default=math.inf)

    def forget(self, key: Key) -> None:
        self._held.pop(key, None)
        self._sync.pop(key, None)
        self._wake.pop(key, None)
        self._unsynced.discard(key)
