"""The pool engine as the exporter sees it.

The daemon, the snapshot and both worlds behind them (cluster mode, the simulated
cluster) drive and read the engine through :class:`PoolEngine`;
:class:`pool_engine.reconciler.Reconciler` is the one implementation. The
exporter's loop and publisher then do not depend on the reconciler's class, and a
test can stand in for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from pool_engine.config import Mode, Refusal
from pool_engine.counters import ApiCall, PoolCounters
from pool_engine.pool import NodePool


class PoolEngine(Protocol):
    """Pools that move to a point in time, take pod and NEC events, and report."""

    # --- driving it ----------------------------------------------------------------------

    def step(self, now: float) -> int:
        """Apply what the cloud finished by ``now``, decide, submit; returns calls made."""
        ...

    def pod_started(self, pool: NodePool, pod: str, now: float) -> bool:
        """A pod started on the pool's node; True when it found a warm slot."""
        ...

    def pod_stopped(self, pool: NodePool, pod: str, now: float) -> None: ...

    def configure(
        self, pool: NodePool, annotations: Mapping[str, str], now: float
    ) -> list[Refusal]:
        """Apply a node's NEC annotations; returns what was refused."""
        ...

    def rebuild(self, pool: NodePool, holders: Mapping[str, str], now: float) -> None:
        """Load a new pool's slots from the provider; ``holders`` maps IP -> pod."""

    def mark_changed(self) -> None:
        """Something a snapshot shows changed outside the pools."""

    # --- reading it ----------------------------------------------------------------------

    def pools(self) -> Iterator[NodePool]: ...

    def pool_count(self) -> int: ...

    def counters(self, pool: NodePool) -> PoolCounters: ...

    def subnets(self) -> dict[str, int]:
        """Free IPs per subnet, as the provider reports them (empty: it does not know)."""
        ...

    def take_changed(self) -> bool:
        """True when some pool changed since the last call (then publish)."""
        ...

    def drain_waits(self) -> list[tuple[Mode, float]]:
        """Pod-start-to-slot waits since the last drain."""
        ...

    def drain_api_calls(self) -> list[ApiCall]:
        """Cloud API calls since the last drain."""
        ...
