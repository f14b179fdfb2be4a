"""Churn history for analysis: a trace, with pods present at its first instant set aside.

docs/contracts/trace.md: for analysis (not for ``simulate``), ``start`` rows at the trace's
first instant are pods that already existed when the history begins, not arrivals.
They become each node's initial holders, and the replays start from them.

Each node also has its own span of history (docs/contracts/simulation.md,
``history_hours``): from its first sample or event to the end of the data the source
holds for it. A trace holds every node to its last event; Prometheus holds a node to
its last sample. A node that joined late has a shorter history than the window.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from pool_engine.config import Mode
from pool_engine.errors import HistoryUnavailable
from pool_engine.events import START
from pool_engine.replay import SimulationSettings
from pool_engine.trace import Trace, load_trace, load_traces

TRACE_BIND_LATENCY = SimulationSettings().bind_latency
"""A trace carries no bind latency: it is analysed as ``simulate`` replays it, every
pool at the simulation contract's default (2 s; docs/contracts/simulation.md)."""


@dataclass(frozen=True)
class History:
    """Per node: arrivals and stops after the first instant, the pods already there,
    and the span of data the source holds for it."""

    trace: Trace
    existing: np.ndarray
    """Pods present at the first instant, per node (index as ``trace.nodes``)."""
    first: np.ndarray | None = None
    """Seconds (trace time) of each node's first sample or event; None: time 0."""
    last: np.ndarray | None = None
    """Seconds of the end of each node's data; None: the trace's end."""
    facts: dict[str, NodeFacts] = field(default_factory=dict)
    """What the source says about a node's pool beyond churn (Prometheus: the
    exporter's gauges); empty for a trace."""
    bind_latency: float | None = None
    """The source's bind latency: Prometheus: what the exporter's histogram measured
    (None: none); a trace: :data:`TRACE_BIND_LATENCY`."""
    pace: float = 1.0
    """Seconds of the cluster's engine per second of the history's clock: a simulated
    cluster's ``--speed`` (its metrics scraped by Prometheus at 60 simulated seconds per
    second), else 1. Its engine's bind latency and release interval are replayed at
    1/pace (:meth:`tuner.settings.ObjectiveSettings.analysis`)."""

    @property
    def nodes(self) -> list[str]:
        return self.trace.nodes

    @property
    def hours(self) -> float:
        """The whole history's length: time 0 to the trace's end."""
        return self.trace.end / 3600.0

    def node_hours(self) -> np.ndarray:
        """Hours of history of each node: its first sample or event to its data's end."""
        n = len(self.trace.nodes)
        first = np.zeros(n) if self.first is None else self.first
        last = np.full(n, self.trace.end) if self.last is None else self.last
        hours: np.ndarray = np.maximum(0.0, last - first) / 3600.0
        return hours

    def active(self) -> np.ndarray:
        """(nodes,) bool: the node had a pod of this pool: one already there or a row."""
        rows: np.ndarray = (np.diff(self.trace.offsets) > 0) | (self.existing > 0)
        return rows

    def only(self, keep: np.ndarray) -> History:
        """This history of the nodes ``keep`` (bool per node) marks."""
        t = self.trace
        index = np.nonzero(keep)[0]
        sizes = np.diff(t.offsets)
        rows = np.repeat(keep, sizes)
        offsets = np.concatenate(([0], np.cumsum(sizes[index]))).astype(np.int64)
        names = [t.nodes[k] for k in index]
        trace = replace(t, nodes=names, times=t.times[rows], kinds=t.kinds[rows], offsets=offsets)
        return replace(self, trace=trace, existing=self.existing[index],
                       first=None if self.first is None else self.first[index],
                       last=None if self.last is None else self.last[index],
                       facts={n: self.facts[n] for n in names if n in self.facts})  # fmt: skip

    def arrivals(self) -> np.ndarray:
        """Pod starts per node, existing pods excluded."""
        starts = np.concatenate(([0], np.cumsum(self.trace.kinds == START)))
        per_node: np.ndarray = starts[self.trace.offsets[1:]] - starts[self.trace.offsets[:-1]]
        return per_node


@dataclass(frozen=True)
class NodeFacts:
    """A node's pool as its exporter last published it."""

    min_warm: int | None = None
    """``eni_pool_min_warm_target``."""
    max_warm: int | None = None
    """``eni_pool_max_warm_target``."""
    max_slots: int | None = None
    """``eni_pool_max_attach_slots``."""
    mode: Mode | None = None
    """The ``mode`` label of those series."""


def from_trace(trace: Trace) -> History:
    """Split a trace into existing pods (start rows at its first instant) and the rest.

    Each node's history runs from its first row to the trace's last event. A numeric
    trace whose first row comes after 0 is re-based to start there, as an RFC 3339 trace
    does, its hours of day kept (:func:`rebased`)."""
    n = len(trace.nodes)
    if trace.events == 0:
        return History(
            trace, np.zeros(n, dtype=np.int64), np.zeros(n), bind_latency=TRACE_BIND_LATENCY
        )
    trace = rebased(trace)
    first_seen = first_row_times(trace)
    first = trace.first if trace.first is not None else float(trace.times.min())
    existing_row = (trace.times == first) & (trace.kinds == START)
    keep = ~existing_row
    node_of_row = np.repeat(np.arange(n), np.diff(trace.offsets))
    existing = np.bincount(node_of_row[existing_row], minlength=n)
    kept_per_node = np.bincount(node_of_row[keep], minlength=n)
    offsets = np.concatenate(([0], np.cumsum(kept_per_node))).astype(np.int64)
    rest = replace(trace, times=trace.times[keep], kinds=trace.kinds[keep], offsets=offsets,
                   first=None)  # fmt: skip
    return History(
        rest,
        existing.astype(np.int64),
        first_seen.astype(np.float64),
        bind_latency=TRACE_BIND_LATENCY,
    )


def first_row_times(trace: Trace) -> np.ndarray:
    """Each node's earliest row time; the trace's end for a node without rows."""
    if not trace.events:
        return np.full(len(trace.nodes), trace.end)
    first_rows = np.minimum(trace.offsets[:-1], trace.events - 1)
    times: np.ndarray = np.where(np.diff(trace.offsets) > 0, trace.times[first_rows], trace.end)
    return times


def rebased(trace: Trace) -> Trace:
    """A numeric trace (seconds from 00:00 UTC of day 0) whose first row comes at T > 0
    as the same history told from T: times less T and an origin at T past the epoch, so
    hours of day, the rounds' grid and the folds of the history are those of the same
    rows in RFC 3339 (whose time 0 is the earliest row); nothing before T is analysed."""
    first = trace.first if trace.first is not None else float(trace.times.min())
    if trace.origin is not None or first <= 0:
        return trace
    origin = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=first)
    return replace(trace, times=trace.times - first, end=trace.end - first, origin=origin,
                   first=0.0)  # fmt: skip


def load_pools(path: str | Path) -> Iterator[tuple[Mode, History]]:
    """Each pool the trace file has rows of, route-eni first, read when its turn comes
    (what ``recommend --trace`` without ``--mode`` analyses); a pipe is read once."""
    with closing(load_traces(path, [Mode.ROUTE_ENI.value, Mode.DIRECT_ENI.value])) as traces:
        route = next(traces)
        others = route.other_mode_rows
        if route.nodes:
            yield Mode.ROUTE_ENI, from_trace(route)
        del route
        if others:
            yield Mode.DIRECT_ENI, from_trace(next(traces))


def load_history(path: str | Path, mode: Mode | None = None) -> History:
    """A trace file's history; with ``mode``, of that pool's rows only (the ``mode``
    column, absent or empty: route-eni). :class:`HistoryUnavailable` when the file has
    no row of that pool."""
    trace = load_trace(path, None if mode is None else mode.value)
    if mode is not None and not trace.nodes:
        other = next(m for m in Mode if m is not mode)
        hint = (f" (its rows are {other.value}: --mode {other.value})"
                if trace.other_mode_rows else "")  # fmt: skip
        raise HistoryUnavailable(f"cannot read history: {path}: no {mode.value} rows{hint}")
    return from_trace(trace)
