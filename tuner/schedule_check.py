"""Do no harm for schedules (docs/contracts/schedules.md): what the search keeps of a
node, the aim chosen over all nodes on the held-back days, and each node's verdict.

A node keeps a schedule only if, on the held-back days, it idled less than the all-day
pair without more cold starts than max(the all-day pair's, objective) beyond chance
(the lower 95 % confidence bound of its count is above), at the chosen aim or, failing
that, at the next lower aim that did no harm; and if, replayed over the whole history,
it still idles less without such cold starts (a node without a recurring burst: no
more than the all-day pair's). Otherwise the all-day pair all day, with the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import gamma

from pool_engine.replay import NodeTargets
from pool_engine.warm_schedule import HOUR, WarmSchedule
from tuner.evidence import LEVEL
from tuner.objective import AnalysisSettings
from tuner.recommendation import Expected, Recommendation
from tuner.recurrence import explain_block
from tuner.schedule_advice import BlockNote, ScheduleAdvice, ScheduleStatus
from tuner.schedule_fit import FitSettings

AIMS = (0.25, 0.5, 0.8, 1.0, 1.25, 1.5)
"""Multiples of the objective a fitted schedule aims at on its days (beyond 1 only
for nodes with a recurring burst)."""
BUDGET = 1.5
"""Cold starts a schedule may spend over all nodes on the held-back days, times the
objective (issue 13's bar: 1.5 % at the default 1 %)."""
MARGIN = 0.85
"""Share of :data:`BUDGET` the chosen aim may use on the held-back days: what is kept
back for the days after them."""

log = logging.getLogger(__name__)


@dataclass
class Node:
    """What the search keeps of one node between its hour table and the verdict."""

    k: int
    fallback: NodeTargets
    """The all-day pair, with the node's max-attach."""
    checks: list[WarmSchedule | None] = field(default_factory=list)
    """Per aim, fitted without the held-back days (None: the all-day pair)."""
    finals: list[tuple[WarmSchedule, frozenset[int]] | None] = field(default_factory=list)
    """Per aim, fitted on all days, with the hours blocks were moved early into."""
    held: np.ndarray | None = None
    """(days, 24) the held-back cells (None: too short a history to hold any back)."""
    held_fallback: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """The all-day pair's (starts, cold, idle slot-seconds) on the held-back cells."""
    held_checks: list[tuple[float, float]] = field(default_factory=list)
    """Per aim, the check schedule's (cold, idle slot-seconds) on the held-back cells."""
    days: int = 0
    """Days of history fitted on."""
    first_day: int = 0
    recurring: list[tuple[int, int, int, bool]] = field(default_factory=list)
    """Recurring bursts: (hour, size, days with it, weekdays only)."""
    weekly: str | None = None
    follows: bool | None = None
    """Hours ranked alike from day to day beyond chance (None: too few whole days to
    tell)."""

    @property
    def daily(self) -> bool:
        """A recurring burst, or hours ranked alike beyond chance (too few whole days to
        test them is no evidence of either)."""
        return bool(self.recurring) or self.follows is True


def choose_aim(nodes: list[Node], settings: AnalysisSettings) -> int:
    """The aim whose checked schedules, over all nodes, keep the held-back cold starts
    under max(MARGIN x BUDGET x objective, the all-day pairs') with the least idle (with
    explicit costs: the least cost)."""
    objective = settings.objective
    starts = sum(n.held_fallback[0] for n in nodes)
    base_cold = sum(n.held_fallback[1] for n in nodes)
    best: tuple[float, float] | None = None
    pick = len(AIMS) // 2
    for a in range(len(AIMS)):
        cold = sum(_kept(n, a, settings)[0] for n in nodes)
        idle = sum(_kept(n, a, settings)[1] for n in nodes) / HOUR
        if objective.explicit_costs:
            score = (0.0, objective.cost(idle, cold))
        else:
            limit = max(MARGIN * BUDGET * objective.max_cold_start_rate * starts, base_cold)
            score = (0.0, idle) if cold <= limit + 1e-9 else (1.0, cold)
        if best is None or score < best:
            best, pick = score, a
    log.debug(f"schedule aim {AIMS[pick]:g} x objective")
    return pick


def _kept(node: Node, a: int, settings: AnalysisSettings) -> tuple[float, float]:
    """(cold, idle) on the held-back cells of what do-no-harm keeps at aim ``a``."""
    used = usable_aim(node, a, settings)
    if used is None:
        return node.held_fallback[1], node.held_fallback[2]
    return node.held_checks[used]


def usable_aim(node: Node, a: int, settings: AnalysisSettings) -> int | None:
    """The aim a node's schedule comes from at aim ``a``: ``a`` itself, else the next
    lower aim whose check did no harm (None: the all-day pair). A history too short
    to hold days back keeps ``a``. Aims beyond the objective are for nodes with a
    recurring burst: a node without one aims at the objective at most."""
    if not node.recurring:
        a = min(a, AIMS.index(1.0))
    if node.held is None:
        return a if node.finals[a] is not None else None
    for used in range(a, -1, -1):
        if node.finals[used] is None or node.checks[used] is None:
            continue
        if not harms(node, used, settings):
            return used
    return None


def harms(node: Node, a: int, settings: AnalysisSettings) -> bool:
    """The check schedule did worse than the all-day pair on the held-back days."""
    starts, f_cold, f_idle = node.held_fallback
    cold, idle = node.held_checks[a]
    objective = settings.objective
    if objective.explicit_costs:
        return objective.cost(idle / HOUR, cold) >= objective.cost(f_idle / HOUR, f_cold)
    # worse beyond chance: even the lower confidence bound of its cold starts is above
    allowed = max(f_cold, objective.max_cold_start_rate * starts)
    return idle >= f_idle or _beyond_chance(cold, allowed)


def _beyond_chance(cold: float, allowed: float) -> bool:
    """Even the lower confidence bound of ``cold`` (Poisson) is above ``allowed``."""
    low = float(gamma.ppf(1.0 - LEVEL, cold)) if cold > 0 else 0.0
    return low > allowed + 1e-9


def verdict(rec: Recommendation, node: Node, schedule: WarmSchedule, lead: frozenset[int],
             expected: Expected, settings: AnalysisSettings) -> ScheduleAdvice:  # fmt: skip
    """A kept schedule, unless over the whole history it saves nothing."""
    all_day = rec.after
    assert all_day is not None
    allowed = max(all_day.cold_starts, settings.objective.max_cold_start_rate * expected.pod_starts)
    worse = _beyond_chance(expected.cold_starts, allowed)
    if not node.recurring and expected.cold_starts > all_day.cold_starts:
        # No recurring burst: the hours rank alike from day to day (business hours, a
        # daily curve), but nothing says when the node's other bursts come; a schedule
        # that lowers an hour they missed in the history meets them there later. It may
        # only save idle, never trade cold starts for it.
        return constant(rec, ScheduleStatus.ALL_DAY,
                         "no recurring burst, and the schedule would trade cold starts for idle: "
                         "the all-day pair", node.weekly)  # fmt: skip
    if expected.idle_slot_seconds >= all_day.idle_slot_seconds or worse:
        return constant(rec, ScheduleStatus.HELD,
                         "replayed over the whole history the schedule saves nothing on the "
                         "all-day pair: the all-day pair", node.weekly)  # fmt: skip
    saved = 1.0 - expected.idle_slot_seconds / max(all_day.idle_slot_seconds, 1e-9)
    if expected.cold_starts > all_day.cold_starts and saved < FitSettings.min_saving:
        # more cold starts for next to no idle (a burst larger than any pair can hold)
        return constant(rec, ScheduleStatus.HELD,
                         f"replayed over the whole history the schedule saves {saved:.1%} of the "
                         f"all-day pair's idle for {expected.cold_starts - all_day.cold_starts} "
                         "more cold starts: the all-day pair", node.weekly)  # fmt: skip
    top = max(t.min_warm for t in schedule.hourly)
    notes = []
    for block in schedule.blocks():
        level = _level(block.targets.min_warm, rec.recommended.min_warm, top)
        notes.append(BlockNote(block.from_hour, block.to_hour,
                               explain_block(block.hours(), node.recurring, node.days, set(lead),
                                             level)))  # fmt: skip
    checked = (f"checked on {int(node.held.any(axis=1).sum())} held-back day(s)"
               if node.held is not None else "too short a history to hold days back")  # fmt: skip
    days = f"{node.days} day{'s' if node.days != 1 else ''}"
    reason = (f"{len(notes)} blocks fitted on {days}: {saved:.0%} less idle than the "
              f"all-day pair, cold starts {all_day.cold_rate:.2%} -> {expected.cold_rate:.2%}; "
              f"{checked}")  # fmt: skip
    return ScheduleAdvice(rec.node, ScheduleStatus.SCHEDULED, schedule, reason, tuple(notes),
                          node.weekly, expected, all_day, rec.before)  # fmt: skip


def _level(m: int, all_day: int, top: int) -> str:
    """What a block without a recurring burst is, by its min warm."""
    if m < all_day:
        return "quiet hours: below the all-day pair, as on most days of the history"
    return "the node's busiest hours" if m >= top else "steady hours"


def flat_reason(node: Node) -> str:
    if node.recurring:
        hours = ", ".join(f"{h:02d}:00" for h, *_ in node.recurring)
        return (f"recurring bursts at {hours}, but no block pays for itself against the "
                "all-day pair: the all-day pair")  # fmt: skip
    if node.follows:
        return ("its hours follow the time of day, but no block pays for itself against the "
                "all-day pair: the all-day pair")  # fmt: skip
    if node.follows is None:
        return ("no recurring burst, and under three whole days of history: too few to test "
                "for daily structure; the all-day pair")  # fmt: skip
    return f"no daily structure in {node.days} days of history: the all-day pair all day"


def held_reason(node: Node, a: int) -> str:
    if node.held is None or node.checks[a] is None:
        return "on the held-back days no schedule fitted without them did better: the all-day pair"
    _, f_cold, f_idle = node.held_fallback
    cold, idle = node.held_checks[a]
    return (f"held back: on the held-back days the schedule had {cold:.0f} cold starts and "
            f"{idle / HOUR:,.1f} idle slot-hours, the all-day pair {f_cold:.0f} and "
            f"{f_idle / HOUR:,.1f}: the all-day pair")  # fmt: skip


def constant(rec: Recommendation, status: ScheduleStatus, reason: str,
              weekly: str | None = None) -> ScheduleAdvice:  # fmt: skip
    """The all-day pair all day."""
    pair = rec.recommended.targets
    return ScheduleAdvice(rec.node, status, WarmSchedule.constant(pair), reason, (), weekly,
                          rec.after, rec.after, rec.before)  # fmt: skip
