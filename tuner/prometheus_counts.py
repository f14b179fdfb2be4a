"""Per-step counts read from Prometheus, shaped as a :class:`History` (no I/O: the
queries are :mod:`tuner.prometheus_reads`').

Stops go at the end of the step they fell in, starts where the exporter's burst counts
place them (:mod:`tuner.within_step`; without them at the step's end); at one instant
starts come before stops. Each node spans its own first to last sample.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from pool_engine.errors import HistoryUnavailable
from pool_engine.events import START, STOP
from pool_engine.trace import Trace
from tuner.history import History, NodeFacts, first_row_times
from tuner.within_step import StepCounts, node_start_times

log = logging.getLogger(__name__)
MAX_EVENTS = 200_000_000
"""Pod starts and stops a history may hold (a week of 1,000 busy nodes is ~20 M)."""
Points = dict[str, list[tuple[float, float]]]


@dataclass(frozen=True)
class Seen:
    """What the state queries answered, per node."""

    first: dict[str, float]
    last: dict[str, float]
    facts: dict[str, NodeFacts]
    bind_latency: float | None
    pace: float = 1.0
    """Seconds of the cluster's engine per second of the samples' clock."""


def with_state(history: History, seen: Seen, t0: float, window_seconds: float,
               step_s: int, pool: str = "") -> History:  # fmt: skip
    """Each node's own span (first to last sample), its exporter's facts, the latency
    (a window longer than the data is said naming ``pool``, where given).

    A node the first/last-sample subqueries missed (its samples all fall between their
    evaluations: data younger than the resolution, e.g. 40 min of a 7-day window) is
    spanned from what the range queries saw of it (the window's start when it had pods
    there, else its first step with churn) to the end of the data, as a trace's node
    is: never the whole window."""
    nodes = history.nodes
    trace = history.trace
    from_rows = np.where(history.existing > 0, 0.0, first_row_times(trace))
    first = np.array([seen.first[n] - t0 if n in seen.first else from_rows[k]
                      for k, n in enumerate(nodes)])  # fmt: skip
    first = np.clip(first, 0.0, None)
    last = np.array([seen.last.get(n, t0 + trace.end) - t0 for n in nodes])
    last = np.maximum(last, first)
    span = float((last - first).max()) if nodes else 0.0
    if span < window_seconds - 2 * step_s:
        log.warning(f"warning: the window asks for {window_seconds / 3600:.1f} h of history; "
                    f"the data holds at most {span / 3600:.1f} h of any "
                    f"{pool + ' ' if pool else ''}node")  # fmt: skip
    facts = {n: seen.facts[n] for n in nodes if n in seen.facts}
    return History(history.trace, history.existing, first, last, facts, seen.bind_latency,
                   seen.pace)  # fmt: skip


@dataclass(frozen=True)
class Bunching:
    """The burst and pair counts by node, and since when each node's exporter counts
    bursts."""

    bursts: Points
    pairs: Points
    since: dict[str, float]

    def of(self, node: str) -> StepCounts | None:
        """The node's counts (None: its exporter counts no bursts)."""
        since = self.since.get(node)
        if since is None:
            return None
        return StepCounts(dict(self.bursts.get(node, [])), dict(self.pairs.get(node, [])), since)


def first_points(series: Points, step_s: int) -> dict[str, float]:
    """Per node, the start of its first step with a burst: the first start its exporter
    counted began one, so its counted steps begin there."""
    return {node: min(t for t, _ in points) - step_s for node, points in series.items() if points}


def stops_from_counts(starts: dict[str, list[tuple[float, float]]],
                      pods: dict[str, list[tuple[float, float]]], pods_now: dict[str, int],
                      step_s: int) -> tuple[Points, dict[str, int]]:  # fmt: skip
    """kube-state-metrics: stops in a step = starts - (pods after - pods before); and
    the existing pods of each node without a count at the window's start: those of its
    first count that did not start in that step (they started before its first
    sample, in no step, as for the exporter's :func:`tuner.prometheus_reads.arrived`)."""
    out: Points = {}
    arrived: dict[str, int] = {}
    for node, points in pods.items():
        started = dict(starts.get(node, []))
        points = sorted(points)
        if node in pods_now or not points:
            before = pods_now.get(node, 0)
        else:
            t, count = points[0]
            before = arrived[node] = max(0, int(count) - round(started.get(t, 0.0)))
        stops = []
        for t, count in points:
            n = started.get(t, 0.0) - (count - before)
            if n > 0:
                stops.append((t, n))
            before = int(count)
        if stops or any(count > 0 for _, count in points):  # never any: no pool here
            out[node] = stops
    return out, arrived


def counts_history(starts: dict[str, list[tuple[float, float]]],
             stops: dict[str, list[tuple[float, float]]], existing: dict[str, int],
             t0: float, t1: float, origin: datetime, also: set[str] | None = None,
             bunching: Bunching | None = None, step_s: int = 0) -> History:  # fmt: skip
    """The churn as a trace, a node for every node with churn or pods (and ``also``);
    starts placed in their step by ``bunching`` (:mod:`tuner.within_step`; None: at the
    step's end), stops at the step's end."""
    held = {n for n, c in existing.items() if c > 0}
    nodes = sorted((set(starts) | set(stops) | held | (also or set())) - {""})
    total = sum(round(n) for points in (*starts.values(), *stops.values()) for _, n in points)
    if total > MAX_EVENTS:
        raise HistoryUnavailable(
            f"cannot read history: {total:,} pod starts and stops in the window, "
            f"more than {MAX_EVENTS:,}: use a shorter window"
        )
    times: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    offsets = [0]
    for node in nodes:
        rows: list[tuple[float, int, int]] = []  # (time, order, kind): starts before stops
        counts = bunching.of(node) if bunching is not None else None
        for t, count in node_start_times(sorted(starts.get(node, [])), step_s, counts):
            rows.extend([(t - t0, 0, START)] * count)
        for t, n in stops.get(node, []):
            rows.extend([(t - t0, 1, STOP)] * round(n))
        rows.sort()
        times.append(np.array([r[0] for r in rows], dtype=np.float64))
        kinds.append(np.array([r[2] for r in rows], dtype=np.int8))
        offsets.append(offsets[-1] + len(rows))
    all_times = np.concatenate(times) if times else np.zeros(0)
    # As for a trace file, the history ends at its last event.
    end = float(all_times.max()) if all_times.size else t1 - t0
    trace = Trace(
        nodes,
        all_times,
        np.concatenate(kinds) if kinds else np.zeros(0, np.int8),
        np.array(offsets, dtype=np.int64),
        end,
        origin,
    )
    return History(trace, np.array([existing.get(n, 0) for n in nodes], dtype=np.int64))
