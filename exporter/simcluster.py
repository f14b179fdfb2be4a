"""A simulated cluster: churn from pool_engine.workload driving the real engine
against the simulated VPC — the embedded default behind ``eni-exporter simulate``.

Nodes come in mixed sizes (2–32 cores) with TKE's default limits for their size;
one node in five runs its pods in direct-eni mode. Churn is generated a week at a
time; pods still running at the end of a week stop there and the next week starts.
Time is virtual: ``advance(until)`` replays everything up to ``until`` in order, so
a test can run days in seconds and the daemon can pace it against the wall clock.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from exporter.cloud import CloudSettings, SimulatedVpc
from pool_engine.config import Defaults, Mode, default_limits
from pool_engine.events import START
from pool_engine.pool import NodePool
from pool_engine.reconciler import Reconciler
from pool_engine.registry import Registry
from pool_engine.workload import DAY, WorkloadSpec, generate, node_sizes


@dataclass(frozen=True)
class ClusterSettings:
    nodes: int = 20
    seed: int = 0
    churn: float = 1.0
    """Multiplier on the workload's arrival rates."""
    chunk_days: float = 7.0
    """Churn is generated this many days at a time."""
    direct_every: int = 5
    """Every n-th node runs direct-eni pods (0: none)."""
    defaults: Defaults = field(default_factory=Defaults)
    cloud: CloudSettings = field(default_factory=CloudSettings)


class SimulatedCluster:
    def __init__(self, settings: ClusterSettings, record: Path | None = None) -> None:
        self.settings = settings
        self.vpc = SimulatedVpc(settings.cloud)
        self.registry = Registry(settings.defaults)
        self.reconciler = Reconciler(self.registry, self.vpc)
        self.now = 0.0
        self.events = 0
        self.cores = node_sizes(WorkloadSpec(nodes=settings.nodes, seed=settings.seed))
        self.pools: list[NodePool] = []
        for k in range(settings.nodes):
            mode = self.mode_of(k)
            limits = default_limits(int(self.cores[k]), mode)
            pool = self.registry.ensure(f"node-{k:04d}", mode, limits, 0.0)
            pool.see_subnets(self.vpc.subnets())
            self.pools.append(pool)
        self.running: dict[int, int] = {}  # pod -> node index
        self._chunk = -1
        self._load_chunk(0)
        self._record: TextIO | None = None
        self._writer: csv.Writer | None = None  # type: ignore[name-defined]
        if record is not None:
            self._record = record.open("w", newline="", encoding="utf-8")
            self._writer = csv.writer(self._record)
            self._writer.writerow(("time", "node", "event", "pod"))
        self.reconciler.step(0.0)

    def mode_of(self, k: int) -> Mode:
        every = self.settings.direct_every
        return Mode.DIRECT_ENI if every and k % every == every - 1 else Mode.ROUTE_ENI

    def advance(self, until: float) -> None:
        """Replay churn, cloud completions and release rounds up to ``until``."""
        while True:
            t_event = self._times[self._i] if self._i < self._times.shape[0] else math.inf
            if t_event == math.inf and until >= self._chunk_end:
                self._next_chunk()
                continue
            t_done = self.vpc.next_finish()
            t_done = math.inf if t_done is None else t_done
            t = min(t_event, t_done)
            if t > until:
                break
            if t_done <= t_event:
                self.now = t_done
                self.reconciler.step(t_done)
            else:
                self.now = t_event
                self._pod_event(self._i)
                self._i += 1
        self.now = max(self.now, until)
        self.reconciler.step(until)

    def restart_engine(self) -> None:
        """Throw the engine's memory away, as a crash would, and rebuild it from the
        provider (ENIs and IPs) and the cluster (which pod holds which IP, which pods
        still wait). Operations still in flight at the provider are adopted when they
        finish, so nothing leaks and nothing is bound twice."""
        self.registry = Registry(self.settings.defaults)
        self.reconciler = self.reconciler.restarted(self.registry)
        rebuilt = []
        for pool in self.pools:
            fresh = self.registry.ensure(pool.node, pool.mode, pool.limits, self.now)
            holders = {ip: pod for pod, (_, ip) in pool.holders.items()}
            self.reconciler.rebuild(fresh, holders, self.now)
            fresh.restore(pool.targets, pool.next_round, pool.waiters)
            rebuilt.append(fresh)
        self.pools = rebuilt
        self.reconciler.step(self.now)

    def close(self) -> None:
        if self._record is not None:
            self._record.close()
            self._record = None

    # --- internals ------------------------------------------------------------------------

    def _pod_event(self, i: int) -> None:
        k = int(self._nodes[i])
        pool = self.pools[k]
        pod = int(self._pods[i])
        name = f"pod-{pod}"
        t = float(self._times[i])
        if self._kinds[i] == START:
            self.running[pod] = k
            self.reconciler.pod_started(pool, name, t)
            event = "start"
        else:
            self.running.pop(pod, None)
            self.reconciler.pod_stopped(pool, name, t)
            event = "stop"
        self.events += 1
        if self._writer is not None:
            self._writer.writerow((f"{t:.3f}", pool.node, event, name))

    def _load_chunk(self, chunk: int) -> None:
        span = self.settings.chunk_days * DAY
        spec = WorkloadSpec(
            nodes=self.settings.nodes,
            days=self.settings.chunk_days,
            seed=self.settings.seed * 1_000_003 + chunk,
            churn=self.settings.churn,
        )
        churn = generate(spec)
        offset = chunk * span
        times = np.concatenate([c.times for c in churn]) + offset
        nodes = np.concatenate(
            [np.full(c.times.shape[0], k, np.int32) for k, c in enumerate(churn)]
        )
        kinds = np.concatenate([c.kinds for c in churn])
        pods = np.concatenate([c.pods for c in churn]) + chunk * 10_000_000
        order = np.argsort(times, kind="stable")
        self._times, self._nodes = times[order], nodes[order]
        self._kinds, self._pods = kinds[order], pods[order]
        self._i = 0
        self._chunk = chunk
        self._chunk_end = offset + span

    def _next_chunk(self) -> None:
        """End the week: pods still running stop at its end; the next week begins."""
        end = self._chunk_end
        for pod, k in sorted(self.running.items()):
            self.reconciler.pod_stopped(self.pools[k], f"pod-{pod}", end)
            if self._writer is not None:
                self._writer.writerow((f"{end:.3f}", self.pools[k].node, "stop", f"pod-{pod}"))
        self.running.clear()
        self._load_chunk(self._chunk + 1)
