"""The simulated VPC's truth against each node's limits, under restarts and faults.

The fault audit's JSON has no field for it and the simulated VPC does not refuse an
over-limit call, so this drives the simulated cluster as `eni-exporter simulate` does
and looks at the truth every few simulated seconds: no node may hold more ENIs than its
limit, nor an ENI more IPs than its quota (docs/contracts/fault-audit.md, "Never past
the limits"). The cases are the worst adversarial runs found
(sessions 5 and 12); before the fix the first held 789 IPs on a node of 203.

    python bench/bench_limits.py          # ~2 min here
"""

from __future__ import annotations

import sys
import time

from exporter.cloud import CloudSettings
from exporter.simcluster import ClusterSettings, SimulatedCluster
from pool_engine.config import Defaults
from pool_engine.placement import Placement
from pool_engine.workload import Workload

CASES: dict[str, tuple[ClusterSettings, float, float]] = {
    "restart every 1 s, errors 0.9, churn 20, binpack (20 nodes, 600 s)": (
        ClusterSettings(nodes=20, seed=1210878122, churn=20, restart_every=1.0,
                        placement=Placement.BINPACK, workload=Workload.FLAT,
                        cloud=CloudSettings(error_rate=0.9, throttle_rate=0.3, timeout_rate=0.1,
                                            faults_until=300, seed=1210878122)),
        600.0, 1.0),
    "acceptance mix, seed 7 (20 nodes, 48 h)": (
        ClusterSettings(nodes=20, seed=7, restart_every=1800.0,
                        cloud=CloudSettings(error_rate=0.2, throttle_rate=0.2, timeout_rate=0.05,
                                            seed=7)),
        172800.0, 60.0),
    "timeouts 0.5, min warm 30 (10 nodes, 2 h)": (
        ClusterSettings(nodes=10, seed=546665241, restart_every=600.0,
                        defaults=Defaults(ip_min_warm=30, ip_max_warm=60),
                        cloud=CloudSettings(error_rate=0.7, throttle_rate=0.5, timeout_rate=0.5,
                                            faults_until=3600, seed=546665241)),
        7200.0, 1.0),
    "a changing IP credited to a bind that failed (8 nodes, 2 h; session 12)": (
        ClusterSettings(nodes=8, seed=195, restart_every=30.0, workload=Workload.FLAT,
                        cloud=CloudSettings(error_rate=0.1, timeout_rate=0.2,
                                            seed=195).scaled(3.0)),
        7200.0, 1.0),
}  # fmt: skip


def over_limit(cluster: SimulatedCluster) -> int:
    """Nodes past their ENI limit plus ENIs past their IP quota, at the cloud now."""
    count = 0
    for k, pool in enumerate(cluster.pools):
        limits = cluster.limits[k]
        enis = cluster.vpc.enis.get((pool.node, pool.mode), {})
        count += len(enis) > limits.max_enis
        count += sum(len(eni.ips) > limits.ips_per_eni for eni in enis.values())
    return count


def main() -> int:
    print("| case | looks | worst look (over-limit nodes + ENIs) | restarts | crashes | wall s |")
    print("|---|---|---|---|---|---|")
    failed = False
    for name, (settings, duration, step) in CASES.items():
        began = time.perf_counter()
        cluster, t, worst, looks = SimulatedCluster(settings), 0.0, 0, 0
        while t < duration:
            t += step
            cluster.advance(t)
            worst, looks = max(worst, over_limit(cluster)), looks + 1
        failed |= worst > 0 or cluster.crashes > 0
        print(f"| {name} | {looks:,} | {worst} | {cluster.restarts} | {cluster.crashes} "
              f"| {time.perf_counter() - began:.1f} |")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
