"""Property tests over random traces and targets (hypothesis).

The compiled kernel and the live engine (NodePool + decide, driven by
tests/support/engine_replay.py) must agree exactly, and the live engine keeps the spec's
invariants after every step.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pool_engine.config import Targets
from pool_engine.plan import Plan
from pool_engine.pool import NodePool
from pool_engine.replay import NodeTargets, SimulationSettings
from pool_engine.simulator import simulate
from pool_engine.trace import from_rows
from support.engine_replay import replay_node

times = st.one_of(
    st.integers(0, 700).map(float), st.floats(0, 700, allow_nan=False).map(lambda t: round(t, 1))
)
rows = st.lists(
    st.tuples(times, st.sampled_from(["start", "start", "stop"])), min_size=1, max_size=60
)
targets = st.tuples(st.integers(0, 6), st.integers(0, 6)).map(sorted)
capacity = st.one_of(st.none(), st.integers(0, 12))
knobs = st.fixed_dictionaries(
    {
        "quick": st.booleans(),
        "latency": st.sampled_from([0.5, 2.0, 7.0, 150.0]),
        "interval": st.sampled_from([30.0, 120.0]),
    }
)


def sorted_rows(raw: list[tuple[float, str]]) -> list[tuple[float, str]]:
    return sorted(raw, key=lambda r: r[0])  # stable: ties keep file order


@settings(max_examples=300, deadline=None)
@given(raw=rows, mM=targets, cap=capacity, k=knobs)
def test_kernel_agrees_with_live_engine(
    raw: list[tuple[float, str]], mM: list[int], cap: int | None, k: dict[str, float]
) -> None:
    m, big_m = mM
    trace = from_rows([t for t, _ in raw], ["n"] * len(raw), [e for _, e in raw])
    result = simulate(
        trace,
        SimulationSettings(
            NodeTargets(Targets(m, big_m), cap), bool(k["quick"]), k["latency"], k["interval"]
        ),
    )
    got = result.nodes["n"]
    ref = replay_node(
        sorted_rows(raw), trace.end, min_warm=m, max_warm=big_m, max_slots=cap,
        quick=bool(k["quick"]), latency=k["latency"], interval=k["interval"],
    )  # fmt: skip
    served = sorted(ref.waits)
    assert got["pod_starts"] == ref.pod_starts
    assert got["warm_hits"] == ref.warm_hits
    assert got["cold_starts"] == ref.cold_starts
    assert got["bind_ops"] == ref.bind_ops
    assert got["release_ops"] == ref.release_ops
    assert got["peak_bound"] == ref.peak_bound
    assert got["ignored_events"] == ref.ignored_events
    assert got["idle_slot_seconds"] == pytest.approx(ref.idle_slot_seconds, abs=1e-6)
    assert got["bound_slot_seconds"] == pytest.approx(ref.bound_slot_seconds, abs=1e-6)
    assert got["wait_seconds_sum"] == pytest.approx(sum(served), abs=1e-6)
    assert got["wait_seconds_max"] == pytest.approx(max(served, default=0.0), abs=1e-9)


class Invariants:
    """Checks the spec's invariants after every step of a live-engine replay."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.steps = 0

    def __call__(self, pool: NodePool, why: str, plan: Plan | None) -> None:
        self.steps += 1
        b, k, p, w = pool.bound, pool.in_flight, pool.holding, pool.waiting
        m, big_m, c = pool.targets.min_warm, pool.targets.max_warm, pool.capacity
        # A held slot is never released: every holder still holds its bound slot.
        for pod, (eni_id, ip) in pool.holders.items():
            assert pool.enis[eni_id].ips[ip] == pod
        assert b <= c
        assert b + k >= min(c, p + w + m)
        if why == "round" and plan is not None:
            released = len(plan.releases)
            excess_before = b + released + k - (p + w + big_m)
            idle_before = b + released - p
            if not self.quick:
                assert released <= 1
            if excess_before <= 0:
                assert released == 0
            elif self.quick and idle_before >= excess_before:
                assert b + k == p + w + big_m
            elif self.quick:
                assert released == idle_before


@settings(max_examples=300, deadline=None)
@given(raw=rows, mM=targets, cap=capacity, k=knobs)
def test_live_engine_invariants(
    raw: list[tuple[float, str]], mM: list[int], cap: int | None, k: dict[str, float]
) -> None:
    check = Invariants(bool(k["quick"]))
    ordered = sorted_rows(raw)
    replay_node(
        ordered, ordered[-1][0], min_warm=mM[0], max_warm=mM[1], max_slots=cap,
        quick=bool(k["quick"]), latency=k["latency"], interval=k["interval"], check=check,
    )  # fmt: skip
    assert check.steps >= len(raw)


@settings(max_examples=200, deadline=None)
@given(
    raw=st.lists(st.tuples(times, st.sampled_from(["a", "b", "c"]), st.sampled_from(["start", "stop"])), min_size=1, max_size=80),
    mM=targets,
    cap=capacity,
    quick=st.booleans(),
)  # fmt: skip
def test_idle_slot_seconds_is_the_integral_of_the_timeline(
    raw: list[tuple[float, str, str]], mM: list[int], cap: int | None, quick: bool
) -> None:
    trace = from_rows([r[0] for r in raw], [r[1] for r in raw], [r[2] for r in raw])
    result = simulate(
        trace, SimulationSettings(NodeTargets(Targets(mM[0], mM[1]), cap), quick), timeline=True
    )
    per_node: dict[str, list[tuple[float, int, int]]] = defaultdict(list)
    assert result.timeline is not None
    columns = [
        result.timeline.column(c).to_pylist()
        for c in ("time", "node", "bound", "in_use", "waiting", "idle")
    ]
    for t, node, bound, in_use, waiting, idle in zip(*columns, strict=True):
        assert idle == bound - in_use >= 0 and waiting >= 0
        if cap is not None:
            assert bound <= cap
        per_node[node].append((t, idle, bound))
    assert set(per_node) == set(result.nodes)
    for node, points in per_node.items():
        assert points[0][0] == 0.0
        idle_area = bound_area = 0.0
        for (t0, idle, bound), (t1, _, _) in zip(
            points, [*points[1:], (trace.end, 0, 0)], strict=True
        ):
            assert t1 >= t0
            idle_area += idle * (t1 - t0)
            bound_area += bound * (t1 - t0)
        assert result.nodes[node]["idle_slot_seconds"] == pytest.approx(idle_area, abs=1e-6)
        assert result.nodes[node]["bound_slot_seconds"] == pytest.approx(bound_area, abs=1e-6)
