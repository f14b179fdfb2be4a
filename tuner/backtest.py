"""Replay history under the current and the recommended targets, hour by hour.

The same compiled replay as everywhere (:func:`pool_engine.simulator.replay`), with
its timeline integrated into hourly idle slots and its buckets counting cold starts
per hour, for the whole cluster and for the nodes that waste the most today.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from pool_engine.simulator import NodeTargets, Run, SimulationSettings, replay
from tuner.history import History
from tuner.search import idle_before_first

HOUR = 3600.0


@dataclass(frozen=True)
class Series:
    """Hourly idle slots (average) and cold starts, for one set of targets."""

    idle: np.ndarray
    cold: np.ndarray


@dataclass(frozen=True)
class Backtest:
    hours: np.ndarray
    """Start of each hour, hours from the history's start."""
    current: Series
    recommended: Series
    worst: dict[str, tuple[Series, Series]]
    """Nodes with the most idle slot-seconds under the current targets."""
    totals: dict[str, dict[str, float]]
    """``current``/``recommended`` (and ``schedule``) -> pod_starts, cold_starts,
    cold_start_rate, idle_slot_hours."""
    schedule: Series | None = None
    """With ``backtest --schedule``: the recommended schedules (the all-day pair where a
    node has none), hour by hour."""


def run(
    history: History,
    sim: SimulationSettings,
    current: Mapping[str, NodeTargets],
    recommended: Mapping[str, NodeTargets],
    default: NodeTargets,
    worst: int = 3,
    scheduled: Mapping[str, NodeTargets] | None = None,
) -> Backtest:
    """Replay every node under its current and recommended targets, and with
    ``scheduled`` under its schedule too (a node without one: its recommended pair)."""
    trace = history.trace
    n = len(trace.nodes)
    runs = [
        Run(k, current.get(name, default), int(history.existing[k]))
        for k, name in enumerate(trace.nodes)
    ]
    runs += [
        Run(k, recommended.get(name, current.get(name, default)), int(history.existing[k]))
        for k, name in enumerate(trace.nodes)
    ]
    if scheduled is not None:
        runs += [
            Run(k, scheduled.get(name, runs[n + k].targets), int(history.existing[k]))
            for k, name in enumerate(trace.nodes)
        ]
    stats = replay(trace, runs, sim, timeline=True, bucket_seconds=HOUR)
    n_hours = stats.buckets.shape[1]
    idle = _hourly_idle(stats.timeline_t, stats.timeline_i, len(runs), n_hours, trace.end)
    cold = stats.buckets[:, :, 1].astype(np.float64)
    own = stats.per_run.idle_slot_seconds - idle_before_first(history, runs, sim)  # as recommend
    waste = own[:n]
    top = [int(k) for k in np.argsort(-waste)[:worst]]
    totals = {}
    sets = [("current", slice(0, n)), ("recommended", slice(n, 2 * n))]
    if scheduled is not None:
        sets.append(("schedule", slice(2 * n, 3 * n)))
    for name, rows in sets:
        starts = int(stats.per_run.pod_starts[rows].sum())
        colds = int(stats.per_run.cold_starts[rows].sum())
        totals[name] = {
            "pod_starts": starts,
            "cold_starts": colds,
            "cold_start_rate": colds / starts if starts else 0.0,
            "idle_slot_hours": float(own[rows].sum()) / HOUR,
        }
    return Backtest(
        hours=np.arange(n_hours, dtype=np.float64),
        current=Series(idle[:n].sum(axis=0), cold[:n].sum(axis=0)),
        recommended=Series(idle[n : 2 * n].sum(axis=0), cold[n : 2 * n].sum(axis=0)),
        worst={
            trace.nodes[k]: (Series(idle[k], cold[k]), Series(idle[n + k], cold[n + k]))
            for k in top
        },
        totals=totals,
        schedule=None
        if scheduled is None
        else Series(idle[2 * n :].sum(axis=0), cold[2 * n :].sum(axis=0)),
    )


def _hourly_idle(
    t: np.ndarray, rows: np.ndarray, n_runs: int, n_hours: int, end: float
) -> np.ndarray:
    """Average idle slots per run and hour, from the timeline's step function."""
    out = np.zeros((n_runs, n_hours))
    edges = np.arange(n_hours + 1) * HOUR
    for r in range(n_runs):
        mine = rows[:, 0] == r
        times = np.append(t[mine], end)
        idle = (rows[mine, 1] - rows[mine, 2]).astype(np.float64)
        # area under the step function up to each hour edge, by cumulative integration
        area = np.concatenate(([0.0], np.cumsum(idle * np.diff(times))))
        at_edges = np.interp(np.minimum(edges, end), times, area)
        out[r] = np.diff(at_edges) / HOUR
    return out
