"""When scheduled targets switch, and hourly books, for the replay and the live engine.

A schedule's targets switch at an hour boundary whose pair differs from the hour
before (docs/contracts/schedules.md). Boundaries are counted as *hours since 00:00
UTC of the day of time 0*: hour ``k`` starts at replay time ``k * 3600 - offset``
(``offset``: how far past 00:00 UTC time 0 lies) and is hour of day ``k mod 24``.
The compiled kernel and the live engine both find the next switch from that count,
never from a time converted back to an hour, so they agree on every boundary to
the bit even when ``offset`` has a fraction.

:func:`close_buckets` books a step function's area into time buckets as they
close, for the replay's per-bucket idle slot-seconds. :class:`Follower` is the live
pool's place in a schedule.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from pool_engine.config import Targets
from pool_engine.warm_schedule import HOUR, HOURS, WarmSchedule


@njit(cache=True)
def hour_index(t: float, offset: float) -> int:
    """The hour count (see the module docstring) that replay time ``t`` falls in."""
    return math.floor((t + offset) / 3600.0)


@njit(cache=True)
def boundary_time(k: int, offset: float) -> float:
    """Replay time at which hour count ``k`` starts."""
    return k * 3600.0 - offset


@njit(cache=True)
def next_table_switch(hourly: np.ndarray, table: int, k: int) -> int:
    """The first hour count after ``k`` whose (min, max) in ``hourly[table]`` differs
    from the hour before it; -1 when the schedule is the same all day."""
    for j in range(k + 1, k + 25):
        h = j % 24
        p = (j - 1) % 24
        if hourly[table, h, 0] != hourly[table, p, 0] or hourly[table, h, 1] != hourly[table, p, 1]:
            return j
    return -1


def next_switch(schedule: WarmSchedule, k: int) -> int | None:
    """:func:`next_table_switch` of a :class:`WarmSchedule` (the live engine's form);
    None when the schedule is the same all day."""
    for j in range(k + 1, k + HOURS + 1):
        if schedule.at_hour(j) != schedule.at_hour(j - 1):
            return j
    return None


def switch_time(k: int, offset: float) -> float:
    """:func:`boundary_time` for Python callers (the same arithmetic)."""
    return k * HOUR - offset


@njit(cache=True)
def bucket_of(t: float, bucket_seconds: float, bucket_offset: float, n_buckets: int) -> int:
    """The bucket holding replay time ``t`` (the last bucket takes anything later)."""
    return min(n_buckets - 1, int((t + bucket_offset) / bucket_seconds))


@njit(cache=True)
def bucket_end(b: int, bucket_seconds: float, bucket_offset: float, n_buckets: int) -> float:
    """When bucket ``b`` ends (inf for the last: it takes anything later)."""
    if b >= n_buckets - 1:
        return math.inf
    return (b + 1) * bucket_seconds - bucket_offset


@njit(cache=True)
def close_buckets(
    buckets: np.ndarray,
    r: int,
    idle_before: float,
    level: int,
    t0: float,
    t1: float,
    mark: float,
    b: int,
    bucket_seconds: float,
    bucket_offset: float,
) -> tuple[float, int, float]:
    """Close the buckets that end within (t0, t1], where ``level`` idle slots held
    since ``t0`` and the run's idle slot-seconds were ``idle_before`` at ``t0``:
    each gets its idle slot-seconds (cumulative idle at its end minus ``mark``, the
    cumulative at its start). Returns the new (mark, open bucket, its end)."""
    n = buckets.shape[1]
    edge = bucket_end(b, bucket_seconds, bucket_offset, n)
    while t1 >= edge:
        at_edge = idle_before + level * max(0.0, edge - t0)
        buckets[r, b, 2] += at_edge - mark
        mark = at_edge
        b += 1
        edge = bucket_end(b, bucket_seconds, bucket_offset, n)
    return mark, b, edge


class Follower:
    """A live pool's place in a schedule: the pair in force and the next switch.

    Times are replay/engine times whose 0 lies ``offset`` seconds past 00:00 UTC (the
    live engine passes epoch seconds with ``offset`` 0). Boundaries come from the
    hour count, as in the kernel (see the module docstring).
    """

    def __init__(self, schedule: WarmSchedule, offset: float, now: float) -> None:
        self.schedule = schedule
        self.offset = offset
        self._hour = hour_index(now, offset)
        self._next = next_switch(schedule, self._hour)

    def targets(self) -> Targets:
        """The pair of the hour reached so far."""
        return self.schedule.at_hour(self._hour)

    def next_at(self) -> float:
        """When the targets next change (inf for a schedule with one pair all day)."""
        return math.inf if self._next is None else switch_time(self._next, self.offset)

    def due(self, now: float) -> bool:
        return now >= self.next_at()

    def advance(self, now: float) -> Targets:
        """Step to the hour of ``now`` (at least the due boundary's); its pair."""
        assert self._next is not None, "a schedule with one pair never switches"
        self._hour = max(self._next, hour_index(now, self.offset))
        self._next = next_switch(self.schedule, self._hour)
        return self.targets()
