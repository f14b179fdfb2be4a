"""Cluster mode: Kubernetes changes drive the engine; NEC annotations configure it.

Two providers sit behind the same engine:

- ``tke-observe`` (read-only on TKE): TKE's own agent keeps the pools. Bound slots
  come from the nodes' extended resources, in-use from the pods, cold starts and
  waits from the pods TKE kept unscheduled for want of a slot (:mod:`exporter.waits`);
  the engine runs as a *shadow* (:mod:`exporter.shadow`), starting from TKE's state,
  and publishes its own figures apart (``eni_pool_shadow_*``).
- ``simulated``: the engine owns the pools through the simulated VPC.

Either way each pool's time outside its band is counted (:mod:`exporter.band`), and
pods already running at the first full sync are taken into the pools without being
counted again: the exporter before this one counted them when they started.

A refused NEC change leaves the previous targets, is logged, counted and reported as
a Kubernetes Event on the NEC object, once per change read. A NEC's time-of-day
schedule (:mod:`exporter.timetable`) is followed by the acting engine itself, hour by
hour; in tke-observe only its block in force is published. When the engine acts
(``simulated``), what must outlive a restart is kept on each node's NEC object: the
defaults in force when the node was first seen and the targets last in force
(:mod:`exporter.records`); a restarted exporter takes them from there. The engine
reads only ``tke.cloud.tencent.com/`` annotations for its configuration, so writing
its record never makes it configure again.

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

from exporter.band import Band
from exporter.cloud import CloudSettings, SimulatedVpc
from exporter.incidents import Incidents, Where
from exporter.kube import Change, NecInfo, NodeInfo, PodInfo
from exporter.records import NodeRecords
from exporter.shadow import ShadowCloud, ShadowReconciler
from exporter.snapshot import ClusterView, Snapshot, take_snapshot
from exporter.target_changes import TargetChanges, source_of
from exporter.timetable import Timetable
from exporter.waits import PodWaits
from kube_adapter.events import EventType, NecEvent
from kube_adapter.nec import targets_annotations
from kube_adapter.watcher import Resource, Watcher
from pool_engine.backoff import TokenBucket
from pool_engine.config import Defaults, Mode, Refusal, default_limits
from pool_engine.pool import NodePool
from pool_engine.reconciler import Reconciler
from pool_engine.registry import Registry

log = logging.getLogger(__name__)
ORDER = {Resource.NEC: 0, Resource.NODE: 1, Resource.POD: 2}
BAND_SECONDS = 1.0
"""How often each pool's band is checked (and, while one is outside, published)."""
LARGEST = NodeInfo("", 128, {})
"""What a pod's node is taken for until the node is seen: the largest size's limits."""


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
        day_offset: float = 0.0,
    ) -> None:
        self.changes = changes
        self.watchers = watchers
        self.outbox = outbox
        self.incidents = incidents
        self.observe = observe
        self.registry = Registry(defaults)
        self.waits = PodWaits()
        """tke-observe: the real pods' cold starts and waits."""
        self.band = Band()
        self.target_changes = TargetChanges()
        """Changes of warm targets that NEC updates brought, by source."""
        self.shadow = ShadowCloud() if observe else None
        acting = cloud or CloudSettings()
        self.vpc: ShadowCloud | SimulatedVpc = self.shadow or SimulatedVpc(acting)
        # Acting, the engine paces its calls at the cloud's own limit: a faster
        # client-side bucket only earns throttles (and, with timeouts, leaks to clean up).
        pace = TokenBucket(rate=acting.api_qps, burst=acting.api_qps)
        self.reconciler: Reconciler = (
            ShadowReconciler(self.registry, self.shadow, self.waits)
            if self.shadow
            else Reconciler(self.registry, self.vpc, bucket=pace)
        )
        self.nodes: dict[str, NodeInfo] = {}
        self.necs: dict[str, NecInfo] = {}
        self.records = NodeRecords(lambda: self.registry.defaults, outbox, self.necs,
                                   keep=not observe)  # fmt: skip
        self.pods: dict[str, PodInfo] = {}
        """Active pods by uid."""
        self.pods_in: defaultdict[tuple[str, Mode], dict[str, PodInfo]] = defaultdict(dict)
        """The same pods by pool, so a pool's pods are found without a scan."""
        self._synced = False
        self._starting: defaultdict[tuple[str, Mode], dict[str, PodInfo]] = defaultdict(dict)
        self._settling: dict[tuple[str, Mode], NodePool] = {}
        """Pools that took pods of the first sync without deciding yet, in order."""
        self._band_at = -BAND_SECONDS
        self.timetable = Timetable(day_offset)
        """Time-of-day schedules; engine time 0 lies ``day_offset`` s past 00:00 UTC."""

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
                if isinstance(change.info, PodInfo) and change.info.active:
                    pod = change.info
                    self._starting[(pod.node, pod.mode)][pod.uid] = pod
            for change in first:
                self._apply(change, now, counting=False)
            self._starting.clear()
            self._synced = True
        for change in self._drain():
            self._apply(change, now, counting=True)
        try:
            if self.timetable.hour_began(now) and not self.observe:
                self._switch(now)
            while self._settling:  # pools that took pods of the first sync: decide now
                self.reconciler.reconcile(self._settling.pop(next(iter(self._settling))), now)
            self.reconciler.step(now)
            if now >= self._band_at + BAND_SECONDS:
                self._band_at = now
                self._see_band(now)
        except Exception as error:
            self.incidents.survived(Where.STEP, error, "stepping the engine")

    def _switch(self, now: float) -> None:
        """At an hour boundary: each scheduled pool whose pair changes gets it (R7)."""
        for key in self.timetable:
            pool = self.registry.pools.get(key)
            scheduled = self.timetable.in_force(key, now)
            if pool is None or scheduled is None or scheduled.targets == pool.targets:
                continue
            self.reconciler.configure(pool, targets_annotations(scheduled.targets, key[1]), now)
            self.records.remember(pool)

    def _see_band(self, now: float) -> None:
        """Each pool's bound count against its band; publish while one is outside."""
        outside = False
        for pool in self.registry:
            bound, in_use = self._observed(pool) if self.observe else (pool.bound, pool.holding)
            outside |= self.band.see(pool, bound, in_use, now)
        if outside:
            self.reconciler.mark_changed()

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
        blocks = {key: block for key in self.timetable
                  if (block := self.timetable.in_force(key, now)) is not None}  # fmt: skip
        if not self.observe:
            view = ClusterView(self.band, target_changes=self.target_changes.items, blocks=blocks)
            return take_snapshot(self.reconciler, now, view)
        tke = {(pool.node, pool.mode): self._observed(pool) for pool in self.registry}
        view = ClusterView(
            self.band, tke, self.waits, target_changes=self.target_changes.items, blocks=blocks
        )
        return take_snapshot(self.reconciler, now, view)

    def _observed(self, pool: NodePool) -> tuple[int, int]:
        """tke-observe: (bound, in use) of the pool as TKE shows them."""
        node = self.nodes.get(pool.node)
        bound = node.bound.get(pool.mode, 0) if node else 0
        return bound, len(self.pods_in.get((pool.node, pool.mode), ()))

    # --- changes ------------------------------------------------------------------------

    def _apply(self, change: Change, now: float, *, counting: bool) -> None:
        """Apply one change; one that raises is logged, counted and left behind.
        Without ``counting`` (the first sync) pods already running are taken in, not
        counted as starts."""
        try:
            self._apply_one(change, now, counting)
        except Exception as error:
            self.incidents.survived(Where.STEP, error, f"applying a {change.kind} change")

    def _apply_one(self, change: Change, now: float, counting: bool) -> None:
        self.reconciler.mark_changed()  # observed values (node resources, pods) may change
        match change.kind:
            case Resource.NODE:
                self._node(change, now)
            case Resource.POD:
                self._pod(change, now, counting)
            case Resource.NEC:
                self._nec(change, now)
            case _:
                assert_never(change.kind)

    def _node(self, change: Change, now: float) -> None:
        if change.deleted:
            self.nodes.pop(change.key, None)
            self.records.forget(change.key)
            self.timetable.forget(change.key)
            for pool in self.registry.forget(change.key):
                for pod in self.pods_in.pop((pool.node, pool.mode), {}):
                    self.pods.pop(pod, None)
            self.vpc.forget_node(change.key)
            self.band.forget(change.key)
            self.target_changes.forget(change.key)
            self.waits.forget_node(change.key)
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
            elif before is None or (before.cores, before.family) != (info.cores, info.family):
                # made for a pod before its node was seen, or resized: the size's default
                # limits, then the NEC's
                existing.set_limits(default_limits(info.cores, mode, info.family))
                self._configure(existing, now)

    def _pod(self, change: Change, now: float, counting: bool) -> None:
        old = self.pods.pop(change.key, None)
        if old is not None:
            self.pods_in[(old.node, old.mode)].pop(change.key, None)
        new = None if change.deleted else change.info
        assert new is None or isinstance(new, PodInfo)
        if self.observe and new is not None and not new.node:
            self.waits.pending(new, counting)
        elif self.observe and (new is None or not new.active or not counting):
            self.waits.gone(change.key)  # deleted, or landed finished or before us
        if old is not None and (new is None or not new.active or new.node != old.node):
            pool = self.registry.pools.get((old.node, old.mode))
            if pool is not None:
                self.reconciler.pod_stopped(pool, change.key, now)
            old = None
        if new is not None and new.active:
            if old is None:
                pool = self._pool(new.node, new.mode, now)
                if counting:
                    self.reconciler.pod_started(pool, change.key, now)
                    if self.observe:
                        self.waits.landed(new)
                else:  # there before us: whoever saw it start counted it
                    pool.pod_started(change.key, now)
                    self._settling[(pool.node, pool.mode)] = pool
            self.pods[change.key] = new
            self.pods_in[(new.node, new.mode)][change.key] = new

    def _nec(self, change: Change, now: float) -> None:
        if change.deleted:
            self.necs.pop(change.key, None)
            self.timetable.forget(change.key)
            return  # the node keeps its last targets, as TKE's agent does
        info = change.info
        assert isinstance(info, NecInfo)
        before = self.necs.get(change.key)
        self.necs[change.key] = info
        read = (info.annotations, info.schedules)
        if before is None or (before.annotations, before.schedules) != read:
            for mode in Mode:
                pool = self.registry.pools.get((change.key, mode))
                if pool is not None:
                    was = pool.targets
                    self._configure(pool, now)
                    if pool.targets != was:
                        source = source_of(before.annotations if before else {},
                                           info.annotations)  # fmt: skip
                        self.target_changes.changed(pool.node, pool.mode, source)
        self.records.store(change.key)  # a NEC made after its node, or our record edited away

    # --- helpers --------------------------------------------------------------------------

    def _pool(self, node: str, mode: Mode, now: float) -> NodePool:
        known = self.registry.pools.get((node, mode))
        if known is not None:
            return known
        info = self.nodes.get(node)
        # A pod may name a node not seen yet: the largest size's limits until it is.
        size = info or LARGEST
        limits = default_limits(size.cores, mode, size.family)
        record = self.records.of(node)
        pool = self.registry.ensure(node, mode, limits, now, defaults=record.defaults)
        kept = record.targets.get(mode)
        if kept is not None:  # a refused or removed pair keeps these, as before the restart
            pool.set_targets(kept)
        mine = {**self._starting.get((node, mode), {}), **self.pods_in.get((node, mode), {})}
        if self.shadow is not None:  # adopt TKE's bound slots, held by the node's pods
            ips = self.shadow.seed(node, mode, info.bound.get(mode, 0) if info else 0, limits)
            holders = dict(zip(ips, mine, strict=False))
        else:
            holders = {p.ip: p.uid for p in mine.values() if p.ip}
        self.reconciler.rebuild(pool, holders, now)  # the provider's truth, not memory
        self._configure(pool, now)
        return pool

    def _configure(self, pool: NodePool, now: float) -> None:
        """Apply the node's NEC, if it has one, and remember the targets in force."""
        nec = self.necs.get(pool.node)
        if nec is not None:
            annotations = nec.annotations
            key = (pool.node, pool.mode)
            refused = self.timetable.read(key, nec.schedules)
            if refused is not None and not self.observe:  # in tke-observe: the switch's to say
                log.warning("refused NEC %s (%s): %s", nec.name, refused.reason, refused.message)
                self.outbox.post(refusal_event(nec, refused))
                self.reconciler.refused(pool, refused)
            scheduled = None if self.observe else self.timetable.in_force(key, now)
            if scheduled is not None:  # the schedule's pair stands for the NEC's pair
                annotations = {**annotations, **targets_annotations(scheduled.targets, pool.mode)}
            for refusal in self.reconciler.configure(pool, annotations, now):
                log.warning("refused NEC %s (%s): %s", nec.name, refusal.reason, refusal.message)
                self.outbox.post(refusal_event(nec, refusal))
        self.records.remember(pool)


def refusal_event(nec: NecInfo, refusal: Refusal) -> NecEvent:
    """The Warning Event of a refused NEC change."""
    message = f"{refusal.message}; the previous values stay in force"
    return NecEvent(
        nec.name, nec.uid, "WarmTargetRefused", message, EventType.WARNING, "eni-exporter"
    )
