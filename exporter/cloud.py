"""A simulated VPC: the built-in cloud provider behind ``eni-exporter simulate``.

It keeps the truth about ENIs and IPs per node and subnet, takes seconds to do
anything (an IP bind 1–3 s, an ENI attach 10–30 s), enforces the cloud API rate
limit (TKE's default is 50 QPS per cluster: calls beyond it are refused with
``RequestLimitExceeded``), and can inject errors and throttling. Time is virtual:
operations finish when ``poll(now)`` reaches their finish time, so the same code
runs a week of churn in seconds or paces itself against the wall clock.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field, replace

from pool_engine.backoff import TokenBucket
from pool_engine.config import Mode
from pool_engine.errors import PermanentError, ProviderError, TransientError
from pool_engine.plan import BindOp, Latencies
from pool_engine.provider import EniRecord, Operation, Outcome


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
    """Fraction of accepted operations that fail (InternalError)."""
    throttle_rate: float = 0.0
    """Fraction of calls refused as throttled on top of the rate limit."""
    subnets: tuple[tuple[str, int], ...] = (("subnet-a", 8192), ("subnet-b", 8192))
    """Subnets and their free IPs."""
    seed: int = 0

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


@dataclass
class _Eni:
    subnet: str
    ips: set[str] = field(default_factory=set)


class SimulatedVpc:
    """Implements :class:`pool_engine.provider.Provider` in virtual time."""

    def __init__(self, settings: CloudSettings | None = None) -> None:
        self.settings = settings or CloudSettings()
        self.rng = random.Random(self.settings.seed)
        self.limit = TokenBucket(rate=self.settings.api_qps, burst=self.settings.api_qps)
        self.free = dict(self.settings.subnets)
        self.enis: dict[tuple[str, Mode], dict[str, _Eni]] = {}
        self.calls = 0
        self._queue: list[tuple[float, int, Outcome]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)

    # --- Provider ---------------------------------------------------------------------

    def bind(self, node: str, mode: Mode, op: BindOp, now: float) -> None:
        self._admit(Operation.BIND, now)
        latency = Latencies(
            ip_bind=self._latency(self.settings.ip_bind_seconds),
            eni_attach=self._latency(self.settings.eni_attach_seconds),
        )
        seconds = latency.of(op, mode)
        eni_id = op.eni_id
        ips: tuple[str, ...] = ()
        error = self._injected_error(Operation.BIND)
        if error is None:
            try:
                eni_id, ips = self._allocate(node, mode, op)
            except ProviderError as refused:
                error = refused
        done = Outcome(node, mode, Operation.BIND, eni_id, op.op_id, ips, error, seconds)
        self._finish(now + seconds, done)

    def release(self, node: str, mode: Mode, eni_id: str, ip: str, now: float) -> None:
        self._admit(Operation.RELEASE, now)
        seconds = self._latency(self.settings.release_seconds)
        error = self._injected_error(Operation.RELEASE)
        if error is None:
            eni = self.enis.get((node, mode), {}).get(eni_id)
            if eni is None or ip not in eni.ips:
                error = PermanentError(
                    Operation.RELEASE, "InvalidIp.NotFound", f"{ip} not on {eni_id}"
                )
            else:
                eni.ips.discard(ip)
                self.free[eni.subnet] += 1
        done = Outcome(node, mode, Operation.RELEASE, eni_id, None, (ip,), error, seconds)
        self._finish(now + seconds, done)

    def detach(self, node: str, mode: Mode, eni_id: str, now: float) -> None:
        self._admit(Operation.DETACH, now)
        seconds = self._latency(self.settings.detach_seconds)
        error = self._injected_error(Operation.DETACH)
        enis = self.enis.get((node, mode), {})
        if error is None:
            eni = enis.get(eni_id)
            if eni is not None and eni.ips:
                error = PermanentError(
                    Operation.DETACH, "UnsupportedOperation", f"{eni_id} still has IPs"
                )
            else:
                enis.pop(eni_id, None)
        done = Outcome(node, mode, Operation.DETACH, eni_id, None, (), error, seconds)
        self._finish(now + seconds, done)

    def poll(self, now: float) -> list[Outcome]:
        done = []
        while self._queue and self._queue[0][0] <= now:
            done.append(heapq.heappop(self._queue)[2])
        return done

    def inventory(self, node: str, mode: Mode) -> list[EniRecord]:
        return [
            EniRecord(eni_id, eni.subnet, tuple(sorted(eni.ips)))
            for eni_id, eni in self.enis.get((node, mode), {}).items()
        ]

    def subnets(self) -> dict[str, int]:
        return dict(self.free)

    # --- for the simulation loop and tests ----------------------------------------------

    def next_finish(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def bound(self, node: str, mode: Mode) -> int:
        return sum(len(e.ips) for e in self.enis.get((node, mode), {}).values())

    def forget_node(self, node: str) -> None:
        """A deleted node's ENIs are deleted with its instance."""
        for key in [k for k in self.enis if k[0] == node]:
            for eni in self.enis.pop(key).values():
                self.free[eni.subnet] += len(eni.ips)

    # --- internals ----------------------------------------------------------------------

    def _admit(self, operation: Operation, now: float) -> None:
        self.calls += 1
        if not self.limit.take(now) or self.rng.random() < self.settings.throttle_rate:
            raise TransientError(operation, "RequestLimitExceeded")

    def _injected_error(self, operation: Operation) -> ProviderError | None:
        if self.rng.random() < self.settings.error_rate:
            return TransientError(operation, "InternalError")
        return None

    def _allocate(self, node: str, mode: Mode, op: BindOp) -> tuple[str, tuple[str, ...]]:
        enis = self.enis.setdefault((node, mode), {})
        if op.new_eni:
            subnet = (
                op.subnet if op.subnet in self.free else max(self.free, key=self.free.__getitem__)
            )
            eni_id = f"eni-{next(self._ids):08x}"
            eni = enis[eni_id] = _Eni(subnet)
        else:
            eni_id = op.eni_id
            if eni_id not in enis:
                raise PermanentError(Operation.BIND, "InvalidNetworkInterfaceId.NotFound", eni_id)
            eni = enis[eni_id]
        count = min(op.count, self.free[eni.subnet])
        if count == 0:
            raise PermanentError(Operation.BIND, "InsufficientSubnetIpAddress", eni.subnet)
        self.free[eni.subnet] -= count
        ips = tuple(
            f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
            for n in (next(self._ids) for _ in range(count))
        )
        eni.ips.update(ips)
        return eni_id, ips

    def _finish(self, at: float, outcome: Outcome) -> None:
        heapq.heappush(self._queue, (at, next(self._seq), outcome))

    def _latency(self, bounds: tuple[float, float]) -> float:
        return self.rng.uniform(*bounds)
