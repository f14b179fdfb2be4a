"""An immutable view of every pool, taken after each engine step.

Scrapes read the latest snapshot and nothing else: a scrape never touches the
Kubernetes or cloud API, and never waits for the engine.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from exporter.engine import PoolEngine
from pool_engine.config import Mode


@dataclass(frozen=True)
class PoolRow:
    node: str
    mode: str
    bound: int
    in_use: int
    warm: int
    max_attach: int
    min_warm: int
    max_warm: int
    waiting: int
    in_flight: int
    pod_starts: int
    pod_stops: int
    cold_starts: int
    binds: tuple[tuple[str, int], ...]
    releases: tuple[tuple[str, int], ...]
    rejections: tuple[tuple[str, int], ...]
    expected_bound: int | None = None
    """What the engine would keep bound, when it runs as a shadow (tke-observe)."""


@dataclass(frozen=True)
class Snapshot:
    taken_at: float
    rows: tuple[PoolRow, ...]


EMPTY = Snapshot(0.0, ())


def take_snapshot(
    engine: PoolEngine,
    now: float,
    observed: Mapping[tuple[str, Mode], tuple[int, int]] | None = None,
) -> Snapshot:
    """Every pool's row. With ``observed`` — (bound, in use) per pool as the cluster
    shows them, in shadow mode — the row reports those, no waiting pods (TKE does not
    schedule a pod without a slot), and the bound count the engine would keep
    (B + K of the shadow pool) as expected."""
    rows = []
    for pool in engine.pools():
        key = (pool.node, pool.mode)
        counters = engine.counters(pool)
        if observed is None:
            bound, holding, waiting, expected = pool.bound, pool.holding, pool.waiting, None
        else:
            bound, holding = observed.get(key, (0, 0))
            waiting, expected = 0, pool.bound + pool.in_flight
        rows.append(
            PoolRow(
                node=pool.node,
                mode=pool.mode.value,
                bound=bound,
                in_use=holding,
                warm=bound - holding,
                max_attach=pool.capacity,
                min_warm=pool.targets.min_warm,
                max_warm=pool.targets.max_warm,
                waiting=waiting,
                in_flight=pool.in_flight,
                pod_starts=counters.pod_starts,
                pod_stops=counters.pod_stops,
                cold_starts=counters.cold_starts,
                binds=_items(counters.binds.items()),
                releases=_items(counters.releases.items()),
                rejections=_items(counters.rejections.items()),
                expected_bound=expected,
            )
        )
    return Snapshot(now, tuple(rows))


def _items(pairs: Iterable[tuple[enum.StrEnum, int]]) -> tuple[tuple[str, int], ...]:
    """A counter's (label value, count) pairs in label order."""
    return tuple(sorted((label.value, count) for label, count in pairs))
