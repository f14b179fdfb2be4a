"""The node pools of a cluster, created on first sight with the defaults then in force.

The engine flags (:class:`pool_engine.config.Defaults`) apply only to nodes first
seen after they change: an existing pool keeps its targets until its NEC
annotations say otherwise (TKE ipamd behaves the same way).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pool_engine.config import Defaults, Limits, Mode, Refusal
from pool_engine.policy import DEFAULT_RELEASE_INTERVAL
from pool_engine.pool import NodePool


@dataclass
class Registry:
    """Pools by (node, mode)."""

    defaults: Defaults = field(default_factory=Defaults)
    release_interval: float = DEFAULT_RELEASE_INTERVAL
    pools: dict[tuple[str, Mode], NodePool] = field(default_factory=dict)

    def set_defaults(self, defaults: Defaults) -> Refusal | None:
        """New defaults for nodes seen from now on; existing pools keep theirs."""
        refused = defaults.check()
        if refused is None:
            self.defaults = defaults
        return refused

    def ensure(
        self, node: str, mode: Mode, limits: Limits, now: float, defaults: Defaults | None = None
    ) -> NodePool:
        """The node's pool, created if this is its first sight with ``defaults``: those
        in force when the node was first seen, which a caller may have kept across a
        restart; None: the current defaults."""
        key = (node, mode)
        pool = self.pools.get(key)
        if pool is None:
            kept = defaults or self.defaults
            pool = NodePool(
                node,
                mode,
                kept.targets(mode),
                limits,
                quick_release=kept.quick_release,
                started=now,
                release_interval=self.release_interval,
            )
            self.pools[key] = pool
        return pool

    def forget(self, node: str) -> list[NodePool]:
        """Drop a deleted node's pools; returns them (their slots go with the node)."""
        gone = [self.pools.pop(k) for k in list(self.pools) if k[0] == node]
        return gone

    def __iter__(self) -> Iterator[NodePool]:
        return iter(self.pools.values())

    def __len__(self) -> int:
        return len(self.pools)
