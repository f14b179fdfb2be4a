"""Replay a churn trace through the pool policy (docs/contracts/simulation.md).

:func:`simulate` is what ``eni-tuner simulate`` prints; :func:`replay` is the
batch form the tuner uses to score many candidate targets per node in one
compiled pass. Both run :func:`pool_engine.kernel.run_all`, which calls the rules
in :mod:`pool_engine.policy`. The kernel (numba) is imported by the first replay,
not with this module: the command lines import the settings types from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from pool_engine.config import DEFAULT_ROUTE_ENI_TARGETS, Targets
from pool_engine.policy import DEFAULT_RELEASE_INTERVAL, UNLIMITED
from pool_engine.runs import Knobs, Rows, Runs, RunStats
from pool_engine.trace import Trace
from pool_engine.warm_schedule import HOURS, WarmSchedule

if TYPE_CHECKING:  # pyarrow loads where a table is read or written, not on import
    import pyarrow as pa

STAT_FIELDS = tuple(name for name in RunStats._fields if name != "served")
"""The statistics ``simulate`` reports per node and in total, in output order."""


@dataclass(frozen=True)
class NodeTargets:
    """Targets for one node: its min and max warm, and the max bindable slots C;
    optionally a schedule of targets by UTC hour of day (docs/contracts/schedules.md)."""

    targets: Targets
    """The all-day pair; for a scheduled node, the pair of hour 0 (00:00-01:00 UTC),
    which ``simulate`` reports."""
    max_slots: int | None = None
    """None means no limit."""
    schedule: WarmSchedule | None = None
    """Targets by hour of day; None: ``targets`` all day. Never a constant schedule
    (:meth:`scheduled` makes that a plain pair)."""

    def __post_init__(self) -> None:
        if self.schedule is not None and self.schedule.at_hour(0) != self.targets:
            raise ValueError("a scheduled node's targets are its schedule's hour 0")

    @classmethod
    def scheduled(cls, schedule: WarmSchedule, max_slots: int | None = None) -> NodeTargets:
        """Targets following ``schedule``; a schedule with one pair all day is that pair."""
        if schedule.is_constant():
            return cls(schedule.at_hour(0), max_slots)
        return cls(schedule.at_hour(0), max_slots, schedule)

    def with_max_slots(self, max_slots: int | None) -> NodeTargets:
        """The same targets (and schedule) with another max bindable slots."""
        return replace(self, max_slots=max_slots)

    def at(self, t: float, offset: float = 0.0) -> Targets:
        """The pair in force at replay time ``t`` (``offset``: :meth:`Trace.day_offset`)."""
        return self.targets if self.schedule is None else self.schedule.at(t, offset)

    @property
    def min_warm(self) -> int:
        return self.targets.min_warm

    @property
    def max_warm(self) -> int:
        return self.targets.max_warm

    def capacity(self) -> int:
        """C for the kernel: :data:`pool_engine.policy.UNLIMITED` when there is no limit."""
        return UNLIMITED if self.max_slots is None else self.max_slots


@dataclass(frozen=True)
class SimulationSettings:
    """Replay settings; the defaults are docs/contracts/simulation.md's."""

    defaults: NodeTargets = NodeTargets(DEFAULT_ROUTE_ENI_TARGETS)
    """Targets of every node without an override."""
    quick_release: bool = False
    """Quick release frees every excess idle slot per round; slow release one."""
    bind_latency: float = 2.0
    """Seconds from a bind request to the slot being usable."""
    release_interval: float = DEFAULT_RELEASE_INTERVAL
    """Seconds between release rounds."""
    count_from: float = 0.0
    """Statistics count from this replay time on; the replay still runs from time 0
    (docs/contracts/simulation.md, ``--count-from``)."""


@dataclass(frozen=True)
class Run:
    """One replay of one node's rows under one set of targets."""

    node: int
    targets: NodeTargets
    holding: int = 0
    """Pods already holding slots when the replay starts."""


@dataclass(frozen=True)
class ReplayStats:
    """What a batch of runs gives: per-run statistics by name, plus the served waits."""

    per_run: RunStats
    """One array element per run, e.g. ``per_run.cold_starts[r]``."""
    waits: np.ndarray
    wait_offset: np.ndarray
    timeline_t: np.ndarray
    timeline_i: np.ndarray
    buckets: np.ndarray
    """(runs, buckets, 4) float64 per time bucket: pod starts, cold starts, idle
    slot-seconds, seconds waited (:func:`replay`)."""

    def run_stats(self, r: int) -> dict[str, float | int]:
        """Run r's statistics as ``simulate`` reports them for a node."""
        values: dict[str, float | int] = {
            name: getattr(self.per_run, name)[r].item() for name in STAT_FIELDS
        }
        return values

    def served_waits(self, r: int) -> np.ndarray:
        lo = self.wait_offset[r]
        return self.waits[lo : lo + self.per_run.served[r]]


def replay(
    trace: Trace,
    runs: Sequence[Run],
    settings: SimulationSettings,
    *,
    timeline: bool = False,
    bucket_seconds: float = 0.0,
    bucket_offset: float = 0.0,
) -> ReplayStats:
    """Replay each run's node rows under its targets (scheduled ones by the trace's
    UTC hours of day), in one compiled pass.

    With ``bucket_seconds`` the stats also fill :attr:`ReplayStats.buckets`: per time
    bucket, pod starts, cold starts, idle slot-seconds and the seconds waited by the
    pods started in it (:data:`pool_engine.runs.BUCKET_COLUMNS`), for recency
    weighting and hour-of-day statistics. Bucket b covers [b * bucket_seconds -
    bucket_offset, (b + 1) * bucket_seconds - bucket_offset): the default counts
    from time 0; ``bucket_seconds=3600, bucket_offset=trace.day_offset()`` makes
    bucket b the UTC hour of day ``b % 24`` (bucket 0 may then start before time 0).
    """
    if not runs:
        raise ValueError("nothing to replay")
    from pool_engine import kernel  # numba: loaded on the first replay, not on import

    node = np.fromiter((r.node for r in runs), dtype=np.int64, count=len(runs))
    lo, hi = trace.offsets[node], trace.offsets[node + 1]
    wait_offset = kernel.wait_offsets(trace.kinds, lo, hi)
    batch = _batch(runs, lo, hi, wait_offset)
    n_buckets = int((trace.end + bucket_offset) // bucket_seconds) + 1 if bucket_seconds > 0 else 0
    knobs = _knobs(settings, trace.end, trace.day_offset(), timeline)._replace(
        bucket_seconds=float(bucket_seconds) if bucket_seconds > 0 else 1.0,
        n_buckets=n_buckets,
        bucket_offset=float(bucket_offset),
    )
    out = kernel.run_all(Rows(trace.times, trace.kinds), batch, knobs)
    return ReplayStats(
        out.stats, out.waits, wait_offset, out.timeline_t, out.timeline_i, out.buckets
    )


@dataclass
class SimulationResult:
    """What ``eni-tuner simulate`` reports: per node and in total."""

    end: float
    nodes: dict[str, dict[str, Any]]
    total: dict[str, Any]
    timeline: pa.Table | None = None
    """time,node,bound,in_use,waiting,idle at every change, sorted by time then node."""
    count_from: float = 0.0
    """The statistics count from this time on (0: the whole replay)."""

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"end": self.end, "nodes": self.nodes, "total": self.total}
        if self.count_from > 0:
            document["count_from"] = self.count_from
        return document


def simulate(
    trace: Trace,
    settings: SimulationSettings = SimulationSettings(),
    overrides: Mapping[str, NodeTargets] | None = None,
    *,
    timeline: bool = False,
) -> SimulationResult:
    """Replay every node of ``trace`` under its targets and summarise."""
    runs = [
        Run(k, _targets_of(name, settings.defaults, overrides or {}))
        for k, name in enumerate(trace.nodes)
    ]
    if not runs:
        return SimulationResult(trace.end, {}, _total_of(None, 0), count_from=settings.count_from)
    stats = replay(trace, runs, settings, timeline=timeline)
    nodes: dict[str, dict[str, Any]] = {}
    for r, run in enumerate(runs):
        per_node: dict[str, Any] = stats.run_stats(r)
        per_node["min_warm"] = run.targets.min_warm
        per_node["max_warm"] = run.targets.max_warm
        nodes[trace.nodes[run.node]] = per_node
    result = SimulationResult(trace.end, dict(sorted(nodes.items())), _total_of(stats, len(runs)),
                              count_from=settings.count_from)  # fmt: skip
    if timeline:
        result.timeline = _timeline_table(stats, runs, trace)
    return result


def idle_while_empty(
    runs: Sequence[Run], settings: SimulationSettings, until: np.ndarray, day_offset: float
) -> np.ndarray:
    """Idle slot-seconds each run's pool counts from time 0 to ``until[j]`` when no
    pod comes or goes: what a replay charges before a node's first row (its
    schedule's changes included; for a static run, min(C, P + m) - P times
    ``until[j]``). ``day_offset``: the trace's :meth:`Trace.day_offset`."""
    out = np.zeros(len(runs))
    by_end: dict[float, list[int]] = {}
    for j, end in enumerate(until):
        if end > 0:
            by_end.setdefault(float(end), []).append(j)
    from pool_engine import kernel  # numba: loaded on the first replay, not on import

    nothing = Rows(np.zeros(0), np.zeros(0, dtype=np.int8))
    for end, chosen in by_end.items():
        none = np.zeros(len(chosen), dtype=np.int64)
        batch = _batch([runs[j] for j in chosen], none, none, np.zeros(len(chosen) + 1, np.int64))
        stats = kernel.run_all(nothing, batch, _knobs(settings, end, day_offset, False)).stats
        out[chosen] = stats.idle_slot_seconds
    return out


def _batch(runs: Sequence[Run], lo: np.ndarray, hi: np.ndarray, wait_offset: np.ndarray) -> Runs:
    n = len(runs)
    table, hourly = _schedule_tables(runs)
    return Runs(
        lo,
        hi,
        min_warm=np.fromiter((r.targets.min_warm for r in runs), dtype=np.int64, count=n),
        max_warm=np.fromiter((r.targets.max_warm for r in runs), dtype=np.int64, count=n),
        capacity=np.fromiter((r.targets.capacity() for r in runs), dtype=np.int64, count=n),
        holding=np.fromiter((r.holding for r in runs), dtype=np.int64, count=n),
        table=table,
        hourly=hourly,
        wait_offset=wait_offset,
    )


def _knobs(settings: SimulationSettings, end: float, day_offset: float, timeline: bool) -> Knobs:
    """The shared knobs, without buckets."""
    return Knobs(
        bind_latency=float(settings.bind_latency),
        interval=float(settings.release_interval),
        quick=bool(settings.quick_release),
        end=float(end),
        record=timeline,
        bucket_seconds=1.0,
        n_buckets=0,
        bucket_offset=0.0,
        day_offset=float(day_offset),
        count_from=float(settings.count_from),
    )


def _schedule_tables(runs: Sequence[Run]) -> tuple[np.ndarray, np.ndarray]:
    """Per run its row of the shared hourly table (-1: static), and the table: one
    (24, 2) block of (min_warm, max_warm) per distinct schedule."""
    rows: dict[WarmSchedule, int] = {}
    table = np.full(len(runs), -1, dtype=np.int64)
    for j, run in enumerate(runs):
        schedule = run.targets.schedule
        if schedule is not None:
            table[j] = rows.setdefault(schedule, len(rows))
    hourly = np.zeros((len(rows), HOURS, 2), dtype=np.int64)
    for schedule, row in rows.items():
        hourly[row] = [(t.min_warm, t.max_warm) for t in schedule.hourly]
    return table, hourly


def _total_of(stats: ReplayStats | None, n_runs: int) -> dict[str, Any]:
    if stats is None:
        return {name: 0 if name not in _FLOAT_FIELDS else 0.0 for name in STAT_FIELDS}
    from pool_engine import kernel  # loaded already by the replay

    per_run = stats.per_run
    served = np.concatenate([stats.served_waits(r) for r in range(n_runs)])
    served.sort()
    hits = int(per_run.warm_hits.sum())
    return {
        "pod_starts": int(per_run.pod_starts.sum()),
        "warm_hits": hits,
        "cold_starts": int(per_run.cold_starts.sum()),
        "wait_seconds_sum": float(per_run.wait_seconds_sum.sum()),
        "wait_seconds_max": float(per_run.wait_seconds_max.max()),
        "wait_seconds_p99": float(kernel.percentile_with_zeros(served, hits, 99.0)),
        "idle_slot_seconds": float(per_run.idle_slot_seconds.sum()),
        "bound_slot_seconds": float(per_run.bound_slot_seconds.sum()),
        "bind_ops": int(per_run.bind_ops.sum()),
        "release_ops": int(per_run.release_ops.sum()),
        "peak_bound": int(per_run.peak_bound.max()),
        "ignored_events": int(per_run.ignored_events.sum()),
    }


_FLOAT_FIELDS = {
    "wait_seconds_sum",
    "wait_seconds_max",
    "wait_seconds_p99",
    "idle_slot_seconds",
    "bound_slot_seconds",
}


def _timeline_table(stats: ReplayStats, runs: Sequence[Run], trace: Trace) -> pa.Table:
    import pyarrow as pa

    t, i = stats.timeline_t, stats.timeline_i
    order = np.lexsort((i[:, 0], t))
    names = pa.array([trace.nodes[run.node] for run in runs])
    bound, in_use = i[order, 1], i[order, 2]
    return pa.table(
        {
            "time": t[order],
            "node": pa.DictionaryArray.from_arrays(pa.array(i[order, 0].astype(np.int32)), names),
            "bound": bound,
            "in_use": in_use,
            "waiting": i[order, 3],
            "idle": bound - in_use,
        }
    )


def _targets_of(
    node: str, defaults: NodeTargets, overrides: Mapping[str, NodeTargets]
) -> NodeTargets:
    """A node's override, with the default max slots where the override sets none."""
    override = overrides.get(node)
    if override is None:
        return defaults
    if override.max_slots is None:
        return override.with_max_slots(defaults.max_slots)
    return override
