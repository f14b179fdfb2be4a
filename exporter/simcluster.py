"""A simulated cluster: churn from pool_engine.workload driving the real engine
against the simulated VPC — the embedded default behind ``eni-exporter simulate``.

Nodes come in mixed sizes (2–32 cores) with TKE's default limits for their size;
one node in five runs its pods in direct-eni mode. Churn is generated a week at a
time (one week's rows in memory); the pods running at a week's end run on into the
next week, which neither stops nor starts them again: the churn model carries them
with the stops it drew (:func:`pool_engine.workload.generate_chunk`) and the scheduler
keeps them on their nodes (:mod:`exporter.scheduler`), so the weeks do not show in
the churn.
Time is virtual: ``advance(until)`` replays everything up to ``until`` in order (pod
events, cloud completions, the engine's own timers, engine restarts), so a test can
run days in seconds and the daemon can pace it against the wall clock.

What must outlive an engine restart is kept by the cluster, not the engine: each
node's targets from its first sight and its last valid ones, when it was first seen,
and which pod holds which IP (:class:`exporter.podbook.PodBook`). An exception that
reaches the loop's top level is logged and counted (``crashes``) and the loop goes on.
"""

from __future__ import annotations

import csv
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol, TextIO

import numpy as np

from exporter.cloud import CloudSettings, SimulatedVpc
from exporter.podbook import PodBook
from exporter.scheduler import Scheduler
from pool_engine.backoff import TokenBucket
from pool_engine.config import Defaults, Limits, Mode, Targets, default_limits
from pool_engine.errors import InputError
from pool_engine.events import START
from pool_engine.placement import UNPLACED, Placement
from pool_engine.pool import NodePool
from pool_engine.reconciler import Reconciler
from pool_engine.registry import Registry
from pool_engine.schedule import DEFAULT_SYNC_INTERVAL
from pool_engine.workload import (
    DAY,
    Carry,
    NodeChurn,
    Workload,
    WorkloadSpec,
    generate_chunk,
    node_sizes,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterSettings:
    nodes: int = 20
    seed: int = 0
    churn: float = 1.0
    """Multiplier on the workload's arrival rates."""
    chunk_days: float = 7.0
    """Churn is generated this many days at a time (pods running at a chunk's end run
    on into the next)."""
    direct_every: int = 5
    """Every n-th node runs direct-eni pods (0: none)."""
    defaults: Defaults = field(default_factory=Defaults)
    cloud: CloudSettings = field(default_factory=CloudSettings)
    sync_interval: float = DEFAULT_SYNC_INTERVAL
    """Seconds between the engine's inventory syncs of a pool."""
    restart_every: float | None = None
    """Throw the engine away and rebuild it every this many seconds (None: never)."""
    placement: Placement = Placement.SPREAD
    """How the scheduler places route-eni pods on route-eni nodes (direct-eni pods and
    the pods of a node's daily routine stay on the node they were generated for)."""
    workload: Workload = Workload.STEADY
    """The background churn alone, or with each node's daily routine (jobs at fixed
    UTC times, business-hours services, morning scale-ups)."""


class Observer(Protocol):
    """Who judges what the engine does (the fault audit)."""

    def handout(self, node: str, mode: Mode, pod: str, ip: str, holder: str | None,
                now: float) -> None:  # fmt: skip
        """``ip`` was handed to ``pod``; ``holder`` is another running pod holding it."""

    def pod_stopped(self, node: str, mode: Mode) -> None:
        """A pod on the node stopped (P may have dropped)."""

    def stepped(self, now: float) -> None:
        """The cluster finished everything at ``now``."""


class SimulatedCluster:
    def __init__(self, settings: ClusterSettings, record: Path | None = None) -> None:
        self.settings = settings
        self.vpc = SimulatedVpc(settings.cloud)
        self.book = PodBook()
        self.observer: Observer | None = None
        self.now = 0.0
        self.events = 0
        self.crashes = 0
        self.restarts = 0
        self._ids = random.Random(settings.seed)
        self.registry = Registry(settings.defaults)
        api_qps = settings.cloud.api_qps  # the engine paces itself at the cloud's limit
        self.reconciler = Reconciler(self.registry, self.vpc, engine_id=self._engine_id(),
                                     bucket=TokenBucket(rate=api_qps, burst=api_qps),
                                     sync_interval=settings.sync_interval,
                                     record_handouts=True,
                                     jitter_seed=self._ids.getrandbits(64))  # fmt: skip
        self.cores = node_sizes(self.week_spec(0).cluster())  # as the churn model sizes them
        self.limits: list[Limits] = []
        self.targets: list[Targets] = []
        """Each node's targets: the defaults at first sight (no NEC in a simulation)."""
        self.pools: list[NodePool] = []
        for k in range(settings.nodes):
            mode = self.mode_of(k)
            self.limits.append(default_limits(int(self.cores[k]), mode))
            self.targets.append(settings.defaults.targets(mode))
            self.pools.append(self.registry.ensure(f"node-{k:04d}", mode, self.limits[k], 0.0))
        self.running: dict[str, int] = {}
        """Pod -> node index, in start order."""
        route = np.array([self.mode_of(k) is Mode.ROUTE_ENI for k in range(settings.nodes)])
        self._scheduler = Scheduler(self.cores, self.limits, route, settings.placement)
        self._carry: Carry | None = None
        """What the churn model's last week left the next (None: before the first)."""
        self._chunk = -1
        self._load_chunk(0)
        every = settings.restart_every
        self._next_restart = every if every else math.inf
        self._record: TextIO | None = None
        self._writer: csv.Writer | None = None  # type: ignore[name-defined]
        self._record_path: Path | None = None
        if record is not None:
            self.record_to(record)
        for pool in self.pools:
            self._guarded(partial(self.reconciler.rebuild, pool, {}, 0.0))
        self._guarded(partial(self.reconciler.step, 0.0))

    def mode_of(self, k: int) -> Mode:
        every = self.settings.direct_every
        return Mode.DIRECT_ENI if every and k % every == every - 1 else Mode.ROUTE_ENI

    def advance(self, until: float) -> None:
        """Replay churn, cloud completions, engine timers (round ticks, syncs, retries)
        and restarts up to ``until``, in time order (a restart due at ``until`` itself
        waits for the next call: none happens at the end of a run)."""
        while True:
            rows = self._i < self._times.shape[0]
            t_event = float(self._times[self._i]) if rows else self._chunk_end  # the next week
            t_done = self.vpc.next_finish()
            t_done = math.inf if t_done is None else t_done
            t_wake = self.reconciler.next_wake(self.now)
            t_restart = self._next_restart if self._next_restart < until else math.inf
            t = min(t_event, t_done, t_wake, t_restart)
            if t > until:
                break
            self.now = max(self.now, t)
            if t_done <= t:
                self._guarded(partial(self.reconciler.step, t))
            elif t_event <= t and rows:
                self._pod_event(self._i)
                self._i += 1
            elif t_event <= t:
                self._next_chunk()
            elif t_restart <= t:
                self._next_restart += self.settings.restart_every or math.inf
                self._guarded(self.restart_engine)
            else:
                self._guarded(partial(self.reconciler.step, t))
        self.now = max(self.now, until)
        self._guarded(partial(self.reconciler.step, self.now))

    def start_pod(self, k: int, pod: str) -> None:
        """A pod starts on node ``k`` now (the workload's, or a test's)."""
        pool = self.pools[k]
        self.running[pod] = k
        self.book.started(pod, pool.node, self.now)
        self._guarded(partial(self.reconciler.pod_started, pool, pod, self.now))
        self._recorded(pool, "start", pod)

    def stop_pod(self, pod: str) -> None:
        """A running pod stops now."""
        k = self.running.pop(pod)
        pool = self.pools[k]
        self.book.stopped(pod)
        if self.observer is not None:
            self.observer.pod_stopped(pool.node, pool.mode)
        self._guarded(partial(self.reconciler.pod_stopped, pool, pod, self.now))
        self._recorded(pool, "stop", pod)

    def stop_restarts(self) -> None:
        self._next_restart = math.inf

    def restart_engine(self) -> None:
        """Throw the engine's memory away, as a crash would, and rebuild it from the
        provider's inventory (settled IPs) and the cluster (targets, first sight,
        which pod holds which IP, which pods wait), under a new engine identity.
        Operations still in flight are the old engine's: their outcomes are never
        taken for the new engine's, and the next inventory sync adopts their effects."""
        self.restarts += 1
        self.registry = Registry(self.settings.defaults)
        self.reconciler = self.reconciler.restarted(
            self.registry, self._engine_id(), jitter_seed=self._ids.getrandbits(64)
        )
        rebuilt = []
        for k, old in enumerate(self.pools):
            pool = self.registry.ensure(old.node, old.mode, self.limits[k], 0.0)
            pool.restore(self.targets[k], self.book.waiters(pool.node), self.now)
            self.reconciler.rebuild(pool, self.book.holders(pool.node), self.now)
            rebuilt.append(pool)
        self.pools = rebuilt
        self.reconciler.step(self.now)

    def record_to(self, path: Path) -> None:
        """From now on, write every pod start and stop to ``path`` as a trace
        (time,node,event,pod,mode); OSError if it cannot be written."""
        assert self._record is None, "already recording"
        self._record = path.open("w", newline="", encoding="utf-8")
        self._record_path = path
        self._writer = csv.writer(self._record)
        self._writer.writerow(("time", "node", "event", "pod", "mode"))

    def close(self) -> None:
        record, self._record, self._writer = self._record, None, None
        if record is not None:
            try:
                record.close()
            except OSError as error:
                raise self._unrecordable(error) from None

    # --- internals ------------------------------------------------------------------------

    def _engine_id(self) -> str:
        return f"{self._ids.getrandbits(48):012x}"

    def _guarded(self, call: Callable[[], object]) -> None:
        """Run one engine call at the loop's top level: an exception is logged and
        counted, and the loop goes on. Then hand what was handed out to the book."""
        try:
            call()
        except Exception:
            self.crashes += 1
            log.exception("engine error at t=%.3f (crash %d)", self.now, self.crashes)
        for node, mode, handout in self.reconciler.drain_handouts():
            holder = self.book.handed(handout.pod, handout.ip)
            if self.observer is not None:
                self.observer.handout(node, mode, handout.pod, handout.ip, holder, handout.at)
        if self.observer is not None:
            self.observer.stepped(self.now)

    def _pod_event(self, i: int) -> None:
        self.now = float(self._times[i])
        name = f"pod-{int(self._pods[i])}"
        if self._kinds[i] == START:
            self.start_pod(int(self._nodes[i]), name)
        elif name in self.running:
            self.stop_pod(name)
        self.events += 1

    def _recorded(self, pool: NodePool, event: str, pod: str) -> None:
        if self._writer is not None:
            try:
                self._writer.writerow((f"{self.now:.3f}", pool.node, event, pod,
                                       pool.mode.value))  # fmt: skip
            except OSError as error:  # the disk filled up
                raise self._unrecordable(error) from None

    def _unrecordable(self, error: OSError) -> InputError:
        """A failed write of the recorded trace: one line, exit 2."""
        problem = f"cannot record: {error.strerror or error}"
        return InputError(str(self._record_path), None, problem)

    def week_spec(self, chunk: int) -> WorkloadSpec:
        """The churn of chunk ``chunk`` (a week by default): its own draws, the cluster's
        nodes (sizes, profiles and routines from the cluster's seed)."""
        return WorkloadSpec(
            nodes=self.settings.nodes,
            days=self.settings.chunk_days,
            seed=self.settings.seed * 1_000_003 + chunk,
            churn=self.settings.churn,
            workload=self.settings.workload,
            origin=chunk * self.settings.chunk_days * DAY,
            routine_seed=self.settings.seed,
        )

    def _load_chunk(self, chunk: int) -> None:
        span = self.settings.chunk_days * DAY
        churn, self._carry = generate_chunk(self.week_spec(chunk), self._carry)
        offset = chunk * span
        times = np.concatenate([c.times for c in churn]) + offset
        nodes = np.concatenate(
            [np.full(c.times.shape[0], k, np.int32) for k, c in enumerate(churn)]
        )
        kinds = np.concatenate([c.kinds for c in churn])
        pods = np.concatenate([c.pods for c in churn])
        requests = np.concatenate([_requests(c) for c in churn])
        routine = np.concatenate([c.routine_rows() for c in churn])
        order = np.argsort(times, kind="stable")
        times, nodes, kinds, pods = times[order], nodes[order], kinds[order], pods[order]
        requests, routine = requests[order], routine[order]
        where = nodes.astype(np.int64)  # a routine's pods run on their node
        scheduled = ~routine
        where[scheduled] = self._scheduler.place(
            nodes[scheduled], kinds[scheduled], pods[scheduled], requests[scheduled]
        )
        placed = where != UNPLACED  # a pod that fits nowhere never starts
        self._times, self._nodes = times[placed], where[placed].astype(np.int32)
        self._kinds, self._pods = kinds[placed], pods[placed]
        self._i = 0
        self._chunk = chunk
        self._chunk_end = offset + span

    def _next_chunk(self) -> None:
        """The next week begins; the pods running now run on into it."""
        self.now = max(self.now, self._chunk_end)
        self._load_chunk(self._chunk + 1)


def _requests(churn: NodeChurn) -> np.ndarray:
    """CPU millicores each row's pod asks for (200m where the model gave none)."""
    if churn.requests is not None:
        return churn.requests.astype(np.int64)
    return np.full(churn.times.shape[0], 200, dtype=np.int64)
