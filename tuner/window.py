"""The time window of a Prometheus history: ``--start``, ``--end`` and ``--step``.

Times are RFC 3339 (a stamp without a zone is UTC) or relative to now: ``now``,
``-30s``, ``-15m``, ``-36h``, ``-7d``, ``-2w``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pool_engine.tracecheck import decimal, read_stamp

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
"""Seconds per unit of a relative time."""


@dataclass(frozen=True)
class Window:
    """Which history to pull, and at what resolution."""

    start: datetime
    """First instant of the history (its pods are the existing ones)."""
    end: datetime
    """Last instant asked for."""
    step: int
    """Resolution in seconds; stops are placed at the end of their step, starts by
    the exporter's burst counters (:mod:`tuner.within_step`)."""

    @classmethod
    def parse(cls, start: str, end: str, step: int, now: datetime) -> Window:
        """Both ends from their text; :class:`ValueError` names the bad one."""
        return cls(parse_window(start, now), parse_window(end, now), step)

    def bounds(self) -> tuple[float, float]:
        """Start and end as Unix timestamps."""
        return self.start.timestamp(), self.end.timestamp()


def parse_window(text: str, now: datetime) -> datetime:
    """RFC 3339 (``t``/``z`` in either case, a leap second as the next second), or
    relative to now: ``-7d``, ``-36h``, ``now``; else :class:`ValueError`."""
    text = text.strip()
    if text == "now":
        return now
    number = decimal(text[1:-1]) if text[1:2] not in ("", "+", "-") else None  # "--7d"
    if text.startswith("-") and text[-1:] in UNITS and number is not None:
        try:
            return datetime.fromtimestamp(now.timestamp() - number * UNITS[text[-1]], UTC)
        except (ValueError, OverflowError, OSError):  # not finite, or out of any calendar
            pass
    stamp = read_stamp(text)
    if stamp is None:
        raise ValueError(f"Invalid isoformat string: {text!r}")
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
