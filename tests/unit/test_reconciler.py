"""The reconciler against the simulated VPC: faults, throttling, crashes.

These drive the real engine in virtual time (no sleeping): a run of 10,000+ pod
events takes a few seconds.
"""

from __future__ import annotations

import dataclasses

import pytest

from exporter.cloud import CloudSettings
from exporter.simcluster import ClusterSettings, SimulatedCluster
from pool_engine.config import Defaults
from pool_engine.pool import NodePool


def check_consistent(cluster: SimulatedCluster) -> None:
    """No held slot lost, every holder's slot bound at the provider, no IP twice."""
    seen: set[str] = set()
    for pool in cluster.pools:
        vpc_ips = {
            ip
            for eni in cluster.vpc.enis.get((pool.node, pool.mode), {}).values()
            for ip in eni.ips
        }
        for pod, (eni_id, ip) in pool.holders.items():
            assert pool.enis[eni_id].ips[ip] == pod
            assert ip in vpc_ips, f"{pod} holds {ip}, which the VPC does not have bound"
        for eni in pool.enis.values():
            for ip in eni.ips:
                assert ip not in seen, f"{ip} bound twice"
                seen.add(ip)


def quiesce(cluster: SimulatedCluster, seconds: float, drain: bool = True) -> None:
    """Let operations finish and rounds run, with no new pod events; with ``drain``,
    keep going (up to ten more minutes) until nothing is in flight at the VPC."""
    t = cluster.now
    end = t + seconds
    while t < end or (drain and cluster.vpc.next_finish() is not None and t < end + 600.0):
        t += 1.0
        cluster.reconciler.step(t)
    cluster.now = t


def in_band(pool: NodePool) -> bool:
    b, k, p, w = pool.bound, pool.in_flight, pool.holding, pool.waiting
    low = min(pool.capacity, p + w + pool.targets.min_warm)
    return k == 0 and low <= b <= max(low, p + w + pool.targets.max_warm)


def test_faults_leak_nothing_release_no_held_slot_and_settle_within_two_rounds() -> None:
    faulty = CloudSettings(error_rate=0.2, throttle_rate=0.1, api_qps=20.0, seed=7)
    cluster = SimulatedCluster(
        ClusterSettings(nodes=12, seed=7, defaults=Defaults(quick_release=True), cloud=faulty)
    )
    t = 0.0
    while cluster.events < 10_000:
        t += 600.0
        cluster.advance(t)  # NodePool.begin raises if a plan ever releases a held slot
        check_consistent(cluster)
    counters = [cluster.reconciler.counters(pool) for pool in cluster.pools]
    assert sum(c.binds["error"] for c in counters) > 100  # the faults really happened
    assert sum(c.binds["throttled"] for c in counters) > 100

    cluster.vpc.settings = dataclasses.replace(faulty, error_rate=0.0, throttle_rate=0.0)
    quiesce(cluster, 2 * 120.0, drain=False)  # two release rounds, not a second more
    check_consistent(cluster)
    for pool in cluster.pools:
        assert in_band(pool), (pool.node, pool.bound, pool.in_flight, pool.holding, pool.waiting)
    quiesce(cluster, 0.0)  # let the last releases land
    for pool in cluster.pools:
        assert cluster.vpc.bound(pool.node, pool.mode) == pool.bound, pool.node


@pytest.mark.parametrize("error_rate", [0.0, 0.2])
def test_restart_rebuilds_the_same_state_from_the_provider(error_rate: float) -> None:
    cloud = CloudSettings(error_rate=error_rate, seed=11)
    cluster = SimulatedCluster(ClusterSettings(nodes=8, seed=11, cloud=cloud))
    cluster.advance(3 * 3600.0)
    before = {p.node: (p.holding, p.waiting) for p in cluster.pools}
    truth = {p.node: cluster.vpc.bound(p.node, p.mode) for p in cluster.pools}

    # Operations still in flight at the VPC finish after this; the next inventory sync
    # adopts what they did. The rebuild's own inventory read is a cloud call that can
    # fail like any other (the pool then waits for a later read): let this one through.
    cluster.vpc.settings = dataclasses.replace(cloud, error_rate=0.0)
    cluster.restart_engine()
    cluster.vpc.settings = cloud
    for pool in cluster.pools:
        assert (pool.holding, pool.waiting) == before[pool.node]
        assert pool.bound == truth[pool.node]  # the provider's truth, not the old memory

    cluster.advance(cluster.now + 3600.0)
    quiesce(cluster, 120.0)
    check_consistent(cluster)
    for pool in cluster.pools:
        assert cluster.vpc.bound(pool.node, pool.mode) == pool.bound
