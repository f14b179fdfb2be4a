"""Table tests of the live engine, one per rule R1–R7, plus packing and both modes."""

from __future__ import annotations

import itertools

import pytest

from pool_engine.config import Limits, Mode, Targets
from pool_engine.decision import decide
from pool_engine.plan import BindOp, BindRequest, Latencies, Plan, Release, ReleaseReason
from pool_engine.policy import binds_to_request, releases_in_round, releases_to_clamp
from pool_engine.pool import NodePool

_ips = itertools.count()


def pool_with(
    *,
    bound: int = 0,
    holding: int = 0,
    waiting: int = 0,
    m: int = 5,
    big_m: int = 5,
    limits: Limits | None = None,
    quick: bool = False,
    mode: Mode = Mode.ROUTE_ENI,
) -> NodePool:
    """A pool with ``bound`` slots on as few ENIs as fit, ``holding`` of them held."""
    limits = limits or Limits(3, 9)
    pool = NodePool("n", mode, Targets(m, big_m), limits, quick_release=quick)
    left = bound
    while left:
        take = min(left, limits.ips_per_eni)
        ops = pool.begin(Plan(binds=(_request(None, take),)), 0.0)
        pool.bind_done(
            ops[0].op_id, f"eni-{next(_ips)}", [f"10.0.{next(_ips)}" for _ in range(take)], 0.0
        )
        left -= take
    for j in range(holding):
        assert pool.pod_started(f"held-{j}", 0.0)
    for j in range(waiting):
        assert not pool.pod_started(f"wait-{j}", 0.0)
    return pool


def _request(eni_id: str | None, count: int) -> BindRequest:
    return BindRequest(eni_id, "", count)


def bind_count(plan: Plan) -> int:
    return sum(b.count for b in plan.binds)


@pytest.mark.parametrize(
    ("bound", "holding", "waiting", "m", "cap", "want"),
    [
        (5, 0, 0, 5, 27, 0),  # at m already
        (5, 1, 0, 5, 27, 1),  # a pod took a slot: top up to P + m
        (5, 5, 2, 5, 27, 7),  # waiters count: P + W + m = 12
        (0, 0, 0, 0, 27, 0),  # on-demand pool, nothing to do
        (0, 0, 3, 0, 27, 3),  # on-demand: bind one per waiter
        (25, 25, 0, 5, 27, 2),  # capped by C = 27
        (9, 9, 4, 5, 9, 0),  # at C: waiters wait for a stop
    ],
)
def test_r1_grow(bound: int, holding: int, waiting: int, m: int, cap: int, want: int) -> None:
    assert binds_to_request(bound, 0, holding, waiting, m, cap) == want
    pool = pool_with(bound=bound, holding=holding, waiting=waiting, m=m, big_m=max(m, 5),
                     limits=Limits(3, 9) if cap == 27 else Limits(1, 9))  # fmt: skip
    plan = decide(pool, 1.0)
    assert bind_count(plan) == want
    pool.begin(plan, 1.0)
    assert pool.bound + pool.in_flight >= min(pool.capacity, pool.holding + pool.waiting + m)


def test_r1_counts_binds_in_flight() -> None:
    pool = pool_with(bound=5, holding=3)
    pool.begin(decide(pool, 1.0), 1.0)
    assert pool.in_flight == 3
    assert decide(pool, 2.0).binds == ()


@pytest.mark.parametrize(
    ("bound", "holding", "big_m", "quick", "want"),
    [
        (12, 2, 5, False, 1),  # slow: one slot per round
        (12, 2, 5, True, 5),  # quick: down to P + M = 7
        (7, 2, 5, True, 0),  # at P + M
        (12, 12, 0, True, 0),  # nothing idle: nothing to release
        (12, 10, 0, True, 2),  # quick: only the idle ones
    ],
)
def test_r2_release_round(bound: int, holding: int, big_m: int, quick: bool, want: int) -> None:
    assert releases_in_round(bound, 0, holding, 0, big_m, quick) == want
    pool = pool_with(bound=bound, holding=holding, m=0, big_m=big_m, quick=quick)
    assert decide(pool, 119.0).releases == ()  # not a round yet
    plan = decide(pool, 120.0)
    assert plan.round_ran and len(plan.releases) == want
    assert {r.reason for r in plan.releases} <= {ReleaseReason.ABOVE_MAX}
    pool.begin(plan, 120.0)
    assert pool.next_round == 240.0
    assert decide(pool, 121.0).releases == ()  # one round per interval


def test_r2_excess_counts_binds_in_flight_and_waiters() -> None:
    # excess = (B + K) - (P + W + M) = (10 + 0) - (4 + 0 + 5) = 1
    assert releases_in_round(10, 0, 4, 0, 5, True) == 1
    assert releases_in_round(10, 2, 4, 0, 5, True) == 3
    assert releases_in_round(10, 0, 4, 3, 5, True) == 0


@pytest.mark.parametrize(
    ("bound", "holding", "cap", "want"),
    [(27, 10, 18, 9), (27, 25, 18, 2), (27, 27, 18, 0), (10, 2, 18, 0)],
)
def test_r3_clamp(bound: int, holding: int, cap: int, want: int) -> None:
    assert releases_to_clamp(bound, holding, cap) == want
    pool = pool_with(bound=bound, holding=holding, m=0, big_m=30, limits=Limits(3, 9))
    pool.set_limits(Limits(2, 9) if cap == 18 else Limits(3, 9))
    plan = decide(pool, 1.0)  # at once, not at a round
    assert len(plan.releases) == want
    assert all(r.reason is ReleaseReason.CLAMP for r in plan.releases)


def test_r4_bind_completion_serves_the_oldest_waiter() -> None:
    pool = pool_with(bound=1, holding=1, m=0, big_m=0)
    assert not pool.pod_started("first", 10.0)
    assert not pool.pod_started("second", 11.0)
    ops = pool.begin(decide(pool, 11.0), 11.0)
    assert sum(o.count for o in ops) == 2
    served = pool.bind_done(ops[0].op_id, ops[0].eni_id, ["10.9.0.1"], 13.0)
    assert served == [("first", 3.0)]
    assert pool.holding == 2 and pool.waiting == 1 and pool.bound == 2


def test_r5_warm_hit_or_cold_start() -> None:
    pool = pool_with(bound=1)
    assert pool.pod_started("a", 1.0) is True
    assert pool.pod_started("b", 1.0) is False
    assert pool.holding == 1 and pool.waiting == 1


def test_r6_stop_returns_the_slot_or_hands_it_to_the_oldest_waiter() -> None:
    pool = pool_with(bound=2, holding=2, waiting=2)
    assert pool.pod_stopped("held-0", 5.0) == ("wait-0", 5.0)
    assert pool.bound == 2 and pool.holding == 2 and pool.waiting == 1
    pool.pod_stopped("wait-1", 6.0)  # a waiting pod goes away
    assert pool.waiting == 0
    pool.pod_stopped("held-1", 7.0)
    assert pool.idle == 1 and pool.bound == 2  # idle, not released to the VPC


def test_r7_target_change_runs_at_once() -> None:
    pool = pool_with(bound=12, holding=2, quick=True)
    pool.set_targets(Targets(1, 2))
    plan = decide(pool, 30.0)  # mid-interval
    assert plan.round_ran and len(plan.releases) == 12 - (2 + 2)
    pool.begin(plan, 30.0)
    assert not pool.round_due(30.0)  # the change's round ran; the next is at a tick
    pool.set_targets(Targets(9, 9))
    assert bind_count(decide(pool, 31.0)) == (2 + 9) - 4


def test_a_held_slot_is_never_released() -> None:
    pool = pool_with(bound=3, holding=3, m=0, big_m=0, quick=True)
    eni_id, ip = pool.holders["held-0"]
    with pytest.raises(ValueError, match="never released"):
        pool.begin(Plan(releases=(Release(eni_id, ip, ReleaseReason.ABOVE_MAX),)), 1.0)
    pool.set_limits(Limits(0, 9))  # even a clamp to 0 keeps held slots
    assert decide(pool, 200.0).releases == ()


def test_least_eni_packing() -> None:
    pool = pool_with(bound=18, m=0, big_m=30, limits=Limits(3, 9), quick=True)  # two full ENIs
    first, second = sorted(pool.enis)
    for j in range(3):
        pool.pod_started(f"p{j}", 1.0)
    # Pods pack onto the ENI with the most allocated IPs: all on one ENI.
    assert len({pool.holders[f"p{j}"][0] for j in range(3)}) == 1
    busy = pool.holders["p0"][0]
    quiet = second if busy == first else first
    # Releases take idle IPs from the ENI with the fewest allocated first.
    pool.set_targets(Targets(0, 0))
    plan = decide(pool, 120.0)
    assert len(plan.releases) == 15
    assert [r.eni_id for r in plan.releases[:9]] == [quiet] * 9
    assert plan.detach == (quiet,)  # emptied and not needed: detached


def test_a_new_eni_only_when_attached_enis_are_full_and_in_the_freest_subnet() -> None:
    pool = pool_with(bound=5, holding=5, m=6, big_m=6, limits=Limits(3, 9))
    pool.see_subnets({"subnet-a": 40, "subnet-b": 300})
    plan = decide(pool, 1.0)  # wants P + m - B = 6 more: 4 fit on the attached ENI
    assert [(b.new_eni, b.count) for b in plan.binds] == [(False, 4), (True, 2)]
    assert plan.binds[1].subnet == "subnet-b"
    pool.see_subnets({"subnet-b": 0})  # dry subnets are skipped
    assert decide(pool, 1.0).binds[1].subnet == "subnet-a"


def test_latency_ip_bind_vs_eni_attach() -> None:
    lat = Latencies(ip_bind=2.0, eni_attach=15.0)
    on_attached = BindOp(1, "eni-1", False, "", 1)
    on_new = BindOp(2, "pending-eni-2", True, "", 1)
    assert lat.of(on_attached, Mode.ROUTE_ENI) == 2.0
    assert lat.of(on_new, Mode.ROUTE_ENI) == 17.0
    assert lat.of(on_new, Mode.DIRECT_ENI) == 15.0


def test_direct_eni_mode_one_slot_per_eni() -> None:
    pool = pool_with(bound=0, m=2, big_m=2, limits=Limits(4), mode=Mode.DIRECT_ENI, quick=True)
    plan = decide(pool, 0.0)
    assert [(b.new_eni, b.count) for b in plan.binds] == [(True, 1), (True, 1)]
    ops = pool.begin(plan, 0.0)
    for op in ops:
        pool.bind_done(op.op_id, f"eni-d{op.op_id}", [f"10.8.0.{op.op_id}"], 15.0)
    assert pool.bound == 2 and len(pool.enis) == 2
    with pytest.raises(ValueError):
        NodePool("n", Mode.DIRECT_ENI, Targets(1, 1), Limits(4, 9))
    pool.set_targets(Targets(0, 0))
    plan = decide(pool, 120.0)
    assert len(plan.releases) == 2 and len(plan.detach) == 2


def test_failed_bind_is_asked_again() -> None:
    pool = pool_with(bound=0, m=2, big_m=2)
    ops = pool.begin(decide(pool, 0.0), 0.0)
    pool.bind_failed(ops[0].op_id)
    assert pool.in_flight == 0 and pool.enis == {}
    assert bind_count(decide(pool, 1.0)) == 2
