"""The live engine follows a schedule through the reconciler (docs/contracts/schedules.md):
the pair of the hour at once, a switch at each hour boundary that changes it, run as R7
before the tick's own round, against the simulated VPC in virtual time."""

from __future__ import annotations

from exporter.simcluster import ClusterSettings, SimulatedCluster
from pool_engine.config import Targets
from pool_engine.warm_schedule import Block, WarmSchedule


def test_the_reconciler_switches_at_the_hour_before_the_ticks_round() -> None:
    cluster = SimulatedCluster(ClusterSettings(nodes=1, direct_every=0))
    reconciler, pool = cluster.reconciler, cluster.pools[0]
    day = WarmSchedule.from_blocks([Block(23, 1, Targets(6, 6)), Block(1, 23, Targets(1, 1))])
    for t in range(1, 60):  # the pool's first inventory sync, its 5/5 bound
        reconciler.step(float(t))
    reconciler.follow(pool, day, 0.0, 60.0)  # 00:01 UTC: 6/6 at once (R7 grows)
    assert pool.targets == Targets(6, 6) and pool.schedule == day
    assert pool.next_switch == 3600.0
    t = 60.0
    while t < 3599.0:
        t = min(reconciler.next_wake(t), 3599.0)
        reconciler.step(t)
    assert (pool.bound, pool.in_flight, pool.targets) == (6, 0, Targets(6, 6))
    assert reconciler.next_wake(3599.0) == 3600.0  # a switch (and a tick) is due then
    reconciler.step(3600.0)
    # the change's round releases one idle slot (slow release), the tick's round one more
    assert pool.targets == Targets(1, 1) and pool.bound == 4
    assert pool.next_switch == 23 * 3600.0
    assert reconciler.counters(pool).releases["above_max"] == 2
