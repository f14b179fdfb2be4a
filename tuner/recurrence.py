"""What recurs in a node's day: bursts by UTC hour of day, and the week's shape.

A *burst* in an hour cell (one hour of one UTC day) is the most pod starts within
:data:`BURST_WINDOW` seconds in it. A burst *recurs* at an hour of day when a burst
well above the node's usual one (at least :data:`MIN_BURST` pods and twice the median
cell's) comes in that hour on at least half the days seen, more often than chance would
(:data:`CHANCE`). A node's pod starts *follow the hour of day* when its hours rank
alike from day to day beyond chance (:func:`follows_hour_of_day`). The *lead* of a cell is how
many pods start within the bind latency after the hour begins: what a block starting
on that hour cannot bind in time for. Weekly structure (weekdays against weekends,
days counted from the epoch for numeric traces: 1970-01-01 was a Thursday) is
reported, never scheduled: a schedule has one day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from scipy.stats import binom, friedmanchisquare

from pool_engine.events import START
from pool_engine.trace import Trace
from pool_engine.warm_schedule import HOUR, HOURS

BURST_WINDOW = 60.0
"""Seconds within which pod starts count as one burst."""
MIN_BURST = 3
"""Pods below which a burst is not worth naming."""
RECURS = 0.5
"""Share of the days seen on which a burst must come to recur."""
CHANCE = 1e-4
"""A burst recurs only if chance would put it at its hour on so many days less often
than this: the binomial tail, given how often the node's other hours see such a burst
(24 hours of many nodes are tested: a busy node's noise must not read as a routine)."""
DAILY_CHANCE = 1e-3
"""A node's pod starts follow the hour of day when a Friedman test (days as blocks,
hours as treatments) puts the chance of its hours' ranks agreeing so well across days
below this."""
MIN_TEST_DAYS = 3
"""Whole days below which the hour-of-day test is not run (no verdict)."""
WEEKLY_RATIO = 0.5
"""Weekend days with fewer pod starts than this share of the weekdays' (or the other
way round) make a weekly structure worth reporting."""


@dataclass(frozen=True)
class Recurrence:
    """One node's hour cells (rows as its :class:`tuner.hour_table.HourTable`)."""

    burst: np.ndarray
    """(days, 24) the most pod starts within :data:`BURST_WINDOW` in each cell."""
    lead: np.ndarray
    """(days, 24) pod starts within the bind latency after each hour begins."""
    weekday: np.ndarray
    """(days,) day of the week of each row (Monday 0)."""

    def _big(self, seen: np.ndarray) -> np.ndarray:
        """(days, 24) cells whose burst is well above the node's usual one."""
        usual = float(np.median(self.burst[seen])) if seen.any() else 0.0
        big: np.ndarray = (self.burst >= max(MIN_BURST, 2.0 * usual)) & seen
        return big

    def recurring(self, seen: np.ndarray) -> list[tuple[int, int, int, bool]]:
        """Hours with a recurring burst: (hour, typical size, days with it, weekdays
        only), over the ``seen`` cells."""
        big = self._big(seen)
        all_hits, all_days = int(big.sum()), int(seen.sum())
        out = []
        for h in range(HOURS):
            days = int(seen[:, h].sum())
            hits = int(big[:, h].sum())
            elsewhere = (all_hits - hits) / max(all_days - days, 1)  # such bursts' rate
            if (days and hits >= RECURS * days and hits >= 2
                    and binom.sf(hits - 1, days, elsewhere) < CHANCE):  # fmt: skip
                size = round(float(np.median(self.burst[big[:, h], h])))
                weekend_seen = seen[:, h] & (self.weekday >= 5)
                weekdays_only = bool(weekend_seen.any()) and not (big[:, h] & weekend_seen).any()
                out.append((h, size, hits, weekdays_only))
        return out

    def lead_need(self, seen: np.ndarray) -> np.ndarray:
        """(24,) per hour, the pods that start within the bind latency after it begins:
        at an hour with a recurring burst, the most on any day it came (a cron job fired
        on the hour beats the switch's binds on the days it does: a block starts early
        enough for every day seen); elsewhere on half the days."""
        out = np.zeros(HOURS, dtype=np.int64)
        big = self._big(seen)
        recurring = {h for h, *_ in self.recurring(seen)}
        for h in range(HOURS):
            days = seen[:, h] & big[:, h] if h in recurring else seen[:, h]
            values = np.sort(self.lead[days, h])
            if values.size:
                q = 1.0 if h in recurring else 0.5
                out[h] = int(values[min(values.size - 1, int(np.ceil(q * values.size)) - 1)])
        return out

    def weekly(self, starts: np.ndarray, seen: np.ndarray) -> str | None:
        """A sentence on weekdays against weekends, when they differ; None otherwise."""
        whole = seen.all(axis=1)
        weekend = self.weekday >= 5
        a, b = whole & ~weekend, whole & weekend
        if a.sum() < 2 or b.sum() < 1:
            return None
        on_weekdays = float(starts[a].sum(axis=1).mean())
        on_weekends = float(starts[b].sum(axis=1).mean())
        if min(on_weekdays, on_weekends) >= WEEKLY_RATIO * max(on_weekdays, on_weekends):
            return None
        busier = "weekdays" if on_weekdays > on_weekends else "weekends"
        return (f"weekly structure: {on_weekdays:,.0f} pod starts a weekday against "
                f"{on_weekends:,.0f} a weekend day; the schedule covers the {busier} "
                "(one schedule for every day)")  # fmt: skip


def follows_hour_of_day(starts: np.ndarray, seen: np.ndarray) -> bool | None:
    """Whether a node's pod starts per hour cell (``starts``, (days, 24)) rank the hours
    of the day alike from day to day beyond chance (:data:`DAILY_CHANCE`), over its
    whole days seen; None with fewer than :data:`MIN_TEST_DAYS` of them, or fewer than
    three hours (columns) to rank."""
    whole = starts[seen.all(axis=1)]
    if whole.shape[0] < MIN_TEST_DAYS or whole.shape[1] < 3:  # Friedman ranks 3 or more
        return None
    if not whole.any() or (whole == whole[:, :1]).all():  # every hour alike: no ranks
        return False
    p = friedmanchisquare(*whole.T).pvalue
    return bool(p < DAILY_CHANCE)


def recurrence(trace: Trace, k: int, first_day: int, days: int, latency: float) -> Recurrence:
    """Node ``k``'s cells from UTC day ``first_day`` on, ``days`` of them."""
    offset = trace.day_offset()
    times, kinds = trace.node_rows(k)
    starts = times[kinds == START]
    cell = np.floor((starts + offset) / HOUR).astype(np.int64) - first_day * HOURS
    inside = (cell >= 0) & (cell < days * HOURS)
    within = np.searchsorted(starts, starts + BURST_WINDOW, side="left") - np.arange(starts.size)
    burst = np.zeros(days * HOURS, dtype=np.int64)
    np.maximum.at(burst, cell[inside], within[inside])
    since = (starts + offset) - np.floor((starts + offset) / HOUR) * HOUR
    early = inside & (since < latency)
    lead = np.bincount(cell[early], minlength=days * HOURS)[: days * HOURS]
    return Recurrence(burst.reshape(days, HOURS), lead.reshape(days, HOURS),
                      weekdays(trace, first_day, days))  # fmt: skip


def weekdays(trace: Trace, first_day: int, days: int) -> np.ndarray:
    """Day of the week (Monday 0) of UTC days ``first_day`` on, counted from the day of
    time 0 (the epoch's, a Thursday, for numeric traces)."""
    epoch = datetime.fromtimestamp(0, UTC)
    origin = trace.origin.astimezone(UTC) if trace.origin is not None else epoch
    day0 = origin.date().weekday()
    out: np.ndarray = (day0 + first_day + np.arange(days)) % 7
    return out


def explain_block(hours: list[int], recurring: list[tuple[int, int, int, bool]], days: int,
                  lead_hours: set[int], level: str) -> str:  # fmt: skip
    """Why a block: the recurring bursts it covers, an early start, or what it is."""
    parts = []
    for h, size, hits, weekdays_only in recurring:
        if h in hours:
            only = " (weekdays only)" if weekdays_only else ""
            parts.append(f"{h:02d}:00-{(h + 1) % 24:02d}:00 UTC: a burst of ~{size} pods "
                         f"on {hits} of {days} days{only}")  # fmt: skip
    for h in sorted(lead_hours & set(hours)):
        parts.append(f"starts at {h:02d}:00 UTC, an hour early: the {(h + 1) % 24:02d}:00 "
                     "burst comes before its binds would")  # fmt: skip
    if not parts:
        parts.append(level)
    return "; ".join(parts)
