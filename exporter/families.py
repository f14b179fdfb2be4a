"""The table of metric families the exporter builds from a snapshot
(docs/contracts/metrics.md): per pool (labels ``node``, ``mode``) and per cluster.

:mod:`exporter.metrics` renders the table two ways. A family whose value is None for
a row has no sample for that pool: in tke-observe the binds in flight and the
bind/release counters of TKE's agent are not observed, and the shadow engine's own
figures (``eni_pool_shadow_*``) exist only there.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from exporter.snapshot import Items, PoolRow, Snapshot

LABELS = ("node", "mode")


class MetricKind(enum.StrEnum):
    """The exposition type of a family."""

    GAUGE = "gauge"
    COUNTER = "counter"
    """Exposed with ``_total`` appended to the family's name."""


GAUGE, COUNTER = MetricKind.GAUGE, MetricKind.COUNTER


@dataclass(frozen=True)
class Family:
    """A per-pool family: one sample per pool, or a labelled breakdown (``split``)."""

    name: str
    kind: MetricKind
    """A counter's ``name`` here has no ``_total``."""
    help: str
    value: Callable[[PoolRow], float | None] | None = None
    """One sample per pool (None: none for this pool); or None with ``split``."""
    split: tuple[str, Callable[[PoolRow], Items]] | None = None


@dataclass(frozen=True)
class ClusterFamily:
    """A family with one label and no node: one sample per label value."""

    name: str
    kind: MetricKind
    help: str
    label: str
    items: Callable[[Snapshot], Items]


FAMILIES = (
    Family(
        "eni_pool_bound_slots",
        GAUGE,
        "Slots bound to the node (IPs or ENIs attached), idle or in use.",
        lambda r: r.bound,
    ),
    Family(
        "eni_pool_in_use_slots",
        GAUGE,
        "Bound slots held by the node's running pods.",
        lambda r: r.in_use,
    ),
    Family(
        "eni_pool_warm_slots",
        GAUGE,
        "Bound slots no pod holds: ready for the next pod start without waiting.",
        lambda r: r.warm,
    ),
    Family(
        "eni_pool_max_attach_slots",
        GAUGE,
        "Most slots the node can have bound: its max-attach limit.",
        lambda r: r.max_attach,
    ),
    Family(
        "eni_pool_min_warm_target",
        GAUGE,
        "Idle slots the pool keeps bound at least, on top of those in use (min warm).",
        lambda r: r.min_warm,
    ),
    Family(
        "eni_pool_max_warm_target",
        GAUGE,
        "Idle slots the pool keeps at most before releasing the excess (max warm).",
        lambda r: r.max_warm,
    ),
    Family(
        "eni_pool_waiting_pods",
        GAUGE,
        "Pods started on the node and still waiting for a slot to be bound.",
        lambda r: r.waiting,
    ),
    Family(
        "eni_pool_binds_in_flight",
        GAUGE,
        "Slot binds requested from the cloud and not finished yet.",
        lambda r: r.in_flight,
    ),
    Family("eni_pool_pod_starts", COUNTER, "Pods started on the node.", lambda r: r.pod_starts),
    Family(
        "eni_pool_pod_start_bursts",
        COUNTER,
        "Pod starts that began a burst (2.5 s after the burst before began; direct-eni 25 s).",
        lambda r: r.pod_start_bursts,
    ),
    Family(
        "eni_pool_pod_start_pairs",
        COUNTER,
        "Pairs of pod starts within one burst (s(s-1)/2 for a burst of s pods).",
        lambda r: r.pod_start_pairs,
    ),
    Family("eni_pool_pod_stops", COUNTER, "Pods stopped on the node.", lambda r: r.pod_stops),
    Family(
        "eni_pool_cold_starts",
        COUNTER,
        "Pod starts that found no warm slot (tke-observe: pods that waited for one).",
        lambda r: r.cold_starts,
    ),
    Family(
        "eni_pool_bind_operations",
        COUNTER,
        "Slots whose bind ended, by result (success, error, throttled).",
        split=("result", lambda r: r.binds),
    ),
    Family(
        "eni_pool_release_operations",
        COUNTER,
        "Slots sent for release, by the rule that chose them.",
        split=("reason", lambda r: r.releases),
    ),
    Family(
        "eni_pool_config_rejections",
        COUNTER,
        "NEC annotation changes refused as invalid, by reason.",
        split=("reason", lambda r: r.rejections),
    ),
    Family(
        "eni_pool_out_of_band_seconds",
        COUNTER,
        "Seconds the bound slots stayed below or above the pool's targets longer than "
        "the rules allow, by side.",
        split=("side", lambda r: r.out_of_band),
    ),
    Family(
        "eni_pool_target_changes",
        COUNTER,
        "Changes of the min/max warm targets applied from NEC updates, by who made them.",
        split=("source", lambda r: r.target_changes),
    ),
    Family(
        "eni_pool_schedule_active_block",
        GAUGE,
        "UTC hour (0-23) at which the block of the node's time-of-day schedule in force "
        "began; no sample without a schedule.",
        lambda r: r.schedule.from_hour if r.schedule else None,
    ),
    Family(
        "eni_pool_scheduled_min_warm_target",
        GAUGE,
        "Min warm target the node's time-of-day schedule sets now.",
        lambda r: r.schedule.targets.min_warm if r.schedule else None,
    ),
    Family(
        "eni_pool_scheduled_max_warm_target",
        GAUGE,
        "Max warm target the node's time-of-day schedule sets now.",
        lambda r: r.schedule.targets.max_warm if r.schedule else None,
    ),
    Family(
        "eni_pool_shadow_bound_slots",
        GAUGE,
        "tke-observe: slots our shadow engine would keep bound, binds in flight included.",
        lambda r: r.shadow.bound if r.shadow else None,
    ),
    Family(
        "eni_pool_shadow_cold_starts",
        COUNTER,
        "tke-observe: pod starts that found no warm slot in the shadow engine's pool.",
        lambda r: r.shadow.cold_starts if r.shadow else None,
    ),
    Family(
        "eni_pool_shadow_bind_operations",
        COUNTER,
        "tke-observe: the shadow engine's slot binds by result.",
        split=("result", lambda r: r.shadow.binds if r.shadow else ()),
    ),
    Family(
        "eni_pool_shadow_release_operations",
        COUNTER,
        "tke-observe: the shadow engine's slot releases by reason.",
        split=("reason", lambda r: r.shadow.releases if r.shadow else ()),
    ),
)

CLUSTER_FAMILIES = (
    ClusterFamily(
        "eni_pool_pods_without_slot",
        COUNTER,
        "tke-observe: pods left unscheduled for want of a free slot on any node.",
        "mode",
        lambda s: s.pods_without_slot,
    ),
    ClusterFamily(
        "eni_pool_subnet_free_ips",
        GAUGE,
        "Free IPs per subnet, as the cloud provider reports them.",
        "subnet",
        lambda s: s.subnets,
    ),
)


def suffix(kind: MetricKind) -> str:
    """What the exposition appends to a family's name."""
    match kind:
        case MetricKind.GAUGE:
            return ""
        case MetricKind.COUNTER:
            return "_total"
        case _:
            assert_never(kind)


def samples(family: Family, rows: tuple[PoolRow, ...]) -> list[tuple[PoolRow, str, float]]:
    """(row, extra label value or "", value) of every sample of ``family``."""
    if family.value is not None:
        get = family.value
        return [(row, "", v) for row in rows if (v := get(row)) is not None]
    assert family.split is not None
    get_split = family.split[1]
    return [(row, label, v) for row in rows for label, v in get_split(row)]
