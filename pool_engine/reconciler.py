"""Carries the pools' decisions out through a cloud provider.

One loop that reads like a script: ``step(now)`` applies what the provider finished,
then lets every pool decide and submits the plan. Pod events and NEC changes act on
their node at once (``pod_started``, ``configure``), so a cold start's bind is asked
for within the same call. Failures back off per node; a client-side token bucket
keeps the cluster under the cloud's API rate limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from pool_engine.backoff import Backoff, TokenBucket
from pool_engine.config import Limits, Mode, Refusal, Targets, parse_limits, parse_targets
from pool_engine.errors import ProviderError, TransientError
from pool_engine.pool import BindOp, NodePool, decide
from pool_engine.provider import Outcome, Provider
from pool_engine.registry import Registry

Key = tuple[str, Mode]


@dataclass
class PoolCounters:
    """Monotonic counts per pool, for the exporter's counters."""

    pod_starts: int = 0
    pod_stops: int = 0
    cold_starts: int = 0
    binds: Counter[str] = field(default_factory=Counter)
    """Slots by result: ``success``, ``error``, ``throttled``."""
    releases: Counter[str] = field(default_factory=Counter)
    """Slots by reason: ``above_max``, ``clamp``."""
    rejections: Counter[str] = field(default_factory=Counter)
    """Refused NEC changes by reason."""


@dataclass(frozen=True)
class ApiCall:
    operation: str
    seconds: float
    code: str | None
    """None on success, else the provider's error code."""


@dataclass
class Reconciler:
    registry: Registry
    provider: Provider
    bucket: TokenBucket = field(default_factory=lambda: TokenBucket(rate=50.0, burst=50.0))
    backoff: Backoff = field(default_factory=Backoff)
    counters: dict[Key, PoolCounters] = field(default_factory=dict)
    waits: list[tuple[Mode, float]] = field(default_factory=list)
    """Pod-start-to-slot waits since the last drain."""
    api_calls: list[ApiCall] = field(default_factory=list)
    deferred: dict[Key, list[BindOp]] = field(default_factory=dict)
    """IP binds waiting for their ENI to finish attaching."""
    dirty: bool = True
    """Some pool changed since the publisher last looked (it resets this)."""

    # --- the loop --------------------------------------------------------------------

    def step(self, now: float) -> int:
        """Apply finished operations, then reconcile the pools that need it: those an
        outcome touched, those with a release round due and those whose backoff
        ended. A pool's decision changes only then. Returns operations submitted."""
        touched: set[Key] = set()
        for outcome in self.provider.poll(now):
            self._apply(outcome, now)
            touched.add((outcome.node, outcome.mode))
        submitted = 0
        for key, pool in list(self.registry.pools.items()):
            due = pool.round_now or now >= pool.next_round
            retry = key in self.backoff.until and not self.backoff.blocked(key, now)
            if key in touched or due or retry:
                submitted += self.reconcile(pool, now)
        return submitted

    def reconcile(self, pool: NodePool, now: float) -> int:
        """Decide for one pool and submit its plan (unless it is backing off)."""
        key = (pool.node, pool.mode)
        if self.backoff.blocked(key, now):
            return 0
        self.backoff.retried(key)
        submitted = self._submit_ready_detaches(pool, now)
        plan = decide(pool, now)
        if plan.empty:
            return submitted
        self.dirty = True
        ops = pool.begin(plan, now)
        counters = self._counters(key)
        for release in plan.releases:
            if self._call(now):
                try:
                    self.provider.release(pool.node, pool.mode, release.eni_id, release.ip, now)
                    counters.releases[release.reason] += 1
                    submitted += 1
                    continue
                except ProviderError as error:
                    self._refused(pool, error, now)
            pool.release_failed(release.eni_id, release.ip)
        for op in ops:
            if not op.new_eni and not pool.enis[pool.aliases.get(op.eni_id, op.eni_id)].attached:
                self.deferred.setdefault(key, []).append(op)
                continue
            submitted += self._submit_bind(pool, op, now)
        return submitted

    # --- pod and configuration events --------------------------------------------------

    def pod_started(self, pool: NodePool, pod: str, now: float) -> bool:
        self.dirty = True
        counters = self._counters((pool.node, pool.mode))
        counters.pod_starts += 1
        hit = pool.pod_started(pod, now)
        if hit:
            self.waits.append((pool.mode, 0.0))
        else:
            counters.cold_starts += 1
        self.reconcile(pool, now)
        return hit

    def pod_stopped(self, pool: NodePool, pod: str, now: float) -> None:
        self.dirty = True
        self._counters((pool.node, pool.mode)).pod_stops += 1
        served = pool.pod_stopped(pod, now)
        if served:
            self.waits.append((pool.mode, served[1]))
        self.reconcile(pool, now)

    def configure(
        self, pool: NodePool, annotations: Mapping[str, str], now: float
    ) -> list[Refusal]:
        """Apply a node's NEC annotations; a refused part leaves its old values (R7)."""
        self.dirty = True
        refusals: list[Refusal] = []
        targets = parse_targets(annotations, pool.mode)
        limits = parse_limits(annotations, pool.mode, pool.limits, pool.usage())
        for parsed in (targets, limits):
            if isinstance(parsed, Refusal):
                refusals.append(parsed)
                self._counters((pool.node, pool.mode)).rejections[parsed.reason.value] += 1
            elif isinstance(parsed, Targets):
                pool.set_targets(parsed)
            elif isinstance(parsed, Limits):
                pool.set_limits(parsed)
        self.reconcile(pool, now)
        return refusals

    # --- rebuilding after a restart -------------------------------------------------------

    def rebuild(self, pool: NodePool, holders: Mapping[str, str], now: float) -> None:
        """Load the pool's slots from the provider; ``holders`` maps IP -> pod holding it."""
        self.dirty = True
        for record in self.provider.inventory(pool.node, pool.mode):
            held = {ip: holders.get(ip) for ip in record.ips}
            pool.adopt(record.eni_id, record.subnet, held, now)
        pool.subnets.update(self.provider.subnets())

    # --- helpers ----------------------------------------------------------------------------

    def _apply(self, outcome: Outcome, now: float) -> None:
        self.dirty = True
        key = (outcome.node, outcome.mode)
        pool = self.registry.pools.get(key)
        self.api_calls.append(
            ApiCall(outcome.kind, outcome.seconds, outcome.error.code if outcome.error else None)
        )
        if pool is None:
            return  # the node is gone, and its slots with it
        if outcome.error is not None:
            self._failed(pool, now)
        else:
            self.backoff.succeeded(key)
        if outcome.kind == "bind":
            self._bind_outcome(pool, outcome, now)
        elif outcome.kind == "release":
            ip = outcome.ips[0]
            if outcome.error is None:
                pool.release_done(outcome.eni_id, ip)
            else:
                pool.release_failed(outcome.eni_id, ip)
        elif outcome.error is None:
            pool.detach_done(outcome.eni_id)
        else:
            pool.detach_failed(outcome.eni_id)

    def _bind_outcome(self, pool: NodePool, outcome: Outcome, now: float) -> None:
        key = (pool.node, pool.mode)
        counters = self._counters(key)
        op = pool.ops.get(outcome.op_id) if outcome.op_id is not None else None
        if op is None:  # not ours (a request from before a restart): adopt what it bound
            for ip_pod in pool.adopt(outcome.eni_id, "", dict.fromkeys(outcome.ips), now):
                self.waits.append((pool.mode, ip_pod[1]))
            return
        if outcome.error is not None:
            counters.binds["error"] += op.count
            pool.bind_failed(op.op_id)
            if op.new_eni:  # IP binds queued behind this attach fail with it
                for queued in self._take_deferred(key, op.eni_id):
                    counters.binds["error"] += queued.count
                    pool.bind_failed(queued.op_id)
            return
        counters.binds["success"] += len(outcome.ips)
        if len(outcome.ips) < op.count:
            counters.binds["error"] += op.count - len(outcome.ips)
        for _, waited in pool.bind_done(op.op_id, outcome.eni_id, list(outcome.ips), now):
            self.waits.append((pool.mode, waited))
        if op.new_eni:
            for queued in self._take_deferred(key, op.eni_id):
                self._submit_bind(pool, queued, now)

    def _take_deferred(self, key: Key, placeholder: str) -> list[BindOp]:
        queued = self.deferred.get(key, [])
        mine = [op for op in queued if op.eni_id == placeholder]
        self.deferred[key] = [op for op in queued if op.eni_id != placeholder]
        return mine

    def _submit_bind(self, pool: NodePool, op: BindOp, now: float) -> int:
        counters = self._counters((pool.node, pool.mode))
        real = pool.aliases.get(op.eni_id, op.eni_id)
        target = op if real == op.eni_id else BindOp(op.op_id, real, False, op.subnet, op.count)
        cost = 2.0 if op.new_eni else 1.0
        if self._call(now, cost):
            try:
                self.provider.bind(pool.node, pool.mode, target, now)
                return 1
            except ProviderError as error:
                self._refused(pool, error, now)
                result = "throttled" if isinstance(error, TransientError) else "error"
                counters.binds[result] += op.count
        else:
            counters.binds["throttled"] += op.count
        pool.bind_failed(op.op_id)
        return 0

    def _submit_ready_detaches(self, pool: NodePool, now: float) -> int:
        submitted = 0
        for eni in list(pool.enis.values()):
            ready = eni.detaching and eni.attached and not (eni.releasing or eni.ips or eni.pending)
            if ready:
                if not self._call(now):
                    break
                try:
                    self.provider.detach(pool.node, pool.mode, eni.eni_id, now)
                    eni.attached = False  # sent; detach_done removes it
                    submitted += 1
                except ProviderError as error:
                    self._refused(pool, error, now)
                    pool.detach_failed(eni.eni_id)
        return submitted

    def _call(self, now: float, cost: float = 1.0) -> bool:
        """Spend client-side rate-limit tokens for one API call."""
        return self.bucket.take(now, cost)

    def _failed(self, pool: NodePool, now: float) -> None:
        self.backoff.failed((pool.node, pool.mode), now)

    def _refused(self, pool: NodePool, error: ProviderError, now: float) -> None:
        """A call refused when submitted (throttled, invalid): count it and back off."""
        self.api_calls.append(ApiCall(error.operation, 0.0, error.code))
        self._failed(pool, now)

    def _counters(self, key: Key) -> PoolCounters:
        counters = self.counters.get(key)
        if counters is None:
            counters = self.counters[key] = PoolCounters()
        return counters
