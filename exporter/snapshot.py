"""An immutable view of every pool, taken after each engine step.

Scrapes read the latest snapshot and nothing else: a scrape never touches the
Kubernetes or cloud API, and never waits for the engine.

In cluster mode a :class:`ClusterView` adds what the cluster shows beside the engine:
each pool's time outside its band (:mod:`exporter.band`) and, in tke-observe, TKE's
own bound and in-use counts and the real pods' cold starts (:mod:`exporter.waits`);
the engine then runs as a shadow and its own figures go to :class:`ShadowRow`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from exporter.band import Band
from exporter.engine import PoolEngine
from exporter.timetable import InForce
from exporter.waits import PodWaits
from pool_engine.config import Mode
from pool_engine.warm_schedule import Block

Items = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ShadowRow:
    """tke-observe: what the shadow engine did with the same pods and annotations."""

    bound: int
    """B + K: the slots it would keep bound."""
    cold_starts: int
    binds: Items
    releases: Items


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
    in_flight: int | None
    """None where not observed (TKE's agent, in tke-observe)."""
    pod_starts: int
    pod_start_bursts: int
    pod_start_pairs: int
    pod_stops: int
    cold_starts: int
    binds: Items
    releases: Items
    rejections: Items
    out_of_band: Items = ()
    """Seconds outside the band by side (cluster mode)."""
    target_changes: Items = ()
    """Changes of the warm targets from NEC updates, by source (cluster mode)."""
    shadow: ShadowRow | None = None
    schedule: Block | None = None
    """The block of the pool's time-of-day schedule in force, if it has one."""


@dataclass(frozen=True)
class Snapshot:
    taken_at: float
    rows: tuple[PoolRow, ...]
    subnets: Items = ()
    """Free IPs per subnet, where the provider knows them."""
    pods_without_slot: Items = ()
    """tke-observe: pods left unscheduled for want of a slot, by mode."""


EMPTY = Snapshot(0.0, ())


@dataclass(frozen=True)
class ClusterView:
    """What cluster mode adds to the engine's pools."""

    band: Band
    tke: Mapping[tuple[str, Mode], tuple[int, int]] | None = None
    """tke-observe: (bound, in use) per pool as TKE shows them."""
    waits: PodWaits | None = None
    """tke-observe: the real pods' cold starts."""
    target_changes: Callable[[str, Mode], Items] | None = None
    """A pool's changes of warm targets by source (exporter.target_changes)."""
    blocks: Mapping[tuple[str, Mode], InForce] = field(default_factory=dict)
    """The block in force of each pool with a time-of-day schedule."""


def take_snapshot(engine: PoolEngine, now: float, cluster: ClusterView | None = None) -> Snapshot:
    """Every pool's row. In tke-observe (``cluster.tke``) a row reports TKE's bound and
    in-use counts, no waiting pods (TKE schedules no pod without a slot), no binds in
    flight or bind/release counts (not observed), the real cold starts, and the
    shadow engine's own figures apart."""
    rows = []
    tke = cluster.tke if cluster else None
    waits = cluster.waits if cluster else None
    for pool in engine.pools():
        key = (pool.node, pool.mode)
        counters = engine.counters(pool)
        binds = _items(counters.binds.items())
        releases = _items(counters.releases.items())
        band = cluster.band.seconds(*key) if cluster else None
        scheduled = cluster.blocks.get(key) if cluster else None
        if tke is None:
            bound, holding, waiting = pool.bound, pool.holding, pool.waiting
            in_flight: int | None = pool.in_flight
            cold, shadow = counters.cold_starts, None
        else:
            (bound, holding), waiting, in_flight = tke.get(key, (0, 0)), 0, None
            cold = waits.cold_starts[key] if waits else 0
            shadow = ShadowRow(pool.bound + pool.in_flight, counters.cold_starts, binds, releases)
            binds, releases = (), ()
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
                in_flight=in_flight,
                pod_starts=counters.pod_starts,
                pod_start_bursts=counters.pod_start_bursts,
                pod_start_pairs=counters.pod_start_pairs,
                pod_stops=counters.pod_stops,
                cold_starts=cold,
                binds=binds,
                releases=releases,
                rejections=_items(counters.rejections.items()),
                out_of_band=() if band is None else _sides(band),
                target_changes=_changes(cluster, pool.node, pool.mode),
                shadow=shadow,
                schedule=scheduled.block if scheduled else None,
            )
        )
    without = waits.without_slot if waits and tke is not None else {}
    return Snapshot(
        now,
        tuple(rows),
        subnets=tuple(sorted((name, float(free)) for name, free in engine.subnets().items())),
        pods_without_slot=tuple(sorted((mode.value, float(n)) for mode, n in without.items())),
    )


def _changes(cluster: ClusterView | None, node: str, mode: Mode) -> Items:
    if cluster is None or cluster.target_changes is None:
        return ()
    return cluster.target_changes(node, mode)


def _sides(band: tuple[float, float]) -> Items:
    below, above = band
    return (("above", round(above, 3)), ("below", round(below, 3)))


def _items(pairs: Iterable[tuple[enum.StrEnum, int]]) -> Items:
    """A counter's (label value, count) pairs in label order."""
    return tuple(sorted((label.value, float(count)) for label, count in pairs))
