"""Time-of-day warm targets: one pair of targets per UTC hour of day (docs/contracts/schedules.md).

A :class:`WarmSchedule` is 24 pairs, hour 0 to hour 23. It is written as *blocks*:
``from_hour`` inclusive (0–23), ``to_hour`` exclusive (1–24), wrapping past midnight
when ``from_hour > to_hour`` (22, 6 is 22:00–06:00; 0, 24 is all day). Blocks given by
a user must cover each of the 24 hours exactly once; :meth:`WarmSchedule.blocks`
gives back the fewest blocks (equal neighbours merged, across midnight too).

The hour of a replay time ``t`` (seconds from the trace's time 0) is
``floor(((t + offset) mod 86400) / 3600)``, where ``offset`` is how far past 00:00 UTC
time 0 lies: 0 for numeric traces, the UTC time of day of time 0 for RFC 3339 ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pool_engine.config import Targets

HOURS = 24
HOUR = 3600.0
DAY = 86400.0


class ScheduleProblem(ValueError):
    """Why some blocks are not a schedule; the caller adds the file, node and row."""

    def __init__(self, problem: str, index: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.index = index
        """Which of the given blocks is at fault (0-based), when one is."""


@dataclass(frozen=True)
class Block:
    """Targets in force from ``from_hour`` (inclusive) to ``to_hour`` (exclusive), UTC."""

    from_hour: int
    to_hour: int
    targets: Targets

    def hours(self) -> list[int]:
        """The hours of day this block covers, in order from ``from_hour``."""
        span = (self.to_hour - self.from_hour) % HOURS or HOURS
        return [(self.from_hour + k) % HOURS for k in range(span)]

    def to_json(self) -> dict[str, int]:
        return {
            "from_hour": self.from_hour,
            "to_hour": self.to_hour,
            "min_warm": self.targets.min_warm,
            "max_warm": self.targets.max_warm,
        }


@dataclass(frozen=True)
class WarmSchedule:
    """Targets for each UTC hour of day; ``hourly[h]`` is in force in hour ``h``."""

    hourly: tuple[Targets, ...]

    def __post_init__(self) -> None:
        if len(self.hourly) != HOURS:
            raise ValueError(f"a schedule has {HOURS} hours, not {len(self.hourly)}")

    @classmethod
    def constant(cls, targets: Targets) -> WarmSchedule:
        """The same pair all day."""
        return cls((targets,) * HOURS)

    @classmethod
    def from_blocks(cls, blocks: Sequence[Block]) -> WarmSchedule:
        """Blocks covering each hour exactly once; :class:`ScheduleProblem` otherwise."""
        hourly: list[Targets | None] = [None] * HOURS
        owner: list[int] = [-1] * HOURS
        for index, block in enumerate(blocks):
            if not 0 <= block.from_hour <= HOURS - 1:
                raise ScheduleProblem(f"from_hour {block.from_hour} is not 0-23", index)
            if not 1 <= block.to_hour <= HOURS:
                raise ScheduleProblem(f"to_hour {block.to_hour} is not 1-24", index)
            if block.from_hour == block.to_hour:
                raise ScheduleProblem(
                    f"from_hour equals to_hour ({block.from_hour}): an empty block", index
                )
            if not 0 <= block.targets.min_warm <= block.targets.max_warm:
                raise ScheduleProblem(
                    f"min_warm {block.targets.min_warm} > max_warm {block.targets.max_warm}",
                    index,
                )
            for hour in block.hours():
                if hourly[hour] is not None:
                    raise ScheduleProblem(
                        f"hour {hour} is covered twice (also by block {owner[hour] + 1})", index
                    )
                hourly[hour] = block.targets
                owner[hour] = index
        missing = [h for h, t in enumerate(hourly) if t is None]
        if missing:
            raise ScheduleProblem(f"hours not covered: {_ranges(missing)}")
        return cls(tuple(t for t in hourly if t is not None))

    def at_hour(self, hour: int) -> Targets:
        return self.hourly[hour % HOURS]

    def at(self, t: float, offset: float = 0.0) -> Targets:
        """The targets in force at replay time ``t`` (see the module docstring)."""
        return self.hourly[hour_of_day(t, offset)]

    def is_constant(self) -> bool:
        return all(t == self.hourly[0] for t in self.hourly)

    def blocks(self) -> tuple[Block, ...]:
        """The fewest blocks: runs of equal hours, merged across midnight.

        A constant schedule is one block 0–24. Otherwise the blocks start at the first
        hour (from hour 0 on) whose pair differs from the hour before it.
        """
        if self.is_constant():
            return (Block(0, HOURS, self.hourly[0]),)
        starts = [h for h in range(HOURS) if self.hourly[h] != self.hourly[h - 1]]
        out = []
        for k, start in enumerate(starts):
            end = starts[(k + 1) % len(starts)]
            out.append(Block(start, end if end != 0 else HOURS, self.hourly[start]))
        return tuple(out)

    def boundaries(self) -> list[int]:
        """Hours at whose start the targets change (empty for a constant schedule)."""
        return [h for h in range(HOURS) if self.hourly[h] != self.hourly[h - 1]]

    def to_json(self) -> list[dict[str, int]]:
        return [block.to_json() for block in self.blocks()]

    def describe(self) -> str:
        """``0-6 2/4, 6-24 5/5``: the fewest blocks in a few characters (UTC hours)."""
        return ", ".join(
            f"{b.from_hour}-{b.to_hour} {b.targets.min_warm}/{b.targets.max_warm}"
            for b in self.blocks()
        )

    def dumps(self) -> str:
        """The compact JSON an annotation stores (``eni-pool.io/warm-schedule``)."""
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, value: Any) -> WarmSchedule:
        """Blocks as :meth:`to_json` writes them; :class:`ScheduleProblem` otherwise."""
        if not isinstance(value, list) or not value:
            raise ScheduleProblem("a schedule is a non-empty JSON list of blocks")
        blocks = []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise ScheduleProblem("a block is a JSON object", index)
            fields = {}
            for key in ("from_hour", "to_hour", "min_warm", "max_warm"):
                field = item.get(key)
                if isinstance(field, bool) or not isinstance(field, int):
                    raise ScheduleProblem(f"{key} must be an integer", index)
                fields[key] = field
            if fields["min_warm"] < 0:
                raise ScheduleProblem("min_warm must be >= 0", index)
            blocks.append(
                Block(
                    fields["from_hour"],
                    fields["to_hour"],
                    Targets(fields["min_warm"], fields["max_warm"]),
                )
            )
        return cls.from_blocks(blocks)

    @classmethod
    def loads(cls, text: str) -> WarmSchedule:
        """Parse :meth:`dumps`'s text; :class:`ScheduleProblem` on anything else."""
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            raise ScheduleProblem("not JSON") from None
        return cls.from_json(value)


def hour_of_day(t: float, offset: float = 0.0) -> int:
    """UTC hour of day (0–23) of replay time ``t`` whose time 0 lies ``offset`` s past midnight."""
    return math.floor(((t + offset) % DAY) / HOUR) % HOURS


def next_hour_start(t: float, offset: float = 0.0) -> float:
    """The first hour boundary strictly after replay time ``t``."""
    return (math.floor((t + offset) / HOUR) + 1) * HOUR - offset


def day_offset(origin_utc_seconds: float | None) -> float:
    """``offset`` for a trace whose time 0 is ``origin_utc_seconds`` after the epoch
    (None for numeric traces: time 0 is 00:00 UTC)."""
    return 0.0 if origin_utc_seconds is None else origin_utc_seconds % DAY


def _ranges(hours: Iterable[int]) -> str:
    spans: list[list[int]] = []
    for hour in hours:
        if spans and spans[-1][1] == hour:
            spans[-1][1] = hour + 1
        else:
            spans.append([hour, hour + 1])
    return ", ".join(f"{a}-{b}" for a, b in spans)
