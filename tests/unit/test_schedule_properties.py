"""Property tests of time-of-day schedules (docs/contracts/schedules.md), hypothesis.

The compiled kernel and the live engine (NodePool following a schedule, driven by
tests/support/engine_replay.py) must agree exactly on random traces x random
schedules x slow/quick x day offsets, numeric (time 0 is 00:00 UTC) and RFC 3339
style (time 0 at any time of day, fractions of a second too). Row times are drawn
so that hour boundaries coincide with trace rows and with release ticks.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pool_engine.config import Targets
from pool_engine.plan import Plan
from pool_engine.pool import NodePool
from pool_engine.replay import NodeTargets, Run, SimulationSettings, replay
from pool_engine.simulator import simulate
from pool_engine.trace import Trace, from_rows
from pool_engine.warm_schedule import HOUR, WarmSchedule
from support.engine_replay import replay_node

SPAN = 4 * HOUR
"""Row times lie within four hours: three to five hour boundaries per trace."""

offsets = st.one_of(
    st.sampled_from([0.0, 1800.0, 3540.0, 83 * 120.0, 23 * HOUR + 1800.0, 36000.5]),
    st.integers(0, 719).map(lambda k: k * 120.0),  # every hour boundary is a tick
    st.integers(0, 86399).map(float),
    st.integers(0, 86399).map(lambda s: s + 0.25),
)
pairs = st.tuples(st.integers(0, 8), st.integers(0, 8)).map(lambda p: Targets(*sorted(p)))


@st.composite
def schedules(draw: st.DrawFn) -> WarmSchedule:
    """Few distinct pairs, hours assigned in runs (or hour by hour)."""
    palette = draw(st.lists(pairs, min_size=1, max_size=3))
    hours = draw(st.lists(st.integers(0, len(palette) - 1), min_size=24, max_size=24))
    return WarmSchedule(tuple(palette[h] for h in hours))


@st.composite
def traces(draw: st.DrawFn, offset: float) -> list[tuple[float, str]]:
    """Rows at random times, at hour boundaries, just around them, and at ticks."""
    k0 = int(offset // HOUR)  # the hour count of time 0

    def boundary(j: int) -> float:  # as the engine computes it: k * 3600 - offset
        return (k0 + 1 + j) * HOUR - offset

    time = st.one_of(
        st.integers(0, int(SPAN)).map(float),
        st.floats(0, SPAN, allow_nan=False).map(lambda t: round(t, 1)),
        st.integers(0, 3).map(boundary),
        st.tuples(st.integers(0, 3), st.sampled_from([-2.0, -0.5, 0.5, 1.0, 2.0])).map(
            lambda kd: boundary(kd[0]) + kd[1]
        ),
        st.integers(1, int(SPAN // 120)).map(lambda k: k * 120.0),
    ).filter(lambda t: 0.0 <= t <= SPAN + HOUR)
    raw = draw(
        st.lists(
            st.tuples(time, st.sampled_from(["start", "start", "stop"])), min_size=1, max_size=50
        )
    )
    return sorted(raw, key=lambda r: r[0])  # stable: ties keep file order


def with_offset(trace: Trace, offset: float, rfc3339: bool) -> Trace:
    """The trace as if its time 0 lay ``offset`` s past 00:00 UTC (an RFC 3339 trace);
    numeric traces can only have offset 0."""
    if not rfc3339:
        return trace
    origin = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(seconds=offset)
    out = replace(trace, origin=origin)
    assert out.day_offset() == offset
    return out


knobs = st.fixed_dictionaries(
    {
        "quick": st.booleans(),
        "latency": st.sampled_from([0.5, 2.0, 7.0, 150.0]),
        "interval": st.sampled_from([30.0, 120.0]),
        "cap": st.one_of(st.none(), st.integers(0, 12)),
    }
)


@settings(max_examples=500, deadline=None)
@given(data=st.data(), offset=offsets, schedule=schedules(), k=knobs)
def test_kernel_agrees_with_live_engine_under_schedules(
    data: st.DataObject, offset: float, schedule: WarmSchedule, k: dict[str, object]
) -> None:
    rfc3339 = offset != 0.0 or data.draw(st.booleans())
    rows = data.draw(traces(offset))
    trace = with_offset(
        from_rows([t for t, _ in rows], ["n"] * len(rows), [e for _, e in rows]), offset, rfc3339
    )
    cap = k["cap"]
    assert cap is None or isinstance(cap, int)
    quick, latency, interval = bool(k["quick"]), float(k["latency"]), float(k["interval"])  # type: ignore[arg-type]
    node = NodeTargets.scheduled(schedule, cap)
    sim = SimulationSettings(NodeTargets(Targets(5, 5)), quick, latency, interval)
    got = simulate(trace, sim, {"n": node}).nodes["n"]
    ref = replay_node(
        rows, trace.end, min_warm=0, max_warm=0, max_slots=cap, quick=quick, latency=latency,
        interval=interval, schedule=schedule, offset=offset,
    )  # fmt: skip
    served = sorted(ref.waits)
    for name in ("pod_starts", "warm_hits", "cold_starts", "bind_ops", "release_ops"):
        assert got[name] == getattr(ref, name), name
    assert got["peak_bound"] == ref.peak_bound
    assert got["ignored_events"] == ref.ignored_events
    assert got["idle_slot_seconds"] == pytest.approx(ref.idle_slot_seconds, abs=1e-6)
    assert got["bound_slot_seconds"] == pytest.approx(ref.bound_slot_seconds, abs=1e-6)
    assert got["wait_seconds_sum"] == pytest.approx(sum(served), abs=1e-6)
    assert got["wait_seconds_max"] == pytest.approx(max(served, default=0.0), abs=1e-9)
    assert (got["min_warm"], got["max_warm"]) == (node.min_warm, node.max_warm)
    assert node.targets == schedule.at_hour(0)


class Invariants:
    """The spec's invariants after every step, schedule changes included."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.changes = 0

    def __call__(self, pool: NodePool, why: str, plan: Plan | None) -> None:
        b, k, p, w = pool.bound, pool.in_flight, pool.holding, pool.waiting
        m, big_m, c = pool.targets.min_warm, pool.targets.max_warm, pool.capacity
        for pod, (eni_id, ip) in pool.holders.items():  # only idle slots are released
            assert pool.enis[eni_id].ips[ip] == pod
        assert b <= c  # bound within the physical max
        assert b + k >= min(c, p + w + m)  # R1 ran
        if why in ("round", "change") and plan is not None:
            released = len(plan.releases)
            assert plan.round_ran
            if not self.quick:
                assert released <= 1
            excess_before = b + released + k - (p + w + big_m)
            if excess_before <= 0:
                assert released == 0
            elif self.quick:
                assert released == min(excess_before, b + released - p)
        self.changes += why == "change"


@settings(max_examples=200, deadline=None)
@given(data=st.data(), offset=offsets, schedule=schedules(), k=knobs)
def test_live_engine_invariants_under_schedules(
    data: st.DataObject, offset: float, schedule: WarmSchedule, k: dict[str, object]
) -> None:
    rows = data.draw(traces(offset))
    cap = k["cap"]
    assert cap is None or isinstance(cap, int)
    check = Invariants(bool(k["quick"]))
    end = rows[-1][0]
    replay_node(
        rows, end, min_warm=0, max_warm=0, max_slots=cap, quick=bool(k["quick"]),
        latency=float(k["latency"]), interval=float(k["interval"]),  # type: ignore[arg-type]
        check=check, schedule=schedule, offset=offset,
    )  # fmt: skip
    if not schedule.is_constant():  # every changing boundary up to the end was run
        k0 = int((0 + offset) // HOUR)
        boundaries = [
            j for j in range(k0 + 1, int((end + offset) // HOUR) + 1)
            if schedule.at_hour(j) != schedule.at_hour(j - 1) and j * HOUR - offset <= end
        ]  # fmt: skip
        assert check.changes == len(boundaries)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), offset=offsets, schedule=schedules(), quick=st.booleans())
def test_hourly_buckets_add_up_to_the_totals(
    data: st.DataObject, offset: float, schedule: WarmSchedule, quick: bool
) -> None:
    rows = data.draw(traces(offset))
    trace = with_offset(
        from_rows([t for t, _ in rows], ["n"] * len(rows), [e for _, e in rows]), offset, True
    )
    sim = SimulationSettings(quick_release=quick)
    runs = [Run(0, NodeTargets.scheduled(schedule)), Run(0, NodeTargets(Targets(1, 3)))]
    stats = replay(
        trace, runs, sim, timeline=True, bucket_seconds=HOUR, bucket_offset=trace.day_offset()
    )
    assert stats.buckets.shape == (2, int((trace.end + offset) // HOUR) + 1, 4)
    for r in range(2):
        per = stats.per_run
        column = stats.buckets[r].sum(axis=0)
        assert column[0] == per.pod_starts[r] and column[1] == per.cold_starts[r]
        assert column[2] == pytest.approx(per.idle_slot_seconds[r], abs=1e-6)
        assert column[3] == pytest.approx(per.wait_seconds_sum[r], abs=1e-6)
    # each bucket's idle slot-seconds: the timeline's area within its hour
    edges = np.arange(stats.buckets.shape[1] + 1) * HOUR - offset
    for r in range(2):
        mine = stats.timeline_i[:, 0] == r
        times = np.append(stats.timeline_t[mine], trace.end)
        idle = (stats.timeline_i[mine, 1] - stats.timeline_i[mine, 2]).astype(np.float64)
        area = np.concatenate(([0.0], np.cumsum(idle * np.diff(times))))
        at_edges = np.interp(np.clip(edges, 0.0, trace.end), times, area)
        assert list(stats.buckets[r, :, 2]) == pytest.approx(list(np.diff(at_edges)), abs=1e-6)
    # bucket b is UTC hour (b mod 24): each start lands in its own hour's bucket
    starts = np.zeros(stats.buckets.shape[1])
    for t, event in rows:
        if event == "start":
            starts[int((t + offset) // HOUR)] += 1
    assert list(stats.buckets[0, :, 0]) == list(starts)
