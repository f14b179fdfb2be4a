"""Time-of-day schedules as the exporter reads them from NEC objects.

A NEC may carry, per mode, a schedule of warm targets by UTC hour of day
(``eni-pool.io/warm-schedule``, ``eni-pool.io/direct-eni-warm-schedule``;
docs/contracts/annotations.md). With the simulated provider our engine follows it
itself: the pair of the hour in force replaces the NEC's pair while the schedule is
valid, and at each hour boundary where it changes the new pair runs as a change of
targets (R7). An invalid schedule is refused like any NEC value: whatever was in force
stays (the previous schedule, if there was one, else the pair), with a log line, an
Event and ``eni_pool_config_rejections_total{reason="invalid_schedule"}``. In
tke-observe nothing is applied (``eni-tuner switch`` writes the pairs TKE's agent
reads); either way the block in force is published for the dashboards.

Engine time ``now`` is seconds from the loop's start; ``offset`` says how far past
00:00 UTC that start lay (:func:`pool_engine.warm_schedule.day_offset`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from kube_adapter.nec import parse_schedule
from pool_engine.config import Mode, Refusal, Targets
from pool_engine.warm_schedule import Block, WarmSchedule, hour_of_day, next_hour_start

Key = tuple[str, Mode]


@dataclass(frozen=True)
class InForce:
    """What a pool's schedule says now: the block and its pair."""

    block: Block

    @property
    def targets(self) -> Targets:
        return self.block.targets


class Timetable:
    """The valid schedule of each pool that has one, and when the next hour starts."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset
        self._schedules: dict[Key, WarmSchedule] = {}
        self._next_hour = -1.0

    def read(self, key: Key, annotations: Mapping[str, str]) -> Refusal | None:
        """Take the pool's schedule from its NEC's schedule annotations: a valid one
        replaces what was kept, an absent one removes it, an invalid one is refused
        (returned) and what was kept stays."""
        parsed = parse_schedule(annotations, key[1])
        if isinstance(parsed, Refusal):
            return parsed
        if parsed is None:
            self._schedules.pop(key, None)
        else:
            self._schedules[key] = parsed
        return None

    def forget(self, node: str) -> None:
        for key in [k for k in self._schedules if k[0] == node]:
            del self._schedules[key]

    def in_force(self, key: Key, now: float) -> InForce | None:
        """The block of the pool's schedule covering ``now``; None without a schedule."""
        schedule = self._schedules.get(key)
        if schedule is None:
            return None
        hour = hour_of_day(now, self.offset)
        return InForce(next(b for b in schedule.blocks() if hour in b.hours()))

    def hour_began(self, now: float) -> bool:
        """True once per hour boundary passed (and at the first call)."""
        if now < self._next_hour:
            return False
        self._next_hour = next_hour_start(now, self.offset)
        return True

    def __iter__(self) -> Iterator[Key]:
        return iter(list(self._schedules))
