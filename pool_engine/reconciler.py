"""Carries the pools' decisions out through a cloud provider.

One loop that reads like a script: ``step(now)`` applies what the provider finished,
syncs pools with the provider's inventory when due, then lets every pool that needs
it decide and submits the plan. Pod events and NEC changes act on their node at once
(``pod_started``, ``configure``), so a cold start's bind is asked for within the same
call. Failures back off per node; a client-side token bucket keeps the cluster under
the cloud's API rate limit, and a call it holds back is retried as soon as the bucket
has the tokens.

Safe across restarts and ambiguous outcomes (docs/contracts/fault-audit.md): every
operation carries a token unique to this engine instance (:mod:`pool_engine.ledger`)
and an outcome is applied only to the operation that caused it; a timed-out outcome
(:class:`OutcomeUnknown`) leaves a doubt that the next inventory sync settles; the
periodic sync adopts what the cloud has and the engine does not know, and drops what
the cloud no longer has.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping

from pool_engine.backoff import Backoff, TokenBucket
from pool_engine.config import Limits, Mode, Refusal, Targets, parse_limits, parse_targets
from pool_engine.counters import ApiCall, Observations, PoolCounters
from pool_engine.decision import decide
from pool_engine.dispatch import Dispatcher
from pool_engine.errors import ProviderError
from pool_engine.inventory import compare
from pool_engine.ledger import Key, Ledger
from pool_engine.pods import Handout
from pool_engine.pool import NodePool
from pool_engine.provider import Operation, Provider
from pool_engine.registry import Registry
from pool_engine.schedule import DEFAULT_SYNC_INTERVAL, Schedule
from pool_engine.warm_schedule import WarmSchedule


class Reconciler:
    """The pools of a registry, driven through a provider."""

    def __init__(
        self,
        registry: Registry,
        provider: Provider,
        *,
        bucket: TokenBucket | None = None,
        backoff: Backoff | None = None,
        engine_id: str | None = None,
        sync_interval: float = DEFAULT_SYNC_INTERVAL,
        record_handouts: bool = False,
        jitter_seed: int | None = None,
    ) -> None:
        self._registry = registry
        self._provider = provider
        self._bucket = TokenBucket(rate=50.0, burst=50.0) if bucket is None else bucket
        # A pool waits at most one sync interval: the next sync brings fresh truth anyway.
        # Retry jitter: from the OS unless ``jitter_seed`` makes a simulation repeatable.
        jitter = random.Random(jitter_seed)
        self._backoff = (
            Backoff(cap=min(60.0, sync_interval), rng=jitter) if backoff is None else backoff
        )
        self._ledger = Ledger(engine_id)
        self._schedule = Schedule(sync_interval)
        self._seen = Observations(record_handouts)
        self._subnets: dict[str, int] = {}
        """Free IPs per subnet at the latest inventory read."""
        self._dispatch = Dispatcher(
            provider, self._bucket, self._backoff, self._ledger, self._schedule, self._seen
        )

    @property
    def engine_id(self) -> str:
        """This engine instance's id, the prefix of its operation tokens."""
        return self._ledger.engine_id

    def restarted(
        self, registry: Registry, engine_id: str | None = None, jitter_seed: int | None = None
    ) -> Reconciler:
        """A new engine over ``registry`` with this one's provider, rate limit (calls
        already made still count against the cloud's limit) and settings; a new
        identity and retry jitter, and nothing else carries over."""
        return Reconciler(
            registry, self._provider, bucket=self._bucket, engine_id=engine_id,
            sync_interval=self._schedule.interval, record_handouts=self._seen.handouts_on,
            jitter_seed=jitter_seed,
        )  # fmt: skip

    def set_api_rate(self, per_second: float) -> None:
        """Pace cloud calls at ``per_second`` from now on."""
        self._bucket.retune(per_second)

    # --- what the publisher reads ------------------------------------------------------

    def pools(self) -> Iterator[NodePool]:
        return iter(self._registry)

    def pool_count(self) -> int:
        return len(self._registry)

    def rebuilding(self) -> int:
        """Pools rebuilt after a restart still waiting for their first inventory."""
        return sum(not self._schedule.acting(key) for key in self._registry.pools)

    def counters(self, pool: NodePool) -> PoolCounters:
        """The pool's counts so far (zeros for a pool nothing happened to)."""
        return self._seen.peek((pool.node, pool.mode))

    def subnets(self) -> dict[str, int]:
        """Free IPs per subnet, as the latest inventory read reported them (a real
        provider knows its subnets only through calls: no extra call for a scrape)."""
        return dict(self._subnets)

    def take_changed(self) -> bool:
        """True when some pool changed since the last call."""
        return self._seen.take_changed()

    def mark_changed(self) -> None:
        """Something the publisher shows changed outside the pools (observed values)."""
        self._seen.changed = True

    def drain_waits(self) -> list[tuple[Mode, float]]:
        """Pod-start-to-slot waits (warm hits as 0) since the last drain."""
        return self._seen.drain_waits()

    def drain_api_calls(self) -> list[ApiCall]:
        """Cloud API calls since the last drain."""
        return self._seen.drain_api_calls()

    def drain_handouts(self) -> list[tuple[str, Mode, Handout]]:
        """Slots handed to pods since the last drain, as (node, mode, handout); kept
        only with ``record_handouts``."""
        return self._seen.drain_handouts()

    def next_wake(self, now: float) -> float:
        """The earliest time after ``now`` the engine wants a step (a round tick, an
        inventory sync, a retry); inf when nothing is scheduled."""
        rounds = (pool.next_round for pool in self._registry)
        switches = (pool.next_switch for pool in self._registry)
        return self._schedule.next_after(now, (*rounds, *switches, *self._backoff.ends()))

    # --- the loop --------------------------------------------------------------------

    def step(self, now: float) -> int:
        """Apply finished operations, sync pools whose inventory sync is due, switch
        scheduled targets whose hour boundary has come (R7, before the tick's round at
        the same instant), then reconcile the pools that need it: those an outcome or
        a sync touched, those with a release round due and those whose backoff or
        rate-limit wait ended. A pool's decision changes only then. Returns operations
        submitted."""
        touched: set[Key] = set()
        for outcome in self._provider.poll(now):
            key = (outcome.node, outcome.mode)
            if self._dispatch.apply(self._registry.pools.get(key), outcome, now):
                touched.add(key)
        submitted = 0
        pools = self._registry.pools
        for key in self._schedule.in_turn(pools):
            pool = pools[key]
            if self._schedule.woken(key, now) and self._schedule.sync_due(key, now):
                # an operation the bucket held back goes before the sync: pods wait on it
                submitted += self.reconcile(pool, now)
            if self._schedule.sync_due(key, now) and self._sync(pool, now):
                touched.add(key)
            if pool.switch_due(now) and pool.switch(now):
                submitted += self.reconcile(pool, now)  # R7, before the tick's round
            if (
                key in touched or pool.round_due(now) or self._backoff.waited(key, now)
                or self._schedule.woken(key, now)
            ):  # fmt: skip
                submitted += self.reconcile(pool, now)
            self._seen.collect(pool)
        return submitted

    def reconcile(self, pool: NodePool, now: float) -> int:
        """Decide for one pool and submit its plan (unless it is backing off, or
        waits for its first inventory sync after a restart)."""
        key = (pool.node, pool.mode)
        if self._backoff.blocked(key, now):
            return 0
        self._backoff.retried(key)
        self._schedule.woke(key)
        if not self._schedule.acting(key):
            return 0
        submitted = self._dispatch.submit_ready_detaches(pool, now)
        plan = decide(pool, now)
        if plan.empty:
            return submitted
        self._seen.changed = True
        return submitted + self._dispatch.carry_out(pool, plan, now)

    # --- pod and configuration events --------------------------------------------------

    def pod_started(self, pool: NodePool, pod: str, now: float) -> bool:
        self._seen.changed = True
        counters = self._seen.counted((pool.node, pool.mode))
        counters.started(pool.mode, now)
        hit = pool.pod_started(pod, now)
        if hit:
            self._seen.waited(pool.mode, 0.0)
        else:
            counters.cold_starts += 1
        self.reconcile(pool, now)
        self._seen.collect(pool)
        return hit

    def pod_stopped(self, pool: NodePool, pod: str, now: float) -> None:
        self._seen.changed = True
        self._seen.counted((pool.node, pool.mode)).pod_stops += 1
        served = pool.pod_stopped(pod, now)
        if served:
            self._seen.waited(pool.mode, served[1])
        self.reconcile(pool, now)
        self._seen.collect(pool)

    def follow(
        self, pool: NodePool, schedule: WarmSchedule | None, offset: float, now: float
    ) -> None:
        """Let the pool's targets follow ``schedule`` (docs/contracts/schedules.md):
        the pair of the hour of ``now`` runs at once (R7), and :meth:`step` switches at
        every hour boundary where the pair changes. ``offset`` is 0 when ``now`` is
        epoch seconds. None stops following (the targets in force stay)."""
        self._seen.changed = True
        pool.follow(schedule, offset, now)
        self.reconcile(pool, now)
        self._seen.collect(pool)

    def configure(
        self, pool: NodePool, annotations: Mapping[str, str], now: float
    ) -> list[Refusal]:
        """Apply a node's NEC annotations; a refused part leaves its old values (R7)."""
        self._seen.changed = True
        refusals: list[Refusal] = []
        targets = parse_targets(annotations, pool.mode)
        limits = parse_limits(annotations, pool.mode, pool.limits, pool.usage())
        for parsed in (targets, limits):
            if isinstance(parsed, Refusal):
                refusals.append(parsed)
                self._seen.counted((pool.node, pool.mode)).rejections[parsed.reason] += 1
            elif isinstance(parsed, Targets):
                pool.set_targets(parsed)
            elif isinstance(parsed, Limits):
                pool.set_limits(parsed)
        self.reconcile(pool, now)
        self._seen.collect(pool)
        return refusals

    def refused(self, pool: NodePool, refusal: Refusal) -> None:
        """Count a refusal the caller judged itself (a time-of-day schedule annotation,
        docs/contracts/annotations.md); nothing else changes."""
        self._seen.changed = True
        self._seen.counted((pool.node, pool.mode)).rejections[refusal.reason] += 1

    # --- rebuilding after a restart, and inventory syncs ---------------------------------

    def rebuild(self, pool: NodePool, holders: Mapping[str, str], now: float) -> None:
        """Load a new pool's slots from the provider's inventory; ``holders`` maps IP ->
        pod holding it, as the cluster says. The pool does not act until an inventory
        has been read: at once if the provider answers (it decides at the next step),
        else retried with backoff."""
        self._seen.changed = True
        key = (pool.node, pool.mode)
        pool.claim(holders)
        self._schedule.rebuilt(key, now)
        if self._sync(pool, now):
            self._schedule.wake_at(key, now)  # decide at the next step (after any NEC)
        self._seen.collect(pool)

    def _sync(self, pool: NodePool, now: float) -> bool:
        """Settle the pool against the provider's inventory; what we have in flight is
        left out (:func:`pool_engine.inventory.compare`). True when it ran."""
        key = (pool.node, pool.mode)
        waiting = (pool.node, pool.mode, Operation.INVENTORY)
        if not self._bucket.take(now):
            self._schedule.held_back(key, now)
            self._schedule.sync_at(key, self._bucket.ready_at(now))
            return False
        self._schedule.served(key)
        self._backoff.retried(waiting)
        try:
            inventory = self._provider.inventory(pool.node, pool.mode, now)
        except ProviderError as error:
            self._seen.called(ApiCall(Operation.INVENTORY, 0.0, error.code))
            retry = self._backoff.failed(waiting, now)
            self._schedule.sync_at(key, min(retry, now + self._schedule.interval))
            return False
        self._seen.called(ApiCall(Operation.INVENTORY, 0.0, None))
        self._backoff.succeeded(waiting)
        self._subnets.update(inventory.subnets)
        settlement = compare(pool.enis.values(), inventory.enis, *self._ledger.in_flight(key))
        for _, waited in pool.settle(settlement, inventory.subnets, now):
            self._seen.waited(pool.mode, waited)
        if settlement.changes:  # fresh truth: act on it now rather than after a backoff
            self._seen.changed = True
            self._backoff.succeeded(key)
        self._schedule.synced(key, now, settlement.in_progress)
        return True
