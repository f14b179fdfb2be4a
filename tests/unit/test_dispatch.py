"""How outcomes end operations: NotFound, timeouts (doubts a sync settles), outcomes
that are not ours (docs/contracts/fault-audit.md)."""

from __future__ import annotations

import pytest

from exporter.cloud import CloudSettings, SimulatedVpc
from exporter.faults import Fate, FaultRates
from pool_engine.config import Defaults, Limits, Mode, Targets
from pool_engine.plan import BindOp
from pool_engine.pool import NodePool
from pool_engine.reconciler import Reconciler
from pool_engine.registry import Registry

FIXED = CloudSettings(ip_bind_seconds=(1.0, 1.0), eni_attach_seconds=(10.0, 10.0),
                      release_seconds=(1.0, 1.0), detach_seconds=(2.0, 2.0))  # fmt: skip


class Engine:
    """One pool with m = M = 2 (quick release), two IPs bound on one ENI at t = 12."""

    def __init__(self) -> None:
        self.vpc = SimulatedVpc(FIXED)
        self.fate = Fate.OK
        self.vpc.faults.draw = self.draw  # type: ignore[method-assign]
        registry = Registry(Defaults(ip_min_warm=2, ip_max_warm=2, quick_release=True))
        self.engine = Reconciler(registry, self.vpc, sync_interval=1000.0)
        self.pool: NodePool = registry.ensure("n", Mode.ROUTE_ENI, Limits(3, 9), 0.0)
        self.engine.rebuild(self.pool, {}, 0.0)
        self.step(0.0)
        self.step(12.0)
        assert self.pool.bound == 2

    def draw(self, rates: FaultRates, now: float) -> Fate:
        return self.fate

    def step(self, now: float) -> None:
        self.engine.step(now)

    def settled(self) -> set[str]:
        (eni,) = self.vpc.enis[("n", Mode.ROUTE_ENI)].values()
        return {ip for ip, state in eni.ips.items() if state.value == "bound"}


def release_one(engine: Engine, fate: Fate) -> str:
    """Lower M so that the next round releases one idle IP, under ``fate``."""
    pool = engine.pool
    pool.set_targets(Targets(1, 1))
    engine.fate = fate
    before = {ip for e in pool.enis.values() for ip in e.ips}
    engine.engine.reconcile(pool, 13.0)
    engine.fate = Fate.OK
    (eni,) = pool.enis.values()
    (ip,) = before - set(eni.ips)
    return ip


@pytest.mark.parametrize(("fate", "bound_after_sync"), [
    (Fate.TIMED_OUT_DONE, 1), (Fate.TIMED_OUT_UNDONE, 2),
])  # fmt: skip
def test_a_timed_out_release_is_doubtful_until_a_sync(fate: Fate, bound_after_sync: int) -> None:
    engine = Engine()
    ip = release_one(engine, fate)
    engine.fate = Fate.FAIL  # the answer is RequestTimeout; the sync it asks for fails
    engine.step(20.0)
    (eni,) = engine.pool.enis.values()
    assert ip in eni.releasing and ip not in eni.ips and engine.pool.bound == 1
    engine.engine.pod_started(engine.pool, "a", 20.0)
    assert engine.pool.holders["a"][1] != ip  # a doubtful IP is never handed out
    engine.fate = Fate.OK
    engine.step(100.0)  # the sync, retried within one backoff cap
    assert eni.releasing == set() and (ip in eni.ips) == (bound_after_sync == 2)
    assert engine.pool.bound == len(engine.settled())


def test_a_release_answered_not_found_is_done() -> None:
    engine = Engine()
    key = ("n", Mode.ROUTE_ENI)
    ((eni_id, cloud_eni),) = engine.vpc.enis[key].items()
    for gone in list(cloud_eni.ips):  # released behind the engine's back
        engine.vpc.state.set_ip(key, eni_id, gone, None)
    ip = release_one(engine, Fate.OK)
    engine.step(14.5)  # InvalidIp.NotFound: done, not idle again
    (eni,) = engine.pool.enis.values()
    assert ip not in eni.ips and ip not in eni.releasing


def test_an_outcome_that_is_not_ours_is_never_applied_but_looked_up() -> None:
    engine = Engine()
    (eni_id,) = engine.pool.enis
    engine.vpc.bind("n", Mode.ROUTE_ENI, BindOp(1, eni_id, False, "", 3), "someone:1", 20.0)
    engine.step(21.0)  # the outcome (3 IPs) is not ours: a sync adopts what it did instead
    assert engine.pool.bound == 5 == len(engine.settled())
    assert engine.pool.in_flight == 0
