"""Carries the pools' decisions out through a cloud provider.

One loop that reads like a script: ``step(now)`` applies what the provider finished,
then lets every pool decide and submits the plan. Pod events and NEC changes act on
their node at once (``pod_started``, ``configure``), so a cold start's bind is asked
for within the same call. Failures back off per node; a client-side token bucket
keeps the cluster under the cloud's API rate limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import assert_never

from pool_engine.backoff import Backoff, TokenBucket
from pool_engine.config import Limits, Mode, Refusal, Targets, parse_limits, parse_targets
from pool_engine.counters import ApiCall, BindResult, PoolCounters
from pool_engine.decision import decide
from pool_engine.errors import ProviderError, TransientError
from pool_engine.plan import BindOp
from pool_engine.pool import NodePool
from pool_engine.provider import Operation, Outcome, Provider
from pool_engine.registry import Registry

Key = tuple[str, Mode]


class Reconciler:
    """The pools of a registry, driven through a provider."""

    def __init__(
        self,
        registry: Registry,
        provider: Provider,
        *,
        bucket: TokenBucket | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self._registry = registry
        self._provider = provider
        self._bucket = TokenBucket(rate=50.0, burst=50.0) if bucket is None else bucket
        self._backoff = Backoff() if backoff is None else backoff
        self._counters: dict[Key, PoolCounters] = {}
        self._waits: list[tuple[Mode, float]] = []
        """Pod-start-to-slot waits since the last drain."""
        self._api_calls: list[ApiCall] = []
        self._deferred: dict[Key, list[BindOp]] = {}
        """IP binds waiting for their ENI to finish attaching."""
        self._changed = True
        """Some pool changed since the publisher last asked."""

    def restarted(self, registry: Registry) -> Reconciler:
        """A new engine over ``registry`` with this one's provider and rate limit (calls
        already made still count against the cloud's limit); nothing else carries over."""
        return Reconciler(registry, self._provider, bucket=self._bucket)

    def set_api_rate(self, per_second: float) -> None:
        """Pace cloud calls at ``per_second`` from now on."""
        self._bucket.retune(per_second)

    # --- what the publisher reads ------------------------------------------------------

    def pools(self) -> Iterator[NodePool]:
        return iter(self._registry)

    def pool_count(self) -> int:
        return len(self._registry)

    def counters(self, pool: NodePool) -> PoolCounters:
        """The pool's counts so far (zeros for a pool nothing happened to)."""
        return self._counters.get((pool.node, pool.mode)) or PoolCounters()

    def subnets(self) -> dict[str, int]:
        """Free IPs per subnet, as the provider reports them now."""
        return self._provider.subnets()

    def take_changed(self) -> bool:
        """True when some pool changed since the last call."""
        changed, self._changed = self._changed, False
        return changed

    def mark_changed(self) -> None:
        """Something the publisher shows changed outside the pools (observed values)."""
        self._changed = True

    def drain_waits(self) -> list[tuple[Mode, float]]:
        """Pod-start-to-slot waits (warm hits as 0) since the last drain."""
        waits, self._waits = self._waits, []
        return waits

    def drain_api_calls(self) -> list[ApiCall]:
        """Cloud API calls since the last drain."""
        calls, self._api_calls = self._api_calls, []
        return calls

    # --- the loop --------------------------------------------------------------------

    def step(self, now: float) -> int:
        """Apply finished operations, then reconcile the pools that need it: those an
        outcome touched, those with a release round due and those whose backoff
        ended. A pool's decision changes only then. Returns operations submitted."""
        touched: set[Key] = set()
        for outcome in self._provider.poll(now):
            self._apply(outcome, now)
            touched.add((outcome.node, outcome.mode))
        submitted = 0
        for key, pool in list(self._registry.pools.items()):
            if key in touched or pool.round_due(now) or self._backoff.waited(key, now):
                submitted += self.reconcile(pool, now)
        return submitted

    def reconcile(self, pool: NodePool, now: float) -> int:
        """Decide for one pool and submit its plan (unless it is backing off)."""
        key = (pool.node, pool.mode)
        if self._backoff.blocked(key, now):
            return 0
        self._backoff.retried(key)
        submitted = self._submit_ready_detaches(pool, now)
        plan = decide(pool, now)
        if plan.empty:
            return submitted
        self._changed = True
        ops = pool.begin(plan, now)
        counters = self._counted(key)
        for release in plan.releases:
            if self._call(now):
                try:
                    self._provider.release(pool.node, pool.mode, release.eni_id, release.ip, now)
                    counters.releases[release.reason] += 1
                    submitted += 1
                    continue
                except ProviderError as error:
                    self._refused(pool, error, now)
            pool.release_failed(release.eni_id, release.ip)
        for op in ops:
            if pool.awaits_attach(op):
                self._deferred.setdefault(key, []).append(op)
                continue
            submitted += self._submit_bind(pool, op, now)
        return submitted

    # --- pod and configuration events --------------------------------------------------

    def pod_started(self, pool: NodePool, pod: str, now: float) -> bool:
        self._changed = True
        counters = self._counted((pool.node, pool.mode))
        counters.pod_starts += 1
        hit = pool.pod_started(pod, now)
        if hit:
            self._waits.append((pool.mode, 0.0))
        else:
            counters.cold_starts += 1
        self.reconcile(pool, now)
        return hit

    def pod_stopped(self, pool: NodePool, pod: str, now: float) -> None:
        self._changed = True
        self._counted((pool.node, pool.mode)).pod_stops += 1
        served = pool.pod_stopped(pod, now)
        if served:
            self._waits.append((pool.mode, served[1]))
        self.reconcile(pool, now)

    def configure(
        self, pool: NodePool, annotations: Mapping[str, str], now: float
    ) -> list[Refusal]:
        """Apply a node's NEC annotations; a refused part leaves its old values (R7)."""
        self._changed = True
        refusals: list[Refusal] = []
        targets = parse_targets(annotations, pool.mode)
        limits = parse_limits(annotations, pool.mode, pool.limits, pool.usage())
        for parsed in (targets, limits):
            if isinstance(parsed, Refusal):
                refusals.append(parsed)
                self._counted((pool.node, pool.mode)).rejections[parsed.reason] += 1
            elif isinstance(parsed, Targets):
                pool.set_targets(parsed)
            elif isinstance(parsed, Limits):
                pool.set_limits(parsed)
        self.reconcile(pool, now)
        return refusals

    # --- rebuilding after a restart -------------------------------------------------------

    def rebuild(self, pool: NodePool, holders: Mapping[str, str], now: float) -> None:
        """Load the pool's slots from the provider; ``holders`` maps IP -> pod holding it."""
        self._changed = True
        for record in self._provider.inventory(pool.node, pool.mode):
            held = {ip: holders.get(ip) for ip in record.ips}
            pool.adopt(record.eni_id, record.subnet, held, now)
        pool.see_subnets(self._provider.subnets())

    # --- helpers ----------------------------------------------------------------------------

    def _apply(self, outcome: Outcome, now: float) -> None:
        self._changed = True
        key = (outcome.node, outcome.mode)
        pool = self._registry.pools.get(key)
        self._api_calls.append(
            ApiCall(outcome.kind, outcome.seconds, outcome.error.code if outcome.error else None)
        )
        if pool is None:
            return  # the node is gone, and its slots with it
        if outcome.error is not None:
            self._failed(pool, now)
        else:
            self._backoff.succeeded(key)
        match outcome.kind:
            case Operation.BIND:
                self._bind_outcome(pool, outcome, now)
            case Operation.RELEASE:
                if outcome.error is None:
                    pool.release_done(outcome.eni_id, outcome.ips[0])
                else:
                    pool.release_failed(outcome.eni_id, outcome.ips[0])
            case Operation.DETACH:
                if outcome.error is None:
                    pool.detach_done(outcome.eni_id)
                else:
                    pool.detach_failed(outcome.eni_id)
            case _:
                assert_never(outcome.kind)

    def _bind_outcome(self, pool: NodePool, outcome: Outcome, now: float) -> None:
        key = (pool.node, pool.mode)
        counters = self._counted(key)
        op = pool.op(outcome.op_id) if outcome.op_id is not None else None
        if op is None:  # not ours (a request from before a restart): adopt what it bound
            for ip_pod in pool.adopt(outcome.eni_id, "", dict.fromkeys(outcome.ips), now):
                self._waits.append((pool.mode, ip_pod[1]))
            return
        if outcome.error is not None:
            counters.binds[BindResult.ERROR] += op.count
            pool.bind_failed(op.op_id)
            if op.new_eni:  # IP binds queued behind this attach fail with it
                for queued in self._take_deferred(key, op.eni_id):
                    counters.binds[BindResult.ERROR] += queued.count
                    pool.bind_failed(queued.op_id)
            return
        counters.binds[BindResult.SUCCESS] += len(outcome.ips)
        if len(outcome.ips) < op.count:
            counters.binds[BindResult.ERROR] += op.count - len(outcome.ips)
        for _, waited in pool.bind_done(op.op_id, outcome.eni_id, list(outcome.ips), now):
            self._waits.append((pool.mode, waited))
        if op.new_eni:
            for queued in self._take_deferred(key, op.eni_id):
                self._submit_bind(pool, queued, now)

    def _take_deferred(self, key: Key, placeholder: str) -> list[BindOp]:
        queued = self._deferred.get(key, [])
        mine = [op for op in queued if op.eni_id == placeholder]
        self._deferred[key] = [op for op in queued if op.eni_id != placeholder]
        return mine

    def _submit_bind(self, pool: NodePool, op: BindOp, now: float) -> int:
        counters = self._counted((pool.node, pool.mode))
        real = pool.resolve(op.eni_id)
        target = op if real == op.eni_id else BindOp(op.op_id, real, False, op.subnet, op.count)
        cost = 2.0 if op.new_eni else 1.0
        if self._call(now, cost):
            try:
                self._provider.bind(pool.node, pool.mode, target, now)
                return 1
            except ProviderError as error:
                self._refused(pool, error, now)
                throttled = isinstance(error, TransientError)
                counters.binds[BindResult.THROTTLED if throttled else BindResult.ERROR] += op.count
        else:
            counters.binds[BindResult.THROTTLED] += op.count
        pool.bind_failed(op.op_id)
        return 0

    def _submit_ready_detaches(self, pool: NodePool, now: float) -> int:
        submitted = 0
        for eni_id in pool.ready_detaches():
            if not self._call(now):
                break
            try:
                self._provider.detach(pool.node, pool.mode, eni_id, now)
                pool.detach_sent(eni_id)
                submitted += 1
            except ProviderError as error:
                self._refused(pool, error, now)
                pool.detach_failed(eni_id)
        return submitted

    def _call(self, now: float, cost: float = 1.0) -> bool:
        """Spend client-side rate-limit tokens for one API call."""
        return self._bucket.take(now, cost)

    def _failed(self, pool: NodePool, now: float) -> None:
        self._backoff.failed((pool.node, pool.mode), now)

    def _refused(self, pool: NodePool, error: ProviderError, now: float) -> None:
        """A call refused when submitted (throttled, invalid): count it and back off."""
        self._api_calls.append(ApiCall(error.operation, 0.0, error.code))
        self._failed(pool, now)

    def _counted(self, key: Key) -> PoolCounters:
        counters = self._counters.get(key)
        if counters is None:
            counters = self._counters[key] = PoolCounters()
        return counters
