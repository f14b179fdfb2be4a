"""Replay history under the current and the recommended targets, hour by hour.

The same compiled replay as everywhere (:func:`pool_engine.simulator.replay`), with
its timeline integrated into hourly idle slots and its buckets counting cold starts
per hour. The result holds a list of named series (``current`` first, the baseline,
then each set of targets tested against it), so a report draws however many there
are: per set, the cluster's hourly series and totals, and per node its targets, its
totals and, for the nodes worth a panel, its hourly series.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pool_engine.errors import HistoryUnavailable
from pool_engine.simulator import NodeTargets, Run, SimulationSettings, replay
from tuner.history import History
from tuner.search import idle_before_first

HOUR = 3600.0
MIN_HOURS = 1.0
"""Less history than this cannot be compared hour by hour (docs/contracts/cli.md, exit 3)."""


@dataclass(frozen=True)
class Outcome:
    """What one set of targets did over the history, for a node or the whole cluster."""

    pod_starts: int
    cold_starts: int
    idle_slot_hours: float
    """Idle slots integrated over the history (a late node from its first sample)."""

    def cold_start_rate(self) -> float:
        return self.cold_starts / self.pod_starts if self.pod_starts else 0.0

    def to_json(self) -> dict[str, Any]:
        """The document of docs/contracts/simulation.md (``backtest -o json``)."""
        return {
            "pod_starts": self.pod_starts,
            "cold_starts": self.cold_starts,
            "cold_start_rate": self.cold_start_rate(),
            "idle_slot_hours": self.idle_slot_hours,
        }


@dataclass(frozen=True)
class Series:
    """One set of targets hour by hour."""

    name: str
    """``current``, ``recommended``, ...: the set of targets."""
    idle: np.ndarray
    """Average idle slots in each hour (over the part of it the history covers)."""
    cold: np.ndarray
    """Cold starts in each hour."""


@dataclass(frozen=True)
class NodeResult:
    """One node under every set of targets (index as :attr:`Backtest.names`)."""

    node: str
    targets: tuple[str, ...]
    """Each set's targets as text: ``5/5`` (min/max warm)."""
    outcomes: tuple[Outcome, ...]
    status: str
    """The recommendation's status, or ``changed``/``unchanged`` for given targets."""

    def idle_saved(self) -> float:
        """Idle slot-hours the tested targets (the second set) save on this node."""
        return self.outcomes[0].idle_slot_hours - self.outcomes[1].idle_slot_hours

    def cold_added(self) -> int:
        """Cold starts the tested targets add on this node (negative: remove)."""
        return self.outcomes[1].cold_starts - self.outcomes[0].cold_starts


@dataclass(frozen=True)
class Headline:
    """The figures a reader takes away: one tested set against the current targets."""

    name: str
    hours: float
    before: Outcome
    after: Outcome

    def idle_saved(self) -> float:
        return self.before.idle_slot_hours - self.after.idle_slot_hours

    def idle_saved_share(self) -> float:
        """The saving as a share of today's idle slot-hours (0 when there were none)."""
        before = self.before.idle_slot_hours
        return self.idle_saved() / before if before > 0 else 0.0

    def idle_text(self) -> str:
        saved, share = self.idle_saved(), self.idle_saved_share()
        verb = "save" if saved >= 0 else "add"
        return (
            f"{self.name.capitalize()} targets {verb} {abs(saved):,.1f} of "
            f"{self.before.idle_slot_hours:,.1f} idle slot-hours ({abs(share):.1%}) "
            f"over {self.hours:,.1f} h"
        )

    def cold_text(self) -> str:
        return (
            f"cold starts {self.before.cold_starts:,} -> {self.after.cold_starts:,} "
            f"(rate {self.before.cold_start_rate():.2%} -> {self.after.cold_start_rate():.2%} "
            f"of {self.after.pod_starts:,} pod starts)"
        )


class Why(enum.StrEnum):
    """Why a node gets a panel of its own."""

    SAVES = "saves the most idle"
    """Among the nodes where the tested targets save the most idle slot-hours."""
    COLDER = "cold starts grow"
    """The tested targets add cold starts there."""


@dataclass(frozen=True)
class Panel:
    """A node drawn on its own: its row, why it is drawn and its hourly series."""

    row: NodeResult
    why: Why
    series: tuple[Series, ...]

    def tags(self) -> list[str]:
        """Why it is drawn; a node drawn for its saving says so if cold starts grow too."""
        grows = self.why is Why.SAVES and self.row.cold_added() > 0
        return [str(self.why), *([str(Why.COLDER)] if grows else [])]

    def title(self) -> str:
        """Two lines: ``node-a [saves the most idle]``, then ``current 5/5 -> recommended
        2/4: saves 40.0 idle slot-hours (60.0%), cold starts 3 -> 3``."""
        row = self.row
        pairs = " -> ".join(f"{s.name} {t}" for s, t in zip(self.series, row.targets, strict=True))
        saved, (before, after) = row.idle_saved(), row.outcomes[:2]
        share = saved / before.idle_slot_hours if before.idle_slot_hours > 0 else 0.0
        return (
            f"{row.node}  [{'; '.join(self.tags())}]\n{pairs}: "
            f"{'saves' if saved >= 0 else 'adds'} {abs(saved):,.1f} idle slot-hours "
            f"({abs(share):.1%}), cold starts {before.cold_starts:,} -> {after.cold_starts:,}"
        )


def choose_panels(rows: Iterable[NodeResult], worst: int) -> list[tuple[NodeResult, Why]]:
    """The ``worst`` nodes where the tested targets save the most idle slot-hours, then
    the ``worst`` where they add the most cold starts (a node is drawn once)."""
    rows = list(rows)
    saving = sorted(
        (r for r in rows if r.idle_saved() > 0), key=lambda r: (-r.idle_saved(), r.node)
    )
    colder = sorted(
        (r for r in rows if r.cold_added() > 0), key=lambda r: (-r.cold_added(), r.node)
    )
    chosen = [(r, Why.SAVES) for r in saving[:worst]]
    taken = {r.node for r, _ in chosen}
    chosen += [(r, Why.COLDER) for r in colder if r.node not in taken][:worst]
    return chosen


@dataclass(frozen=True)
class Backtest:
    """Every set of targets over the same history, hour by hour and in total."""

    edges: np.ndarray
    """Hour boundaries, hours from the history's start; the last is its end."""
    cluster: tuple[Series, ...]
    """All nodes summed, one series per set of targets, ``current`` first."""
    outcomes: tuple[Outcome, ...]
    """All nodes' totals, one per set of targets."""
    nodes: tuple[NodeResult, ...]
    """Every node of the history, the most idle saved first."""
    panels: tuple[Panel, ...]
    """The nodes worth drawing, with their hourly series."""
    origin: str | None = None
    """Wall-clock time of the history's start, if the source has one."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.cluster)

    @property
    def hours(self) -> float:
        return float(self.edges[-1])

    @property
    def totals(self) -> dict[str, dict[str, Any]]:
        """``backtest -o json``: per set of targets, its totals."""
        return {s.name: o.to_json() for s, o in zip(self.cluster, self.outcomes, strict=True)}

    def headlines(self) -> list[Headline]:
        """Each tested set against the current targets."""
        base = self.outcomes[0]
        return [
            Headline(s.name, self.hours, base, o)
            for s, o in zip(self.cluster[1:], self.outcomes[1:], strict=True)
        ]


def require_an_hour(history: History) -> None:
    """Refuse a history too short to compare hour by hour (exit 3)."""
    if history.hours < MIN_HOURS:
        raise HistoryUnavailable(
            f"cannot backtest: the history spans {history.hours * 60:.0f} min; "
            f"a backtest needs at least {MIN_HOURS:g} h"
        )


def run(
    history: History,
    sim: SimulationSettings,
    current: Mapping[str, NodeTargets],
    recommended: Mapping[str, NodeTargets],
    default: NodeTargets,
    worst: int = 3,
    status: Mapping[str, str] | None = None,
) -> Backtest:
    """Replay every node under its current and its recommended targets (a node not in
    ``recommended`` keeps its current ones); ``worst`` panels of each kind. ``status``:
    each node's recommendation status, if the targets came from the analysis."""
    nodes = history.trace.nodes
    now = [current.get(node, default) for node in nodes]
    tested = [recommended.get(node, t) for node, t in zip(nodes, now, strict=True)]
    sets = {"current": now, "recommended": tested}
    runs = [Run(k, t, int(history.existing[k])) for ts in sets.values() for k, t in enumerate(ts)]
    stats = replay(history.trace, runs, sim, timeline=True, bucket_seconds=HOUR)
    end = history.trace.end
    edges = np.append(np.arange(math.ceil(end / HOUR)) * HOUR, end)
    skipped = idle_before_first(history, runs)  # as recommend: a late node from its start
    first = np.zeros(len(nodes)) if history.first is None else history.first
    starts = np.where(skipped > 0, first[[r.node for r in runs]], 0.0)
    shape = (len(sets), len(nodes))
    idle = hourly_idle(stats.timeline_t, stats.timeline_i, starts, edges).reshape((*shape, -1))
    cold = stats.buckets[:, : len(edges) - 1, 1].astype(np.float64).reshape((*shape, -1))
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
    return f"{targets.min_warm}/{targets.max_warm}"
