"""The engine loop publishes a new snapshot only when a pool changed."""

from __future__ import annotations

from exporter.daemon import Daemon, Engine
from exporter.metrics import Instruments
from exporter.simcluster import ClusterSettings, SimulatedCluster


def test_quiet_steps_keep_the_snapshot_and_changes_replace_it() -> None:
    cluster = SimulatedCluster(ClusterSettings(nodes=3, seed=1))
    now = [0.0]
    daemon = Daemon(Engine(cluster.reconciler, cluster.advance), Instruments("t"), lambda: now[0])
    daemon.step()
    first = daemon.snapshot
    assert len(first.rows) == 3
    now[0] = 60.0  # binds done by then; afterwards nothing happens until the next pod event
    daemon.step()
    settled = daemon.snapshot
    assert settled is not first
    daemon.step()
    assert daemon.snapshot is settled  # a quiet step publishes nothing new
    pool = cluster.pools[0]
    cluster.reconciler.pod_started(pool, "extra", 60.0)
    daemon.step()
    assert daemon.snapshot is not settled
    assert {r.node: r.in_use for r in daemon.snapshot.rows}[pool.node] == pool.holding
