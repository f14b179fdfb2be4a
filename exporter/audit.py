"""The fault audit of ``eni-exporter simulate --audit`` (docs/contracts/fault-audit.md).

Judged against the simulated VPC's own truth and the simulated cluster's own record
of its pods, never against the engine's view:

- a double assignment is an IP handed to a pod while another running pod holds it;
- an unbound handout is an IP handed to a pod that the cloud does not have bound
  (settled) to that pod's node at that instant;
- a held-slot release is the cloud carrying out the release of an IP a running pod
  holds;
- leaks are counted at the end, once every operation submitted while faults were on
  has finished and one more fault-free sync interval has passed: IPs bound (settled)
  at the cloud that the engine does not know, and attached ENIs it does not know or
  that sit empty with nothing planned for them;
- crashes are exceptions that reached the simulation loop's top level;
- after ``--faults-until``, the longest time any pool (not at max-attach, its subnet
  not dry) had B + K < min(C, P + m), with B and K from the cloud and P from the
  cluster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from exporter.faults import FaultCounts
from exporter.simcluster import SimulatedCluster
from exporter.vpcstate import IpState, Key
from pool_engine.config import Mode
from pool_engine.inventory import EniState

SETTLE = 10
"""Sync intervals the end waits at most for the pools a restart rebuilt to read their
inventories (a rate limit of 1 call/s and 40 pools needs more than one)."""


@dataclass
class Violations:
    double_assigned_ips: int = 0
    unbound_ip_handouts: int = 0
    held_slot_releases: int = 0
    leaked_ips: int = 0
    leaked_enis: int = 0
    crashes: int = 0


@dataclass(frozen=True)
class AuditReport:
    simulated_seconds: float
    cloud_calls: int
    faults: FaultCounts
    restarts: int
    violations: Violations
    max_seconds_below_min_warm_after_faults: float

    @property
    def violated(self) -> bool:
        return any(asdict(self.violations).values())

    def as_json(self) -> dict[str, object]:
        """The audit's JSON object (field order as in the contract)."""
        return {
            "simulated_seconds": round(self.simulated_seconds, 3),
            "cloud_calls": self.cloud_calls,
            "faults": asdict(self.faults),
            "restarts": self.restarts,
            "violations": asdict(self.violations),
            "max_seconds_below_min_warm_after_faults": round(
                self.max_seconds_below_min_warm_after_faults, 3
            ),
        }


class Audit:
    """Watches a simulated cluster and its VPC; :meth:`finish` runs the fault-free
    tail and reports."""

    def __init__(self, cluster: SimulatedCluster, faults_until: float) -> None:
        self.cluster = cluster
        self.faults_until = faults_until
        self.violations = Violations()
        self.max_below = 0.0
        self._index = {(p.node, p.mode): k for k, p in enumerate(cluster.pools)}
        self._below_since: dict[Key, float] = {}
        self._dirty: set[Key] = set(self._index)
        self._judging = False
        """Faults have ended and pools are being judged."""
        cluster.observer = self
        cluster.vpc.state.watcher = self

    # --- hooks: the cluster (Observer) and the VPC (Watcher) -------------------------------

    def handout(self, node: str, mode: Mode, pod: str, ip: str, holder: str | None,
                now: float) -> None:  # fmt: skip
        if holder is not None:
            self.violations.double_assigned_ips += 1
        if self.cluster.vpc.state.settled_on(ip) != (node, mode):
            self.violations.unbound_ip_handouts += 1
        self._dirty.add((node, mode))

    def pod_stopped(self, node: str, mode: Mode) -> None:
        self._dirty.add((node, mode))

    def released(self, node: str, mode: Mode, ip: str, now: float) -> None:
        if self.cluster.book.holder(ip) is not None:
            self.violations.held_slot_releases += 1

    def changed(self, node: str, mode: Mode) -> None:
        self._dirty.add((node, mode))

    def stepped(self, now: float) -> None:
        if now < self.faults_until:
            return
        # The first look after the faults judges every pool, as from their end.
        since = self.faults_until if not self._judging else now
        self._judging = True
        dirty, self._dirty = self._dirty, set()
        for key in dirty:
            self._judge(key, since)

    # --- the end ----------------------------------------------------------------------------

    def finish(self, end: float) -> AuditReport:
        """Run on without faults or restarts until every operation submitted so far
        has finished and every pool a restart rebuilt has read its inventory (under a
        low API rate that can take more than an interval; at most :data:`SETTLE`
        intervals), then one more sync interval; count leaks there and report. A run
        stopped before its faults end (SIGTERM) has none from the stop on."""
        cluster = self.cluster
        cluster.stop_restarts()
        cluster.vpc.end_faults(cluster.now)
        self.faults_until = min(self.faults_until, cluster.now)
        last = cluster.vpc.last_finish()
        tail = max(end, cluster.now, last if last is not None else end)
        interval = cluster.settings.sync_interval
        cluster.advance(tail)
        for _ in range(SETTLE):
            if not cluster.reconciler.rebuilding():
                break
            cluster.advance(cluster.now + interval)
        last = cluster.vpc.last_finish()
        cluster.advance(max(cluster.now, last if last is not None else 0.0) + interval)
        self._dirty.update(self._index)
        self.stepped(cluster.now)
        for since in self._below_since.values():
            self.max_below = max(self.max_below, cluster.now - since)
        self.count_leaks()
        self.violations.crashes = cluster.crashes
        return AuditReport(
            simulated_seconds=cluster.now,
            cloud_calls=cluster.vpc.calls,
            faults=cluster.vpc.faults.counts,
            restarts=cluster.restarts,
            violations=self.violations,
            max_seconds_below_min_warm_after_faults=self.max_below,
        )

    # --- helpers ------------------------------------------------------------------------------

    def _judge(self, key: Key, now: float) -> None:
        below = self._below_min_warm(key)
        since = self._below_since.get(key)
        if below and since is None:
            self._below_since[key] = now
        elif not below and since is not None:
            del self._below_since[key]
            self.max_below = max(self.max_below, now - since)

    def _below_min_warm(self, key: Key) -> bool:
        """B + K < min(C, P + m) for a pool not at max-attach whose subnet is not dry."""
        k = self._index.get(key)
        if k is None:
            return False
        cluster, state = self.cluster, self.cluster.vpc.state
        limits, targets = cluster.limits[k], cluster.targets[k]
        wanted = min(limits.capacity, cluster.book.holding(key[0]) + targets.min_warm)
        if state.count(key, IpState.BOUND) + state.count(key, IpState.BINDING) >= wanted:
            return False
        enis = state.enis.get(key, {})
        room = any(len(eni.ips) < limits.ips_per_eni for eni in enis.values())
        if len(enis) >= limits.max_enis and not room:
            return False  # at max-attach
        free = state.free
        dry = any(free[eni.subnet] <= 0 for eni in enis.values()) or max(free.values()) <= 0
        return not dry

    def count_leaks(self) -> None:
        """Count, now, what the cloud has bound or attached that the engine does not
        know or leaves empty (:meth:`finish` does it after the fault-free tail)."""
        state = self.cluster.vpc.state
        for pool in self.cluster.pools:
            key = (pool.node, pool.mode)
            known = {ip for eni in pool.enis.values() for ip in (*eni.ips, *eni.releasing)}
            for eni_id, eni in state.enis.get(key, {}).items():
                self.violations.leaked_ips += sum(
                    1 for ip, ip_state in eni.ips.items()
                    if ip_state is IpState.BOUND and ip not in known
                )  # fmt: skip
                if eni.state is not EniState.ATTACHED:
                    continue  # being attached or detached: in progress, not left behind
                mine = pool.enis.get(eni_id)
                if mine is None or not (eni.ips or mine.pending or mine.detaching):
                    self.violations.leaked_enis += 1
