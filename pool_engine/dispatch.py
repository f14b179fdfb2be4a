"""Carrying a pool's plan out through the provider, and applying what comes back.

Every call spends client-side rate-limit tokens first; a call the bucket holds back
is not sent, counts no failure, and wakes its pool when the bucket will have the
tokens. Every call sent gets a token from the :class:`pool_engine.ledger.Ledger`, and
an outcome is applied only to the operation its token names. How each outcome ends
an operation (docs/contracts/fault-audit.md):

| outcome | bind | release | detach |
|---|---|---|---|
| success | slots bound, waiters served | slot gone | ENI gone |
| ``NotFound`` | failed; sync due | done (the IP is not there) | done |
| ``OutcomeUnknown`` | failed (K drops); sync due | IP doubtful; sync due | ENI doubtful; sync due |
| other error | failed (an attach: sync due) | slot idle again | ENI attached again |
"""

from __future__ import annotations

from typing import assert_never

from pool_engine.backoff import Backoff, TokenBucket
from pool_engine.counters import ApiCall, BindResult, Observations
from pool_engine.errors import NotFound, OutcomeUnknown, ProviderError, TransientError
from pool_engine.ledger import Key, Ledger, Pending
from pool_engine.plan import BindOp, Plan
from pool_engine.pool import NodePool
from pool_engine.provider import Operation, Outcome, Provider
from pool_engine.schedule import Schedule


class Dispatcher:
    """Submits operations and applies their outcomes, for every pool of one engine."""

    def __init__(
        self,
        provider: Provider,
        bucket: TokenBucket,
        backoff: Backoff,
        ledger: Ledger,
        schedule: Schedule,
        seen: Observations,
    ) -> None:
        self._provider = provider
        self._bucket = bucket
        self._backoff = backoff
        self._ledger = ledger
        self._schedule = schedule
        self._seen = seen
        self._deferred: dict[Key, list[BindOp]] = {}
        """IP binds waiting for their ENI to finish attaching."""

    # --- submitting ------------------------------------------------------------------------

    def carry_out(self, pool: NodePool, plan: Plan, now: float) -> int:
        """Begin the plan on the pool and submit it; returns operations submitted."""
        key = (pool.node, pool.mode)
        ops = pool.begin(plan, now)
        counters = self._seen.counted(key)
        submitted = 0
        for release in plan.releases:
            eni_id, ip = release.eni_id, release.ip
            token = self._token(pool, Operation.RELEASE, now, eni_id=eni_id, ip=ip)
            if token is None:
                pool.release_failed(eni_id, ip)
                continue
            try:
                self._provider.release(pool.node, pool.mode, eni_id, ip, token, now)
                counters.releases[release.reason] += 1
                submitted += 1
            except ProviderError as error:
                self._refused(pool, token, error, now)
                self._release_ended(pool, eni_id, ip, error, now)
        for op in ops:
            if pool.awaits_attach(op):
                self._deferred.setdefault(key, []).append(op)
                continue
            submitted += self._submit_bind(pool, op, now)
        return submitted + self.submit_ready_detaches(pool, now)

    def submit_ready_detaches(self, pool: NodePool, now: float) -> int:
        """Send the detach of every ENI planned for it that has nothing left on it."""
        submitted = 0
        for eni_id in pool.ready_detaches():
            token = self._token(pool, Operation.DETACH, now, eni_id=eni_id)
            if token is None:
                break
            pool.detach_sent(eni_id)
            try:
                self._provider.detach(pool.node, pool.mode, eni_id, token, now)
                submitted += 1
            except ProviderError as error:
                self._refused(pool, token, error, now)
                self._detach_ended(pool, eni_id, error, now)
        return submitted

    def _submit_bind(self, pool: NodePool, op: BindOp, now: float) -> int:
        counters = self._seen.counted((pool.node, pool.mode))
        real = pool.resolve(op.eni_id)
        target = op if real == op.eni_id else BindOp(op.op_id, real, False, op.subnet, op.count)
        token = self._token(pool, Operation.BIND, now, 2.0 if op.new_eni else 1.0, op_id=op.op_id)
        if token is None:
            counters.binds[BindResult.THROTTLED] += op.count
            pool.bind_failed(op.op_id)
            return 0
        try:
            self._provider.bind(pool.node, pool.mode, target, token, now)
            return 1
        except ProviderError as error:
            self._refused(pool, token, error, now)
            throttled = isinstance(error, TransientError) and not isinstance(error, OutcomeUnknown)
            counters.binds[BindResult.THROTTLED if throttled else BindResult.ERROR] += op.count
            self._bind_failed(pool, op, error, now)
            return 0

    def _token(
        self, pool: NodePool, kind: Operation, now: float, cost: float = 1.0, *,
        op_id: int = 0, eni_id: str = "", ip: str = "",
    ) -> str | None:  # fmt: skip
        """A token for one call, if the client-side rate limit allows it now; else
        None, and the pool is woken when the bucket will have the tokens."""
        key = (pool.node, pool.mode)
        if not self._bucket.take(now, cost):
            self._schedule.held_back(key, now)
            self._schedule.wake_at(key, self._bucket.ready_at(now, cost))
            return None
        self._schedule.served(key)
        return self._ledger.issue(Pending(pool, kind, op_id, eni_id, ip))

    def _refused(self, pool: NodePool, token: str, error: ProviderError, now: float) -> None:
        """A call refused when submitted (throttled, invalid): count it and back off."""
        self._ledger.take(token)
        self._seen.called(ApiCall(error.operation, 0.0, error.code))
        self._backoff.failed((pool.node, pool.mode), now)

    # --- outcomes --------------------------------------------------------------------------

    def apply(self, pool: NodePool | None, outcome: Outcome, now: float) -> bool:
        """Apply an outcome to the operation its token names (``pool`` is the outcome's
        node's pool, if any). An outcome that is not ours only makes that pool's
        inventory sync due. True when it ended an operation of ours."""
        code = outcome.error.code if outcome.error else None
        self._seen.called(ApiCall(outcome.kind, outcome.seconds, code))
        pending = self._ledger.take(outcome.token)
        if pool is None:
            return False
        key = (pool.node, pool.mode)
        if pending is None or pending.pool is not pool:  # another engine's (before a restart)
            self._schedule.sync_now(key, now)
            return False
        error = outcome.error
        self._seen.changed = True
        if error is None or (isinstance(error, NotFound) and pending.kind is not Operation.BIND):
            self._backoff.succeeded(key)
        else:
            self._backoff.failed(key, now)
        match pending.kind:
            case Operation.BIND:
                self._bind_outcome(pool, pending.op_id, outcome, now)
            case Operation.RELEASE:
                self._release_ended(pool, pending.eni_id, pending.ip, error, now)
            case Operation.DETACH:
                self._detach_ended(pool, pending.eni_id, error, now)
            case Operation.INVENTORY:
                raise ValueError("an inventory is read at once, it has no outcome")
            case _:
                assert_never(pending.kind)
        return True

    def _bind_outcome(self, pool: NodePool, op_id: int, outcome: Outcome, now: float) -> None:
        op = pool.op(op_id)
        if op is None:
            return
        counters = self._seen.counted((pool.node, pool.mode))
        if outcome.error is not None:
            counters.binds[BindResult.ERROR] += op.count
            self._bind_failed(pool, op, outcome.error, now)
            return
        counters.binds[BindResult.SUCCESS] += len(outcome.ips)
        if len(outcome.ips) < op.count:
            counters.binds[BindResult.ERROR] += op.count - len(outcome.ips)
        for _, waited in pool.bind_done(op.op_id, outcome.eni_id, list(outcome.ips), now):
            self._seen.waited(pool.mode, waited)
        if op.new_eni:
            for queued in self._take_deferred(pool, op.eni_id):
                self._submit_bind(pool, queued, now)

    def _bind_failed(self, pool: NodePool, op: BindOp, error: ProviderError, now: float) -> None:
        """The op bound nothing (as far as we know); IP binds queued behind a failed
        attach fail with it. A timed-out bind, an attach (the cloud may have made the
        ENI before failing) or a bind to an ENI that is gone make a sync due."""
        key = (pool.node, pool.mode)
        pool.bind_failed(op.op_id, doubtful=isinstance(error, OutcomeUnknown))
        if op.new_eni:
            for queued in self._take_deferred(pool, op.eni_id):
                self._seen.counted(key).binds[BindResult.ERROR] += queued.count
                pool.bind_failed(queued.op_id)
        if op.new_eni or isinstance(error, OutcomeUnknown | NotFound):
            self._schedule.sync_now(key, now)

    def _release_ended(
        self, pool: NodePool, eni_id: str, ip: str, error: ProviderError | None, now: float
    ) -> None:
        if error is None or isinstance(error, NotFound):
            pool.release_done(eni_id, ip)
        elif isinstance(error, OutcomeUnknown):  # doubtful: neither idle nor gone
            self._schedule.sync_now((pool.node, pool.mode), now)
        else:
            pool.release_failed(eni_id, ip)

    def _detach_ended(
        self, pool: NodePool, eni_id: str, error: ProviderError | None, now: float
    ) -> None:
        if error is None or isinstance(error, NotFound):
            pool.detach_done(eni_id)
        elif isinstance(error, OutcomeUnknown):  # doubtful: neither attached nor gone
            self._schedule.sync_now((pool.node, pool.mode), now)
        else:
            pool.detach_failed(eni_id)

    def _take_deferred(self, pool: NodePool, placeholder: str) -> list[BindOp]:
        key = (pool.node, pool.mode)
        queued = self._deferred.get(key, [])
        mine = [op for op in queued if op.eni_id == placeholder]
        self._deferred[key] = [op for op in queued if op.eni_id != placeholder]
        return mine
