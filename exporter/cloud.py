"""A simulated VPC: the built-in cloud provider behind ``eni-exporter simulate``.

It keeps the truth about ENIs and IPs per node and subnet, takes seconds to do
anything (an IP bind 1–3 s, an ENI attach 10–30 s), enforces the cloud API rate
limit (TKE's default is 50 QPS per cluster: calls beyond it are refused with
``RequestLimitExceeded``), and injects faults (:mod:`exporter.faults`). Time is
virtual: operations finish when time reaches their finish time, so the same code runs
a week of churn in seconds or paces itself against the wall clock.

The truth (:mod:`exporter.vpcstate`) has a state for every IP from submission to
finish: an IP being bound or released is *changing* (neither usable nor gone), an ENI
is attaching, attached or detaching. What a call does to that truth is complete at its
finish time (the *effect*), independently of when the engine hears about it (the
*answer*): a call that times out answers ``RequestTimeout`` and may or may not have
taken effect.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from exporter.faults import Fate, FaultRates, Faults
from exporter.vpcstate import IpState, Key, SimEni, VpcState
from pool_engine.backoff import TokenBucket
from pool_engine.config import Mode
from pool_engine.errors import NotFound, PermanentError, ProviderError
from pool_engine.inventory import EniState, Inventory
from pool_engine.plan import BindOp, Latencies
from pool_engine.provider import Operation, Outcome


@dataclass(frozen=True)
class CloudSettings:
    """How the simulated VPC behaves."""

    ip_bind_seconds: tuple[float, float] = (1.0, 3.0)
    """Uniform range of an IP bind on an attached ENI."""
    eni_attach_seconds: tuple[float, float] = (10.0, 30.0)
    """Uniform range of creating and attaching an ENI (its IPs then bind as above)."""
    release_seconds: tuple[float, float] = (0.5, 1.5)
    detach_seconds: tuple[float, float] = (2.0, 5.0)
    api_qps: float = 50.0
    """Cloud API rate limit for the whole cluster (calls per second)."""
    error_rate: float = 0.0
    """Fraction of calls that fail (InternalError)."""
    throttle_rate: float = 0.0
    """Fraction of calls refused as throttled, on top of the rate limit."""
    timeout_rate: float = 0.0
    """Fraction of calls that time out (carried out or not, half and half)."""
    faults_until: float = math.inf
    """No fault is injected from this simulated time on."""
    subnets: tuple[tuple[str, int], ...] = (("subnet-a", 8192), ("subnet-b", 8192))
    """Subnets and their free IPs."""
    seed: int = 0

    @property
    def rates(self) -> FaultRates:
        return FaultRates(self.error_rate, self.throttle_rate, self.timeout_rate,
                          self.faults_until)  # fmt: skip

    def scaled(self, factor: float) -> CloudSettings:
        """The same VPC with every latency multiplied by ``factor``."""

        def scale(bounds: tuple[float, float]) -> tuple[float, float]:
            return (bounds[0] * factor, bounds[1] * factor)

        return replace(
            self,
            ip_bind_seconds=scale(self.ip_bind_seconds),
            eni_attach_seconds=scale(self.eni_attach_seconds),
            release_seconds=scale(self.release_seconds),
            detach_seconds=scale(self.detach_seconds),
        )


class SimulatedVpc:
    """Implements :class:`pool_engine.provider.Provider` in virtual time."""

    def __init__(self, settings: CloudSettings | None = None) -> None:
        self.settings = settings or CloudSettings()
        self.rng = random.Random(self.settings.seed)
        self.faults = Faults(self.settings.seed)
        self.limit = TokenBucket(rate=self.settings.api_qps, burst=self.settings.api_qps)
        self.state = VpcState(self.settings.subnets)
        self.calls = 0
        self._effects: list[tuple[float, int, Callable[[float], None]]] = []
        self._answers: list[tuple[float, int, Outcome]] = []
        self._seq = itertools.count()

    def end_faults(self, at: float) -> None:
        """No fault from ``at`` on (a run stopped before its ``faults_until``)."""
        self.settings = replace(self.settings, faults_until=min(self.settings.faults_until, at))

    @property
    def enis(self) -> dict[Key, dict[str, SimEni]]:
        """ENIs by (node, mode) and id (the truth; read-only by convention)."""
        return self.state.enis

    # --- Provider ---------------------------------------------------------------------

    def bind(self, node: str, mode: Mode, op: BindOp, token: str, now: float) -> None:
        fate = self._admit(Operation.BIND, now)
        latency = Latencies(
            ip_bind=self._latency(self.settings.ip_bind_seconds),
            eni_attach=self._latency(self.settings.eni_attach_seconds),
        )
        seconds = latency.of(op, mode)
        done = Outcome(node, mode, Operation.BIND, op.eni_id, token, seconds=seconds)
        if fate.carried_out:
            try:
                eni_id, ips = self._start_bind((node, mode), op, now + seconds)
                done = replace(done, eni_id=eni_id, ips=ips)
            except ProviderError as refused:
                done = replace(done, error=refused)
        self._answer(now, fate, done)

    def release(self, node: str, mode: Mode, eni_id: str, ip: str, token: str,
                now: float) -> None:  # fmt: skip
        fate = self._admit(Operation.RELEASE, now)
        seconds = self._latency(self.settings.release_seconds)
        done = Outcome(node, mode, Operation.RELEASE, eni_id, token, (ip,), seconds=seconds)
        key = (node, mode)
        if fate.carried_out:
            eni = self.state.eni(key, eni_id)
            if eni is None or eni.ips.get(ip) is not IpState.BOUND:
                error = NotFound(Operation.RELEASE, "InvalidIp.NotFound", f"{ip} not on {eni_id}")
                done = replace(done, error=error)
            else:
                self.state.set_ip(key, eni_id, ip, IpState.RELEASING)
                self._effect(now + seconds, lambda t: self._released(key, eni_id, ip, t))
        self._answer(now, fate, done)

    def detach(self, node: str, mode: Mode, eni_id: str, token: str, now: float) -> None:
        fate = self._admit(Operation.DETACH, now)
        seconds = self._latency(self.settings.detach_seconds)
        done = Outcome(node, mode, Operation.DETACH, eni_id, token, seconds=seconds)
        key = (node, mode)
        if fate.carried_out:
            eni = self.state.eni(key, eni_id)
            error: ProviderError | None = None
            if eni is None:
                error = NotFound(Operation.DETACH, "InvalidNetworkInterfaceId.NotFound", eni_id)
            elif eni.ips or eni.state is not EniState.ATTACHED:
                problem = f"{eni_id} is {eni.state} with {len(eni.ips)} IPs"
                error = PermanentError(Operation.DETACH, "UnsupportedOperation", problem)
            else:
                self.state.set_eni(key, eni_id, EniState.DETACHING)
                self._effect(now + seconds, lambda t: self.state.remove_eni(key, eni_id))
            done = replace(done, error=error)
        self._answer(now, fate, done)

    def poll(self, now: float) -> list[Outcome]:
        self._settle(now)
        done = []
        while self._answers and self._answers[0][0] <= now:
            done.append(heapq.heappop(self._answers)[2])
        return done

    def inventory(self, node: str, mode: Mode, now: float) -> Inventory:
        fate = self._admit(Operation.INVENTORY, now)
        if fate is not Fate.OK:
            raise fate.error(Operation.INVENTORY)
        return Inventory(self.state.records((node, mode)), dict(self.state.free))

    # --- the truth, for the simulation loop, the audit and tests ------------------------

    def next_finish(self) -> float | None:
        """When the next effect or answer is due; None when nothing is in flight."""
        due = [queue[0][0] for queue in (self._effects, self._answers) if queue]
        return min(due) if due else None

    def last_finish(self) -> float | None:
        """When the last effect or answer now in flight is due."""
        due = [entry[0] for queue in (self._effects, self._answers) for entry in queue]
        return max(due) if due else None

    def bound(self, node: str, mode: Mode) -> int:
        """B at the cloud: settled IPs of the node in ``mode``."""
        return self.state.count((node, mode), IpState.BOUND)

    def subnets(self) -> dict[str, int]:
        return dict(self.state.free)

    def forget_node(self, node: str) -> None:
        """A deleted node's ENIs are deleted with its instance."""
        self.state.forget_node(node)

    # --- internals ----------------------------------------------------------------------

    def _admit(self, operation: Operation, now: float) -> Fate:
        """Carry out what is due, count the call, refuse it when throttled (by the
        cloud's rate limit or an injected fault), and draw its fate."""
        self._settle(now)
        self.calls += 1
        if not self.limit.take(now):
            raise Fate.THROTTLED.error(operation)
        fate = self.faults.draw(self.settings.rates, now)
        if fate is Fate.THROTTLED:
            raise fate.error(operation)
        return fate

    def _answer(self, now: float, fate: Fate, done: Outcome) -> None:
        """The engine hears at the finish time, or when its call times out (half to
        one and a half times the operation's own latency)."""
        at = now + done.seconds
        if fate is Fate.FAIL:
            done = replace(done, ips=(), error=fate.error(done.kind))
        elif not fate.answered:
            at = now + done.seconds * self.rng.uniform(0.5, 1.5)
            done = replace(done, ips=(), error=fate.error(done.kind))
        heapq.heappush(self._answers, (at, next(self._seq), done))

    def _effect(self, at: float, effect: Callable[[float], None]) -> None:
        heapq.heappush(self._effects, (at, next(self._seq), effect))

    def _settle(self, now: float) -> None:
        """Carry out every effect due by ``now``, in time order."""
        while self._effects and self._effects[0][0] <= now:
            at, _, effect = heapq.heappop(self._effects)
            effect(at)

    def _start_bind(self, key: Key, op: BindOp, finish: float) -> tuple[str, tuple[str, ...]]:
        state = self.state
        if op.new_eni:
            eni_id = state.add_eni(key, state.subnet_for(op.subnet))
        else:
            eni_id = op.eni_id
            eni = state.eni(key, eni_id)
            if eni is None or eni.state is not EniState.ATTACHED:
                raise NotFound(Operation.BIND, "InvalidNetworkInterfaceId.NotFound", eni_id)
        ips = state.allocate(key, eni_id, op.count)
        self._effect(finish, lambda t: self._bound(key, eni_id, ips))
        if not ips:  # a new ENI was made all the same: it attaches, empty
            subnet = state.enis[key][eni_id].subnet
            raise PermanentError(Operation.BIND, "InsufficientSubnetIpAddress", subnet)
        return eni_id, ips

    def _bound(self, key: Key, eni_id: str, ips: tuple[str, ...]) -> None:
        if self.state.enis[key][eni_id].state is EniState.ATTACHING:
            self.state.set_eni(key, eni_id, EniState.ATTACHED)
        for ip in ips:
            self.state.set_ip(key, eni_id, ip, IpState.BOUND)

    def _released(self, key: Key, eni_id: str, ip: str, now: float) -> None:
        self.state.set_ip(key, eni_id, ip, None)
        watcher = self.state.watcher
        if watcher is not None:
            watcher.released(key[0], key[1], ip, now)

    def _latency(self, bounds: tuple[float, float]) -> float:
        return self.rng.uniform(*bounds)
