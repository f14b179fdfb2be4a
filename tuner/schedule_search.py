"""``recommend --schedule``: per node, targets by UTC hour of day, checked on held-back
days, with the all-day pair of :mod:`tuner.analysis` as fallback (docs/contracts/schedules.md).

1. Nodes whose all-day pair comes from their own history, with a day or more of it,
   get an hour table (:mod:`tuner.hour_table`: a ladder of all-day pairs replayed and
   counted per hour cell, at most 14 days), a chunk of nodes at a time.
2. For each aim (a multiple of the objective; beyond it only for nodes with a
   recurring burst; a node whose other hours differ by chance alone estimates them all
   from its background) a schedule is fitted
   (:mod:`tuner.schedule_fit`) on all days but the last quarter, and replayed in place
   with the schedule over the whole history (hours of day stay true), counting the
   held-back days; one more is fitted on all days.
3. The aim is chosen over all nodes (:mod:`tuner.schedule_check`): the held-back days'
   cold starts stay under max(a margin of the cold-start budget, the all-day pairs'),
   with the least idle (with
   explicit costs: the least checked cost).
4. Do no harm, per node (:mod:`tuner.schedule_check`); a history of fewer than three
   days is fitted without held-back days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from pool_engine.config import Targets
from pool_engine.policy import UNLIMITED
from pool_engine.replay import NodeTargets, Run, SimulationSettings, replay
from pool_engine.warm_schedule import HOUR, HOURS, WarmSchedule
from tuner import schedule_in_force as in_force
from tuner.history import History
from tuner.hour_table import build, ladder
from tuner.objective import AnalysisSettings
from tuner.recommendation import Expected, Recommendation
from tuner.recurrence import follows_hour_of_day, recurrence
from tuner.schedule_advice import ScheduleAdvice, ScheduleStatus
from tuner.schedule_check import (
    AIMS,
    Node,
    choose_aim,
    constant,
    flat_reason,
    held_reason,
    usable_aim,
    verdict,
)
from tuner.schedule_fit import FitSettings, fit
from tuner.search import demand_bound, idle_before_first

MIN_HOURS = 24.0
"""Hours of a node's own history a schedule needs."""
POOLED = 1e6
"""Days of weight of the background for a node whose other hours differ by chance."""
MIN_CHECKED_DAYS = 3
"""Days of history from which the last quarter is held back to check a schedule."""


def search(
    history: History,
    settings: AnalysisSettings,
    recs: Sequence[Recommendation],
    fit_settings: FitSettings | None = None,
) -> list[ScheduleAdvice]:
    """One :class:`ScheduleAdvice` per recommendation (same order). A node whose schedule
    in force no all-day pair beats is fitted around the best pair of its history, and
    keeps that schedule unless the fit does better than it (:mod:`tuner.schedule_in_force`)."""
    fit_settings = fit_settings or FitSettings()
    given = list(recs)
    recs = [in_force.around_best(rec) for rec in recs]
    hours = history.node_hours()
    sim = SimulationSettings(NodeTargets(Targets(0, 0)), settings.quick_release,
                             settings.bind_latency, settings.release_interval)  # fmt: skip
    by_node = {name: k for k, name in enumerate(history.nodes)}
    nodes: list[Node] = []
    out: dict[int, ScheduleAdvice] = {}
    for j, rec in enumerate(recs):
        k = by_node[rec.node]
        if rec.recommended.schedule is not None:  # kept, with no pair of its own to fit around
            out[j] = in_force.kept(rec, rec.reason)
        elif rec.after is None:
            out[j] = constant(rec, ScheduleStatus.NOT_SEARCHED,
                               "no all-day pair of its own history to schedule around")  # fmt: skip
        elif hours[k] < MIN_HOURS:
            has = math.floor(hours[k] * 10) / 10  # 23.99 h is not "24.0 h"
            out[j] = constant(rec, ScheduleStatus.SHORT,
                               f"a schedule needs {MIN_HOURS:g} h of the node's history, "
                               f"it has {has:.1f} h: the all-day pair")  # fmt: skip
        else:
            nodes.append(Node(k, rec.recommended.with_max_slots(_cap(rec, settings))))
    order = [j for j in range(len(recs)) if j not in out]
    if nodes:
        _tables(history, settings, fit_settings, nodes, sim)
        _check(history, nodes, sim)
        aim = choose_aim(nodes, settings)
        verdicts = _final(history, nodes, aim, settings, sim, [recs[j] for j in order])
        out.update(zip(order, verdicts, strict=True))
    return [in_force.against_kept(rec, out[j], settings) for j, rec in enumerate(given)]


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
        node.follows = follows_hour_of_day(table.starts, table.seen)
        bursts = np.zeros(HOURS, dtype=bool)
        bursts[[h for h, *_ in node.recurring]] = True
        node_fit = fit_settings
        if node.recurring and follows_hour_of_day(table.starts[:, ~bursts],
                                                  table.seen[:, ~bursts]) is False:  # fmt: skip
            # beside its recurring bursts the node's hours differ by chance alone: what
            # an hour saw in the history says nothing of its own, its background all
            node_fit = replace(fit_settings, pseudo_days=POOLED)
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
            if not node.daily:  # its hours differ by chance alone: the all-day pair (flat_reason)
                node.checks.append(None)
                node.finals.append(None)
                continue
            if aim > 1.0 and not node.recurring:
                # beyond the objective only for a recurring burst (schedule_check.usable_aim)
                node.checks.append(None)
                node.finals.append(None)
                continue
            check = (
                fit(table, train, aim * rate, lead, bursts, node_fit)
                if node.held is not None
                else None
            )
            node.checks.append(None if check is None or check.constant() else check.schedule(table))
            final = fit(table, rows, aim * rate, lead, bursts, node_fit)
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
    out: dict[int, ScheduleAdvice] = {}
    for j, (node, rec) in enumerate(zip(nodes, recs, strict=True)):
        used = usable_aim(node, a, settings)
        final = None if used is None else node.finals[used]
        if final is not None:
            kept.append((node, *final))
        elif all(f is None for f in node.finals):
            out[j] = constant(rec, ScheduleStatus.ALL_DAY, flat_reason(node), node.weekly)
        else:
            out[j] = constant(rec, ScheduleStatus.HELD, held_reason(node, a), node.weekly)
    runs = [_run(history, node, schedule) for node, schedule, _ in kept]
    totals: list[Expected] = []
    for lo in range(0, len(runs), CHUNK):
        totals += _expected(history, runs[lo : lo + CHUNK], sim)
    index = {id(node): j for j, node in enumerate(nodes)}
    for (node, schedule, lead), expected in zip(kept, totals, strict=True):
        j = index[id(node)]
        rec = recs[j]
        out[j] = verdict(rec, node, schedule, lead, expected, settings)
    return [out[j] for j in range(len(nodes))]


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
