"""Cluster mode: Kubernetes changes drive the engine; NEC annotations configure it.

Two providers sit behind the same engine:

- ``tke-observe`` (read-only on TKE): TKE's own agent keeps the pools. Bound slots
  come from the nodes' extended resources, in-use from the pods; the engine runs as a
  *shadow* against an instant, in-memory provider and publishes the bound count it
  would keep (``eni_pool_expected_bound_slots``) beside the actual one.
- ``simulated``: the engine owns the pools through the simulated VPC.

A refused NEC change leaves the previous targets, is logged, counted and reported as
a Kubernetes Event on the NEC object, once per change read. When the engine acts
(``simulated``), what must outlive a restart is kept on each node's NEC object: the
defaults in force when the node was first seen and the targets last in force
(:class:`kube_adapter.nec.NodeRecord`); a restarted exporter takes them from there.
The engine reads only ``tke.cloud.tencent.com/`` annotations for its configuration,
so writing its record never makes it configure again.

No exception leaves :meth:`ClusterEngine.advance`: a change that cannot be applied, or
an engine step that raises, is logged and counted (:mod:`exporter.incidents`), and the
next change and step go on. Events and records go out through the outbox
(:mod:`exporter.outbox`): the loop never waits on the API server.
"""

from __future__ import annotations

import logging
import queue
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, assert_never

from exporter.cloud import CloudSettings, SimulatedVpc
from exporter.incidents import Incidents, Where
from exporter.kube import Change, NecInfo, NodeInfo, PodInfo
from exporter.snapshot import Snapshot, take_snapshot
from kube_adapter.events import EventType, NecEvent
from kube_adapter.nec import NodeRecord, read_record
from kube_adapter.watcher import Resource, Watcher
from pool_engine.backoff import TokenBucket
from pool_engine.config import Defaults, Mode, Refusal, default_limits
from pool_engine.pool import NodePool
from pool_engine.reconciler import Reconciler
from pool_engine.registry import Registry

log = logging.getLogger(__name__)
ORDER = {Resource.NEC: 0, Resource.NODE: 1, Resource.POD: 2}

INSTANT = CloudSettings(
    ip_bind_seconds=(0.0, 0.0),
    eni_attach_seconds=(0.0, 0.0),
    release_seconds=(0.0, 0.0),
    detach_seconds=(0.0, 0.0),
    api_qps=1e9,
    subnets=(("shadow", 1 << 40),),
)


class Outbox(Protocol):
    """Where the engine leaves what it writes to Kubernetes (exporter.outbox.Outbox)."""

    def post(self, event: NecEvent) -> None: ...

    def remember(self, nec: str, annotations: Mapping[str, str]) -> None: ...


class ClusterEngine:
    """Applies Kubernetes changes to the pools, in the engine loop's thread."""

    def __init__(
        self,
        changes: queue.Queue[Change],
        watchers: Sequence[Watcher[Any]],
        defaults: Defaults,
        outbox: Outbox,
        incidents: Incidents,
        *,
        observe: bool,
        cloud: CloudSettings | None = None,
    ) -> None:
        self.changes = changes
        self.watchers = watchers
        self.outbox = outbox
        self.incidents = incidents
        self.observe = observe
        self.keeps_records = not observe
        """Acting (not observing): node records are read from and written to NEC objects."""
        vpc = INSTANT if observe else (cloud or CloudSettings())
        self.vpc = SimulatedVpc(vpc)
        self.registry = Registry(defaults)
        # The engine paces its calls at the cloud's own limit: a faster client-side
        # bucket only earns throttles (and, with timeouts, leaks to clean up).
        pace = TokenBucket(rate=vpc.api_qps, burst=vpc.api_qps)
        self.reconciler = Reconciler(self.registry, self.vpc, bucket=pace)
        self.nodes: dict[str, NodeInfo] = {}
        self.necs: dict[str, NecInfo] = {}
        self.pods: dict[str, PodInfo] = {}
        """Active pods by uid."""
        self.pods_in: defaultdict[tuple[str, Mode], dict[str, PodInfo]] = defaultdict(dict)
        """The same pods by pool, so a pool's pods are found without a scan."""
        self.records: dict[str, NodeRecord] = {}
        """Per node seen: the defaults of its first sight and the targets last in force."""
        self._synced = False
        self._starting: defaultdict[tuple[str, Mode], list[PodInfo]] = defaultdict(list)

    # --- the daemon's hooks -------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Apply queued changes, then step the engine. Until every watcher has listed
        once nothing is applied; the first full sync then goes in a fixed order (NEC
        objects, nodes, pods), so a restart rebuilds the same state."""
        if not self._synced:
            if not all(w.synced.is_set() for w in self.watchers):
                return
            first = self._drain()
            first.sort(key=lambda change: ORDER[change.kind])
            # Pools are rebuilt from the provider as they are created; which pod holds
            # which IP comes from the pods of this first sync.
            for change in first:
                if isinstance(change.info, PodInfo):
                    self._starting[(change.info.node, change.info.mode)].append(change.info)
            for change in first:
                self._apply(change, now)
            self._starting.clear()
            self._synced = True
        for change in self._drain():
            self._apply(change, now)
        try:
            self.reconciler.step(now)
        except Exception as error:
            self.incidents.survived(Where.STEP, error, "stepping the engine")

    def _drain(self) -> list[Change]:
        changes = []
        while True:
            try:
                changes.append(self.changes.get_nowait())
            except queue.Empty:
                return changes

    def ready(self) -> bool:
        return self._synced

    def snapshot(self, now: float) -> Snapshot:
        if not self.observe:
            return take_snapshot(self.reconciler, now)
        observed = {
            (pool.node, pool.mode): (
                self.nodes[pool.node].bound.get(pool.mode, 0) if pool.node in self.nodes else 0,
                len(self.pods_in.get((pool.node, pool.mode), ())),
            )
            for pool in self.registry
        }
        return take_snapshot(self.reconciler, now, observed)

    # --- changes ------------------------------------------------------------------------

    def _apply(self, change: Change, now: float) -> None:
        """Apply one change; one that raises is logged, counted and left behind."""
        try:
            self._apply_one(change, now)
        except Exception as error:
            self.incidents.survived(Where.STEP, error, f"applying a {change.kind} change")

    def _apply_one(self, change: Change, now: float) -> None:
        self.reconciler.mark_changed()  # observed values (node resources, pods) may change
        match change.kind:
            case Resource.NODE:
                self._node(change, now)
            case Resource.POD:
                self._pod(change, now)
            case Resource.NEC:
                self._nec(change, now)
            case _:
                assert_never(change.kind)

    def _node(self, change: Change, now: float) -> None:
        if change.deleted:
            self.nodes.pop(change.key, None)
            self.records.pop(change.key, None)
            for pool in self.registry.forget(change.key):
                for pod in self.pods_in.pop((pool.node, pool.mode), {}):
                    self.pods.pop(pod, None)
            self.vpc.forget_node(change.key)
            return
        info = change.info
        assert isinstance(info, NodeInfo)
        before = self.nodes.get(change.key)
        self.nodes[change.key] = info
        wanted = {Mode.ROUTE_ENI} | (
            {Mode.DIRECT_ENI} if info.bound.get(Mode.DIRECT_ENI) else set()
        )
        for mode in Mode:
            existing = self.registry.pools.get((change.key, mode))
            if existing is None:
                if mode in wanted:  # sized by this node and configured by its NEC, once
                    self._pool(change.key, mode, now)
            elif before is None or before.cores != info.cores:
                # made for a pod before its node was seen, or resized: the size's default
                # limits, then the NEC's
                existing.set_limits(default_limits(info.cores, mode))
                self._configure(existing, now)

    def _pod(self, change: Change, now: float) -> None:
        old = self.pods.pop(change.key, None)
        if old is not None:
            self.pods_in[(old.node, old.mode)].pop(change.key, None)
        new = None if change.deleted else change.info
        assert new is None or isinstance(new, PodInfo)
        if old is not None and (new is None or not new.active or new.node != old.node):
            pool = self.registry.pools.get((old.node, old.mode))
            if pool is not None:
                self.reconciler.pod_stopped(pool, change.key, now)
            old = None
        if new is not None and new.active:
            if old is None:
                self.reconciler.pod_started(self._pool(new.node, new.mode, now), change.key, now)
            self.pods[change.key] = new
            self.pods_in[(new.node, new.mode)][change.key] = new

    def _nec(self, change: Change, now: float) -> None:
        if change.deleted:
            self.necs.pop(change.key, None)
            return  # the node keeps its last targets, as TKE's agent does
        assert isinstance(change.info, NecInfo)
        before = self.necs.get(change.key)
        self.necs[change.key] = change.info
        if before is None or before.annotations != change.info.annotations:
            for mode in Mode:
                pool = self.registry.pools.get((change.key, mode))
                if pool is not None:
                    self._configure(pool, now)
        self._store(change.key)  # a NEC made after its node, or our record edited away

    # --- helpers --------------------------------------------------------------------------

    def _pool(self, node: str, mode: Mode, now: float) -> NodePool:
        known = self.registry.pools.get((node, mode))
        if known is not None:
            return known
        info = self.nodes.get(node)
        # A pod may name a node not seen yet: the largest size's limits until it is.
        limits = default_limits(info.cores if info else 128, mode)
        record = self._record(node)
        pool = self.registry.ensure(node, mode, limits, now, defaults=record.defaults)
        kept = record.targets.get(mode)
        if kept is not None:  # a refused or removed pair keeps these, as before the restart
            pool.set_targets(kept)
        mine = [*self._starting.get((node, mode), ()), *self.pods_in.get((node, mode), {}).values()]
        holders = {p.ip: p.uid for p in mine if p.active and p.ip}
        self.reconciler.rebuild(pool, holders, now)  # the provider's truth, not memory
        self._configure(pool, now)
        return pool

    def _configure(self, pool: NodePool, now: float) -> None:
        """Apply the node's NEC, if it has one, and remember the targets in force."""
        nec = self.necs.get(pool.node)
        if nec is not None:
            for refusal in self.reconciler.configure(pool, nec.annotations, now):
                log.warning("refused NEC %s (%s): %s", nec.name, refusal.reason, refusal.message)
                self.outbox.post(refusal_event(nec, refusal))
        self._remember(pool)

    # --- what outlives a restart ------------------------------------------------------------

    def _record(self, node: str) -> NodeRecord:
        """The node's record: kept in memory, else stored on its NEC by an earlier
        exporter (when acting), else new: this is the node's first sight."""
        record = self.records.get(node)
        if record is None:
            nec = self.necs.get(node)
            stored = read_record(nec.record) if nec and self.keeps_records else None
            record = stored or NodeRecord(self.registry.defaults)
            self.records[node] = record
        return record

    def _remember(self, pool: NodePool) -> None:
        """The pool's targets are the last in force: keep them in the node's record."""
        record = self._record(pool.node)
        if record.targets.get(pool.mode) != pool.targets:
            self.records[pool.node] = record.with_targets(pool.mode, pool.targets)
        self._store(pool.node)

    def _store(self, node: str) -> None:
        """Have the outbox write the node's record to its NEC, unless it holds it."""
        record, nec = self.records.get(node), self.necs.get(node)
        if not self.keeps_records or record is None or nec is None:
            return
        wanted = record.annotations()
        if nec.record != wanted:
            self.outbox.remember(node, wanted)


def refusal_event(nec: NecInfo, refusal: Refusal) -> NecEvent:
    """The Warning Event of a refused NEC change."""
    message = f"{refusal.message}; the previous values stay in force"
    return NecEvent(
        nec.name, nec.uid, "WarmTargetRefused", message, EventType.WARNING, "eni-exporter"
    )
