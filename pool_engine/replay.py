"""Replaying a churn trace in batches: many candidate targets per node in one compiled
pass (docs/contracts/simulation.md).

A :class:`Run` is one node's rows under one :class:`NodeTargets`; :func:`replay` hands a
batch of them to :func:`pool_engine.kernel.run_all`, which calls the rules in
:mod:`pool_engine.policy`, and returns each run's statistics (:class:`ReplayStats`). The
tuner scores its candidates with it; :mod:`pool_engine.simulator` replays each node once
for ``eni-tuner simulate``. The kernel (numba) is imported by the first replay, not with
this module: the command lines import the settings types from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from pool_engine.config import DEFAULT_ROUTE_ENI_TARGETS, Targets
from pool_engine.policy import DEFAULT_RELEASE_INTERVAL, UNLIMITED
from pool_engine.runs import Knobs, Rows, Runs, RunStats
from pool_engine.trace import Trace
from pool_engine.warm_schedule import HOURS, WarmSchedule

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
