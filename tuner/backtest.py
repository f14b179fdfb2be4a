"""Replay history under the current and the recommended targets, hour by hour.

The same compiled replay as everywhere (:func:`pool_engine.replay.replay`), with
its timeline integrated into hourly idle slots and its buckets counting cold starts
per hour; the result (:mod:`tuner.backtest_result`) holds them per named set of
targets, for the cluster, per node, and for the nodes worth a panel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from pool_engine.errors import HistoryUnavailable
from pool_engine.replay import NodeTargets, Run, SimulationSettings, replay
from tuner.backtest_result import Backtest, NodeResult, Outcome, Panel, Series, choose_panels
from tuner.history import History
from tuner.search import idle_before_first

__all__ = ["HOUR", "MIN_HOURS", "Backtest", "hourly_idle", "require_an_hour", "run"]
"""``Backtest`` too, for callers that name the result by the module that makes it."""

HOUR = 3600.0
MIN_HOURS = 1.0
"""Less history than this cannot be compared hour by hour (docs/contracts/cli.md, exit 3)."""


def require_an_hour(history: History) -> None:
    """Refuse a history too short to compare hour by hour (exit 3): the longest span
    of any node's own data (from Prometheus a window may start long before it)."""
    hours = min(history.hours, float(history.node_hours().max(initial=0.0)))
    if hours < MIN_HOURS:
        seconds = hours * HOUR
        span = f"{seconds // 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"
        raise HistoryUnavailable(
            f"cannot backtest: the history spans {span}; a backtest needs at least {MIN_HOURS:g} h"
        )


def run(
    history: History,
    sim: SimulationSettings,
    current: Mapping[str, NodeTargets],
    recommended: Mapping[str, NodeTargets],
    default: NodeTargets,
    worst: int = 3,
    status: Mapping[str, str] | None = None,
    scheduled: Mapping[str, NodeTargets] | None = None,
) -> Backtest:
    """Replay every node under its current and its recommended targets (a node not in
    ``recommended`` keeps its current ones); ``worst`` panels of each kind. ``status``:
    each node's recommendation status, if the targets came from the analysis."""
    nodes = history.trace.nodes
    now = [current.get(node, default) for node in nodes]
    tested = [recommended.get(node, t) for node, t in zip(nodes, now, strict=True)]
    sets = {"current": now, "recommended": tested}
    if scheduled is not None:  # backtest --schedule: a node without one keeps its pair
        sets["schedule"] = [scheduled.get(node, t) for node, t in zip(nodes, tested, strict=True)]
    runs = [Run(k, t, int(history.existing[k])) for ts in sets.values() for k, t in enumerate(ts)]
    stats = replay(history.trace, runs, sim, timeline=True, bucket_seconds=HOUR)
    end = history.trace.end
    edges = np.append(np.arange(math.ceil(end / HOUR)) * HOUR, end)
    skipped = idle_before_first(history, runs, sim)  # as recommend: a late node from its start
    first = np.zeros(len(nodes)) if history.first is None else history.first
    starts = np.where(skipped > 0, first[[r.node for r in runs]], 0.0)
    shape = (len(sets), len(nodes))
    idle = hourly_idle(stats.timeline_t, stats.timeline_i, starts, edges).reshape((*shape, -1))
    hours = len(edges) - 1
    cold = stats.buckets[:, :hours, 1].astype(np.float64)
    # a row at exactly the end on a whole hour falls in a bucket past the last hour: count it there
    if hours:
        cold[:, hours - 1] += stats.buckets[:, hours:, 1].sum(axis=1)
    cold = cold.reshape((*shape, -1))
    own = (stats.per_run.idle_slot_seconds - skipped).reshape(shape) / HOUR
    pods = stats.per_run.pod_starts.reshape(shape)
    colds = stats.per_run.cold_starts.reshape(shape)

    def outcome(s: int, k: int | slice) -> Outcome:
        return Outcome(int(pods[s, k].sum()), int(colds[s, k].sum()), float(own[s, k].sum()))

    def series(k: int | slice) -> tuple[Series, ...]:
        return tuple(
            Series(name, np.atleast_2d(idle[s, k]).sum(axis=0),
                   np.atleast_2d(cold[s, k]).sum(axis=0))
            for s, name in enumerate(sets)
        )  # fmt: skip

    given = status or {}
    rows = [
        NodeResult(
            node,
            tuple(_pair(ts[k]) for ts in sets.values()),
            tuple(outcome(s, k) for s in range(len(sets))),
            given.get(node) or ("unchanged" if tested[k] == now[k] else "changed"),
        )
        for k, node in enumerate(nodes)
    ]
    index = {node: k for k, node in enumerate(nodes)}
    origin = history.trace.origin
    return Backtest(
        edges=edges / HOUR,
        cluster=series(slice(None)),
        outcomes=tuple(outcome(s, slice(None)) for s in range(len(sets))),
        nodes=tuple(sorted(rows, key=lambda r: (-r.idle_saved(), r.node))),
        panels=tuple(
            Panel(row, why, series(index[row.node])) for row, why in choose_panels(rows, worst)
        ),
        origin=None if origin is None else f"{origin:%Y-%m-%d %H:%M %z}",
    )


def hourly_idle(
    t: np.ndarray, rows: np.ndarray, starts: np.ndarray, edges: np.ndarray
) -> np.ndarray:
    """Average idle slots per run and hour from the timeline's step function, counted
    from each run's start (``starts[r]``: a late node's first sample) and averaged over
    the part of each hour inside the history."""
    n_runs, end = len(starts), float(edges[-1])
    out = np.zeros((n_runs, len(edges) - 1))
    order = np.argsort(rows[:, 0], kind="stable")  # by run, times ascending within one
    t, rows = t[order], rows[order]
    bounds = np.searchsorted(rows[:, 0], np.arange(n_runs + 1))
    width = np.diff(edges)
    for r in range(n_runs):
        lo, hi = bounds[r], bounds[r + 1]
        times = np.append(t[lo:hi], end)
        idle = (rows[lo:hi, 1] - rows[lo:hi, 2]).astype(np.float64)
        # area under the step function up to each hour edge, by cumulative integration
        area = np.concatenate(([0.0], np.cumsum(idle * np.diff(times))))
        at_edges = np.interp(np.clip(edges, starts[r], end), times, area)
        out[r] = np.diff(at_edges) / np.where(width > 0, width, 1.0)
    return out


def _pair(targets: NodeTargets) -> str:
    """``5/5``, or a schedule's blocks (``0-6 2/4, 6-24 5/5``)."""
    if targets.schedule is not None and not targets.schedule.is_constant():
        return targets.schedule.describe()
    return f"{targets.min_warm}/{targets.max_warm}"
