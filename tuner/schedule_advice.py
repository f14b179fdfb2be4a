"""What ``recommend --schedule`` says about a node: its schedule, why, and what it
would have done next to the all-day pair and the current targets (forecast only:
nothing is applied by recommending)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from pool_engine.warm_schedule import WarmSchedule
from tuner.recommendation import Expected


class ScheduleStatus(enum.StrEnum):
    """How a node's schedule came about (``schedule_status`` of ``-o json``)."""

    SCHEDULED = "scheduled"
    """Blocks by hour of day that beat the all-day pair on held-back days."""
    ALL_DAY = "all_day"
    """No daily structure pays for a block: the all-day pair all day."""
    HELD = "held"
    """A schedule did worse than the all-day pair on held-back days: the all-day pair."""
    SHORT = "short_history"
    """Less than a day of the node's own history: the all-day pair."""
    NOT_SEARCHED = "not_searched"
    """The node has no pair of its own history (borrowed, too little history, capped)."""
    CURRENT = "current"
    """The targets in force are a schedule (a targets file's) that the analysis keeps (no
    all-day pair beats it on the history, or too little history to say) and that no
    schedule fitted around the best pair beats (:mod:`tuner.schedule_in_force`): that
    schedule."""


@dataclass(frozen=True)
class BlockNote:
    """Why one block of a schedule."""

    from_hour: int
    to_hour: int
    why: str

    def to_json(self) -> dict[str, Any]:
        return {"from_hour": self.from_hour, "to_hour": self.to_hour, "why": self.why}


@dataclass(frozen=True)
class ScheduleAdvice:
    """One node's schedule and its forecast-only comparison."""

    node: str
    status: ScheduleStatus
    schedule: WarmSchedule
    """The targets by UTC hour of day (the all-day pair all day unless ``scheduled``)."""
    reason: str
    """Why, in one line."""
    notes: tuple[BlockNote, ...] = ()
    """One per block of ``schedule.blocks()``, when scheduled."""
    weekly: str | None = None
    """Weekdays against weekends, when they differ (reported, not scheduled)."""
    expected: Expected | None = None
    """The schedule replayed in place over the whole history."""
    all_day: Expected | None = None
    """The all-day pair over the same history."""
    current: Expected | None = None
    """The targets in force over the same history."""

    def scheduled(self) -> bool:
        """Targets by hour of day to keep on the node: fitted, or the ones in force."""
        return self.status in (ScheduleStatus.SCHEDULED, ScheduleStatus.CURRENT)

    def to_json(self) -> dict[str, Any]:
        """The fields ``recommend --schedule -o json`` adds to a node."""
        return {
            "schedule": self.schedule.to_json(),
            "schedule_status": self.status.value,
            "schedule_reason": self.reason,
            "schedule_blocks": [note.to_json() for note in self.notes],
            "weekly": self.weekly,
            "forecast": {
                "schedule": None if self.expected is None else self.expected.to_json(),
                "all_day": None if self.all_day is None else self.all_day.to_json(),
                "current": None if self.current is None else self.current.to_json(),
            },
        }
