"""A pool rebuilt from the cloud and the cluster; handouts; what the cloud lost."""

from __future__ import annotations

from pool_engine.config import Limits, Mode, Targets
from pool_engine.inventory import EniRecord, compare
from pool_engine.plan import BindRequest, Plan
from pool_engine.pods import Handout
from pool_engine.pool import NodePool


def fresh() -> NodePool:
    return NodePool("n", Mode.ROUTE_ENI, Targets(2, 4), Limits(3, 9))


def settle(pool: NodePool, *records: EniRecord, now: float = 5.0) -> list[tuple[str, float]]:
    return pool.settle(compare(pool.enis.values(), records), {"s": 100}, now)


def test_claims_meet_their_ips_and_waiters_take_the_rest() -> None:
    pool = fresh()
    pool.claim({"10.0.0.1": "held"})
    pool.restore(Targets(1, 3), {"late": 2.0, "early": 1.0}, 4.0)
    assert pool.pod_started("held", 4.0)  # the cluster says it holds a slot already
    assert (pool.holding, pool.waiting, pool.targets) == (0, 2, Targets(1, 3))
    served = settle(pool, EniRecord("e1", "s", ("10.0.0.1", "10.0.0.2")))
    assert pool.holders == {"held": ("e1", "10.0.0.1"), "early": ("e1", "10.0.0.2")}
    assert served == [("early", 4.0)] and pool.waiting == 1
    assert pool.take_handouts() == [Handout("early", "e1", "10.0.0.2", 5.0)]  # no claim
    assert pool.take_handouts() == []
    assert pool.subnets == {"s": 100}


def test_a_claim_ends_when_its_pod_stops() -> None:
    pool = fresh()
    pool.claim({"10.0.0.1": "gone"})
    assert pool.pod_stopped("gone", 1.0) is None
    settle(pool, EniRecord("e1", "s", ("10.0.0.1",)))
    assert pool.holders == {} and pool.idle == 1


def test_a_slot_the_cloud_lost_is_dropped_when_its_pod_stops() -> None:
    pool = fresh()
    settle(pool, EniRecord("e1", "s", ("10.0.0.1", "10.0.0.2")))
    assert pool.pod_started("a", 6.0)
    held = pool.holders["a"][1]
    other = ({"10.0.0.1", "10.0.0.2"} - {held}).pop()
    settle(pool, EniRecord("e1", "s", (other,)), now=7.0)
    assert pool.bound == 2 and pool.holders["a"] == ("e1", held)  # still held meanwhile
    assert pool.pod_started("b", 8.0) and pool.holders["b"] == ("e1", other)
    assert not pool.pod_started("c", 8.0)
    assert pool.pod_stopped("a", 9.0) is None  # not handed to the waiter
    assert held not in pool.enis["e1"].ips and pool.waiting == 1 and pool.bound == 1


def test_a_bind_result_never_frees_a_slot_a_pod_holds() -> None:
    pool = fresh()
    settle(pool, EniRecord("e1", "s", ("10.0.0.1",)))
    assert pool.pod_started("a", 6.0)
    (op,) = pool.begin(Plan(binds=(BindRequest("e1", "s", 2),)), 6.0)
    served = pool.bind_done(op.op_id, "e1", ["10.0.0.1", "10.0.0.2"], 7.0)
    assert served == [] and pool.holders == {"a": ("e1", "10.0.0.1")}
    assert pool.enis["e1"].ips == {"10.0.0.1": "a", "10.0.0.2": None}


def test_a_released_ip_bound_again_is_no_longer_doubted() -> None:
    pool = fresh()
    settle(pool, EniRecord("e1", "s", ("10.0.0.1", "10.0.0.2")))
    plan = Plan(releases=(), binds=(BindRequest("e1", "s", 1),))
    pool.enis["e1"].releasing.add("10.0.0.3")  # a release that timed out
    (op,) = pool.begin(plan, 6.0)
    pool.bind_done(op.op_id, "e1", ["10.0.0.3"], 7.0)
    assert pool.enis["e1"].releasing == set() and "10.0.0.3" in pool.enis["e1"].ips
