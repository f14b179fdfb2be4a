"""``recommend --schedule``: per node, targets by UTC hour of day, checked on held-back
days, with the all-day pair of :mod:`tuner.analysis` as fallback (docs/contracts/schedules.md).

1. Nodes whose all-day pair comes from their own history, with a day or more of it,
   get an hour table (:mod:`tuner.hour_table`: a ladder of all-day pairs replayed and
   counted per hour cell, at most 14 days), a chunk of nodes at a time.
2. For each aim (a fraction of the objective) a schedule is fitted
   (:mod:`tuner.schedule_fit`) on all days but the last quarter, and replayed in place
   with the schedule over the whole history (hours of day stay true), counting the
   held-back days; one more is fitted on all days.
3. The aim is chosen over all nodes as the analysis chooses its own: the held-back
   days' cold starts stay under max(safety x objective, the all-day pairs'), with the
   least idle (with explicit costs, the price of a cold start is given: no aim).
4. Do no harm: a node keeps its schedule only if, on the held-back days, it idled less
   than the all-day pair without more cold starts than max(the all-day pair's,
   objective) beyond chance (the lower 95 % confidence bound of its count is above);
   and again replayed over the whole history.
   A history of fewer than three days is fitted without held-back days.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import gamma

from pool_engine.config import Targets
from pool_engine.policy import UNLIMITED
from pool_engine.simulator import NodeTargets, Run, SimulationSettings, replay
from pool_engine.warm_schedule import HOUR, HOURS, WarmSchedule
from tuner.evidence import LEVEL
from tuner.history import History
from tuner.hour_table import build, ladder
from tuner.objective import AnalysisSettings
from tuner.recommendation import Expected, Recommendation
from tuner.recurrence import explain_block, recurrence
from tuner.schedule_advice import BlockNote, ScheduleAdvice, ScheduleStatus
from tuner.schedule_fit import FitSettings, fit
from tuner.search import demand_bound, idle_before_first

AIMS = (0.25, 0.5, 0.8, 1.0)
"""Fractions of the objective a fitted schedule aims at on its days."""
MIN_HOURS = 24.0
"""Hours of a node's own history a schedule needs."""
MIN_CHECKED_DAYS = 3
"""Days of history from which the last quarter is held back to check a schedule."""

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


def search(
    history: History,
    settings: AnalysisSettings,
    recs: Sequence[Recommendation],
    fit_settings: FitSettings | None = None,
) -> list[ScheduleAdvice]:
    """One :class:`ScheduleAdvice` per recommendation (same order)."""
    fit_settings = fit_settings or FitSettings()
    hours = history.node_hours()
    sim = SimulationSettings(NodeTargets(Targets(0, 0)), settings.quick_release,
                             settings.bind_latency, settings.release_interval)  # fmt: skip
    by_node = {name: k for k, name in enumerate(history.nodes)}
    nodes: list[Node] = []
    out: dict[int, ScheduleAdvice] = {}
    for j, rec in enumerate(recs):
        k = by_node[rec.node]
        if rec.after is None:
            out[j] = _constant(rec, ScheduleStatus.NOT_SEARCHED,
                               "no all-day pair of its own history to schedule around")  # fmt: skip
        elif hours[k] < MIN_HOURS:
            out[j] = _constant(rec, ScheduleStatus.SHORT,
                               f"a schedule needs {MIN_HOURS:g} h of the node's history, "
                               f"it has {hours[k]:.1f} h: the all-day pair")  # fmt: skip
        else:
            nodes.append(Node(k, rec.recommended.with_max_slots(_cap(rec, settings))))
    order = [j for j in range(len(recs)) if j not in out]
    if nodes:
        _tables(history, settings, fit_settings, nodes, sim)
        _check(history, nodes, sim)
        aim = _aim(nodes, settings)
        verdicts = _final(history, nodes, aim, settings, sim, [recs[j] for j in order])
        out.update(zip(order, verdicts, strict=True))
    return [out[j] for j in range(len(recs))]


def _tables(history: History, settings: AnalysisSettings, fit_settings: FitSettings,
            nodes: list[Node], sim: SimulationSettings) -> None:  # fmt: skip
    """Hour tables a chunk at a time; per node the fits of every aim, kept small."""
    needs = demand_bound(history, settings.bind_latency)
    ladders, fallbacks = [], []
    caps = np.full(len(history.nodes), UNLIMITED, dtype=np.int64)
    for node in nodes:
        pair = (node.fallback.min_warm, node.fallback.max_warm)
        caps[node.k] = node.fallback.capacity()
        ladders.append(ladder(pair, int(needs[node.k]), settings.min_warm_floor,
                              int(caps[node.k]), settings.bands, settings.search_cap))  # fmt: skip
        fallbacks.append(pair)
    by_k = {node.k: node for node in nodes}
    rate = settings.objective.max_cold_start_rate
    for table in build(history, [n.k for n in nodes], ladders, fallbacks, caps, sim):
        node = by_k[table.node]
        rows = np.asarray(table.seen.any(axis=1), dtype=bool)
        days = np.nonzero(rows)[0]
        node.days, node.first_day = len(days), table.first_day
        rec = recurrence(history.trace, table.node, table.first_day, table.seen.shape[0],
                         settings.bind_latency)  # fmt: skip
        lead = rec.lead_need(table.seen)
        node.recurring = rec.recurring(table.seen)
        bursts = np.zeros(HOURS, dtype=bool)
        bursts[[h for h, *_ in node.recurring]] = True
        node.weekly = rec.weekly(table.starts, table.seen)
        train = rows.copy()
        if len(days) >= MIN_CHECKED_DAYS:
            held_days = days[-max(1, round(len(days) / 4)) :]
            train[held_days] = False
            held = np.zeros_like(table.seen)
            held[held_days] = table.seen[held_days]
            node.held = held
            fb = table.fallback
            node.held_fallback = (float(table.starts[held].sum()),
                                  float(table.cold[fb][held].sum()),
                                  float(table.idle[fb][held].sum()))  # fmt: skip
        for aim in AIMS:
            check = (
                fit(table, train, aim * rate, lead, bursts, fit_settings)
                if node.held is not None
                else None
            )
            node.checks.append(None if check is None or check.constant() else check.schedule(table))
            final = fit(table, rows, aim * rate, lead, bursts, fit_settings)
            node.finals.append(None if final is None or final.constant()
                               else (final.schedule(table), final.lead_hours))  # fmt: skip


def _check(history: History, nodes: list[Node], sim: SimulationSettings) -> None:
    """Replay every check schedule in place; count its held-back cells."""
    runs, where = [], []
    for node in nodes:
        node.held_checks = [(node.held_fallback[1], node.held_fallback[2])] * len(AIMS)
        for a, schedule in enumerate(node.checks):
            if schedule is not None and node.held is not None:
                runs.append(_run(history, node, schedule))
                where.append((node, a))
    for lo in range(0, len(runs), CHUNK):
        buckets = _hourly(history, runs[lo : lo + CHUNK], sim)
        for r, (node, a) in enumerate(where[lo : lo + CHUNK]):
            assert node.held is not None
            cells = _cells(buckets[r], node.first_day, node.held.shape[0])
            node.held_checks[a] = (float(cells[:, :, 1][node.held].sum()),
                                   float(cells[:, :, 2][node.held].sum()))  # fmt: skip


CHUNK = 2000
"""Scheduled runs replayed per batch."""


def _aim(nodes: list[Node], settings: AnalysisSettings) -> int:
    """The aim whose checked schedules, over all nodes, keep the held-back cold starts
    under max(safety x objective, the all-day pairs') with the least idle (with
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
            assert objective.idle_slot_hour_cost is not None
            assert objective.cold_start_cost is not None
            score = (0.0, idle * objective.idle_slot_hour_cost + cold * objective.cold_start_cost)
        else:
            limit = max(objective.max_cold_start_rate * starts, base_cold)
            score = (0.0, idle) if cold <= limit + 1e-9 else (1.0, cold)
        if best is None or score < best:
            best, pick = score, a
    log.debug(f"schedule aim {AIMS[pick]:g} x objective")
    return pick


def _kept(node: Node, a: int, settings: AnalysisSettings) -> tuple[float, float]:
    """(cold, idle) on the held-back cells of what do-no-harm keeps at aim ``a``."""
    used = _usable(node, a, settings)
    if used is None:
        return node.held_fallback[1], node.held_fallback[2]
    return node.held_checks[used]


def _usable(node: Node, a: int, settings: AnalysisSettings) -> int | None:
    """The aim a node's schedule comes from at aim ``a``: ``a`` itself, else the next
    lower aim whose check did no harm (None: the all-day pair). A history too short
    to hold days back keeps ``a``."""
    if node.held is None:
        return a if node.finals[a] is not None else None
    for used in range(a, -1, -1):
        if node.finals[used] is None or node.checks[used] is None:
            continue
        if not _harms(node, used, settings):
            return used
    return None


def _harms(node: Node, a: int, settings: AnalysisSettings) -> bool:
    """The check schedule did worse than the all-day pair on the held-back days."""
    starts, f_cold, f_idle = node.held_fallback
    cold, idle = node.held_checks[a]
    objective = settings.objective
    if objective.explicit_costs:
        assert objective.idle_slot_hour_cost is not None
        assert objective.cold_start_cost is not None
        cost = idle / HOUR * objective.idle_slot_hour_cost + cold * objective.cold_start_cost
        cost_f = f_idle / HOUR * objective.idle_slot_hour_cost + f_cold * objective.cold_start_cost
        return cost >= cost_f
    # worse beyond chance: even the lower confidence bound of its cold starts is above
    allowed = max(f_cold, objective.max_cold_start_rate * starts)
    return idle >= f_idle or _beyond_chance(cold, allowed)


def _beyond_chance(cold: float, allowed: float) -> bool:
    """Even the lower confidence bound of ``cold`` (Poisson) is above ``allowed``."""
    low = float(gamma.ppf(1.0 - LEVEL, cold)) if cold > 0 else 0.0
    return low > allowed + 1e-9


def _final(
    history: History,
    nodes: list[Node],
    a: int,
    settings: AnalysisSettings,
    sim: SimulationSettings,
    recs: list[Recommendation],
) -> list[ScheduleAdvice]:
    """Each node's verdict at aim ``a``; kept schedules replayed over the whole history."""
    kept: list[tuple[Node, WarmSchedule, frozenset[int]]] = []
    verdict: dict[int, ScheduleAdvice] = {}
    for j, (node, rec) in enumerate(zip(nodes, recs, strict=True)):
        used = _usable(node, a, settings)
        final = None if used is None else node.finals[used]
        if final is not None:
            kept.append((node, *final))
        elif all(f is None for f in node.finals):
            verdict[j] = _constant(rec, ScheduleStatus.ALL_DAY, _flat_reason(node), node.weekly)
        else:
            verdict[j] = _constant(rec, ScheduleStatus.HELD, _held_reason(node, a), node.weekly)
    runs = [_run(history, node, schedule) for node, schedule, _ in kept]
    totals: list[Expected] = []
    for lo in range(0, len(runs), CHUNK):
        totals += _expected(history, runs[lo : lo + CHUNK], sim)
    index = {id(node): j for j, node in enumerate(nodes)}
    for (node, schedule, lead), expected in zip(kept, totals, strict=True):
        j = index[id(node)]
        rec = recs[j]
        verdict[j] = _verdict(rec, node, schedule, lead, expected, settings)
    return [verdict[j] for j in range(len(nodes))]


def _verdict(rec: Recommendation, node: Node, schedule: WarmSchedule, lead: frozenset[int],
             expected: Expected, settings: AnalysisSettings) -> ScheduleAdvice:  # fmt: skip
    """A kept schedule, unless over the whole history it saves nothing."""
    all_day = rec.after
    assert all_day is not None
    allowed = max(all_day.cold_starts, settings.objective.max_cold_start_rate * expected.pod_starts)
    worse = _beyond_chance(expected.cold_starts, allowed)
    if expected.idle_slot_seconds >= all_day.idle_slot_seconds or worse:
        return _constant(rec, ScheduleStatus.HELD,
                         "replayed over the whole history the schedule saves nothing on the "
                         "all-day pair: the all-day pair", node.weekly)  # fmt: skip
    top = max(t.min_warm for t in schedule.hourly)
    notes = []
    for block in schedule.blocks():
        level = _level(block.targets.min_warm, rec.recommended.min_warm, top)
        notes.append(BlockNote(block.from_hour, block.to_hour,
                               explain_block(block.hours(), node.recurring, node.days, set(lead),
                                             level)))  # fmt: skip
    saved = 1.0 - expected.idle_slot_seconds / max(all_day.idle_slot_seconds, 1e-9)
    checked = (f"checked on {int(node.held.any(axis=1).sum())} held-back day(s)"
               if node.held is not None else "too short a history to hold days back")  # fmt: skip
    reason = (f"{len(notes)} blocks fitted on {node.days} days: {saved:.0%} less idle than the "
              f"all-day pair, cold starts {all_day.cold_rate:.2%} -> {expected.cold_rate:.2%}; "
              f"{checked}")  # fmt: skip
    return ScheduleAdvice(rec.node, ScheduleStatus.SCHEDULED, schedule, reason, tuple(notes),
                          node.weekly, expected, all_day, rec.before)  # fmt: skip


def _level(m: int, all_day: int, top: int) -> str:
    """What a block without a recurring burst is, by its min warm."""
    if m < all_day:
        return "quiet hours: below the all-day pair, as on most days of the history"
    return "the node's busiest hours" if m >= top else "steady hours"


def _flat_reason(node: Node) -> str:
    if node.recurring:
        hours = ", ".join(f"{h:02d}:00" for h, *_ in node.recurring)
        return (f"recurring bursts at {hours}, but no block pays for itself against the "
                "all-day pair: the all-day pair")  # fmt: skip
    return f"no daily structure in {node.days} days of history: the all-day pair all day"


def _held_reason(node: Node, a: int) -> str:
    if node.held is None or node.checks[a] is None:
        return "on the held-back days no schedule fitted without them did better: the all-day pair"
    _, f_cold, f_idle = node.held_fallback
    cold, idle = node.held_checks[a]
    return (f"held back: on the held-back days the schedule had {cold:.0f} cold starts and "
            f"{idle / HOUR:,.1f} idle slot-hours, the all-day pair {f_cold:.0f} and "
            f"{f_idle / HOUR:,.1f}: the all-day pair")  # fmt: skip


def _constant(rec: Recommendation, status: ScheduleStatus, reason: str,
              weekly: str | None = None) -> ScheduleAdvice:  # fmt: skip
    """The all-day pair all day."""
    pair = rec.recommended.targets
    return ScheduleAdvice(rec.node, status, WarmSchedule.constant(pair), reason, (), weekly,
                          rec.after, rec.after, rec.before)  # fmt: skip


def _cap(rec: Recommendation, settings: AnalysisSettings) -> int | None:
    """The node's max-attach: its targets', else the default."""
    if rec.current.max_slots is not None:
        return rec.current.max_slots
    return settings.default_max_slots


def _run(history: History, node: Node, schedule: WarmSchedule) -> Run:
    targets = NodeTargets.scheduled(schedule, node.fallback.max_slots)
    return Run(node.k, targets, int(history.existing[node.k]))


def _hourly(history: History, runs: list[Run], sim: SimulationSettings) -> np.ndarray:
    """(runs, buckets, 4) by UTC hour."""
    stats = replay(history.trace, runs, sim, bucket_seconds=HOUR,
                   bucket_offset=history.trace.day_offset())  # fmt: skip
    return stats.buckets


def _cells(buckets: np.ndarray, first_day: int, days: int) -> np.ndarray:
    """(days, 24, 4) one run's buckets from UTC day ``first_day`` on."""
    out = np.zeros((days * HOURS, buckets.shape[1]))
    part = buckets[first_day * HOURS : (first_day + days) * HOURS]
    out[: part.shape[0]] = part
    return out.reshape(days, HOURS, -1)


def _expected(history: History, runs: list[Run], sim: SimulationSettings) -> list[Expected]:
    """Each run over the whole history; idle from the node's first event on, as the
    analysis counts it (:func:`tuner.search.idle_before_first`)."""
    if not runs:
        return []
    stats = replay(history.trace, runs, sim)
    idle = stats.per_run.idle_slot_seconds - idle_before_first(history, runs, sim)
    hours = history.node_hours()
    return [
        Expected(int(stats.per_run.pod_starts[r]), int(stats.per_run.cold_starts[r]),
                 float(idle[r]), float(hours[run.node]))
        for r, run in enumerate(runs)
    ]  # fmt: skip
