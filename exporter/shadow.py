"""The engine as a shadow of TKE's agent (tke-observe).

On TKE the exporter only reads; our engine runs beside TKE's agent, fed with the same
pods and NEC annotations, against :class:`ShadowCloud`: an in-memory provider whose
operations finish at the next step and never fail. When the shadow first sees a node
it adopts TKE's observed state: the pool starts with the slots TKE has bound (the
node's allocatable extended resource), held by the node's pods, instead of empty.

What the exporter publishes as the engine's waits and cloud calls must describe the
real cluster: :class:`ShadowReconciler` hands the daemon the real pods' waits
(:class:`exporter.waits.PodWaits`) and no cloud calls (the shadow's are not calls to
any cloud). The shadow's own counts are published apart, as ``eni_pool_shadow_*``.
"""

from __future__ import annotations

import itertools

from exporter.waits import PodWaits
from pool_engine.backoff import TokenBucket
from pool_engine.config import Limits, Mode
from pool_engine.counters import ApiCall
from pool_engine.inventory import EniRecord, Inventory
from pool_engine.plan import BindOp
from pool_engine.provider import Operation, Outcome
from pool_engine.reconciler import Reconciler
from pool_engine.registry import Registry

SUBNET = "shadow"
"""The one subnet of the shadow's ENIs; it never runs out."""


class ShadowCloud:
    """Implements :class:`pool_engine.provider.Provider` in memory, instantly."""

    def __init__(self) -> None:
        self._enis: dict[tuple[str, Mode], dict[str, set[str]]] = {}
        self._done: list[Outcome] = []
        self._ids = itertools.count(1)

    def seed(self, node: str, mode: Mode, slots: int, limits: Limits) -> list[str]:
        """Bind ``slots`` slots to the node at once, packed on as few ENIs as its limits
        allow (TKE's "least ENIs"); returns their IPs."""
        enis = self._enis.setdefault((node, mode), {})
        ips: list[str] = []
        while len(ips) < slots:
            batch = [self._ip() for _ in range(min(limits.ips_per_eni, slots - len(ips)))]
            enis[f"eni-shadow-{next(self._ids)}"] = set(batch)
            ips += batch
        return ips

    def bind(self, node: str, mode: Mode, op: BindOp, token: str, now: float) -> None:
        enis = self._enis.setdefault((node, mode), {})
        eni_id = f"eni-shadow-{next(self._ids)}" if op.new_eni else op.eni_id
        ips = tuple(self._ip() for _ in range(op.count))
        enis.setdefault(eni_id, set()).update(ips)
        self._done.append(Outcome(node, mode, Operation.BIND, eni_id, token, ips))

    def release(self, node: str, mode: Mode, eni_id: str, ip: str, token: str, now: float) -> None:
        self._enis.get((node, mode), {}).get(eni_id, set()).discard(ip)
        self._done.append(Outcome(node, mode, Operation.RELEASE, eni_id, token, (ip,)))

    def detach(self, node: str, mode: Mode, eni_id: str, token: str, now: float) -> None:
        self._enis.get((node, mode), {}).pop(eni_id, None)
        self._done.append(Outcome(node, mode, Operation.DETACH, eni_id, token))

    def poll(self, now: float) -> list[Outcome]:
        done, self._done = self._done, []
        return done

    def inventory(self, node: str, mode: Mode, now: float) -> Inventory:
        """The shadow's ENIs; no subnets (the shadow's is not a real one, and is not
        published)."""
        return Inventory(
            tuple(
                EniRecord(eni_id, SUBNET, tuple(sorted(ips)))
                for eni_id, ips in self._enis.get((node, mode), {}).items()
            )
        )

    def forget_node(self, node: str) -> None:
        for key in [k for k in self._enis if k[0] == node]:
            del self._enis[key]

    def _ip(self) -> str:
        return f"shadow-{next(self._ids)}"


class ShadowReconciler(Reconciler):
    """The reconciler over :class:`ShadowCloud`, unthrottled; what the daemon drains
    from it are the real pods' waits, and no cloud calls."""

    def __init__(self, registry: Registry, cloud: ShadowCloud, waits: PodWaits) -> None:
        super().__init__(registry, cloud, bucket=TokenBucket(rate=1e9, burst=1e9))
        self.waits = waits

    def drain_waits(self) -> list[tuple[Mode, float]]:
        """The real pods' waits; the shadow's own (one step at most) are dropped."""
        super().drain_waits()
        return self.waits.drain()

    def drain_api_calls(self) -> list[ApiCall]:
        """None: the shadow calls no cloud."""
        super().drain_api_calls()
        return []
