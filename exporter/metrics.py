"""The exporter's metrics (docs/contracts/metrics.md): one table of per-pool families,
read two ways.

- :class:`PoolCollector` is a prometheus_client custom collector that yields fresh
  metric families from the latest snapshot (for registries and tests);
- :func:`render` writes the same families straight to the exposition text with
  label strings cached per pool, because ``generate_latest`` spends ~5 µs per
  sample and a 5,000-node cluster has ~70,000 of them; everything else (histograms,
  build info, process metrics) comes from :class:`Instruments` through
  prometheus_client as usual.

``tests/integration/test_metrics.py`` parses both outputs and demands the same samples.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import assert_never

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.registry import Collector

from exporter.snapshot import PoolRow, Snapshot

LABELS = ("node", "mode")


class MetricKind(enum.StrEnum):
    """The exposition type of a per-pool family."""

    GAUGE = "gauge"
    COUNTER = "counter"
    """Exposed with ``_total`` appended to the family's name."""


GAUGE, COUNTER = MetricKind.GAUGE, MetricKind.COUNTER


@dataclass(frozen=True)
class Family:
    name: str
    kind: MetricKind
    """A counter's ``name`` here has no ``_total``."""
    help: str
    value: Callable[[PoolRow], int] | None = None
    """One sample per pool; or None with ``split`` for a labelled breakdown."""
    split: tuple[str, Callable[[PoolRow], tuple[tuple[str, int], ...]]] | None = None


FAMILIES = (
    Family("eni_pool_bound_slots", GAUGE, "Slots bound to the node (B).", lambda r: r.bound),
    Family("eni_pool_in_use_slots", GAUGE, "Slots held by pods (P).", lambda r: r.in_use),
    Family("eni_pool_warm_slots", GAUGE, "Idle bound slots (B - P).", lambda r: r.warm),
    Family("eni_pool_max_attach_slots", GAUGE, "Max bindable slots (C).", lambda r: r.max_attach),
    Family("eni_pool_min_warm_target", GAUGE, "Min warm target (m).", lambda r: r.min_warm),
    Family("eni_pool_max_warm_target", GAUGE, "Max warm target (M).", lambda r: r.max_warm),
    Family("eni_pool_waiting_pods", GAUGE, "Pods waiting for a slot (W).", lambda r: r.waiting),
    Family(
        "eni_pool_binds_in_flight",
        GAUGE,
        "Slot binds requested, not done (K).",
        lambda r: r.in_flight,
    ),
    Family("eni_pool_pod_starts", COUNTER, "Pods started on the node.", lambda r: r.pod_starts),
    Family("eni_pool_pod_stops", COUNTER, "Pods stopped on the node.", lambda r: r.pod_stops),
    Family(
        "eni_pool_cold_starts",
        COUNTER,
        "Pod starts that found no warm slot.",
        lambda r: r.cold_starts,
    ),
    Family(
        "eni_pool_bind_operations",
        COUNTER,
        "Slot binds by result.",
        split=("result", lambda r: r.binds),
    ),
    Family(
        "eni_pool_release_operations",
        COUNTER,
        "Slot releases by reason.",
        split=("reason", lambda r: r.releases),
    ),
    Family(
        "eni_pool_config_rejections",
        COUNTER,
        "Refused NEC annotation changes by reason.",
        split=("reason", lambda r: r.rejections),
    ),
)
DRIFT = Family(
    "eni_pool_expected_bound_slots",
    GAUGE,
    "Slots the engine would keep bound (shadow mode); compare with eni_pool_bound_slots.",
)

SLOT_WAIT_BUCKETS = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
API_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)


class Instruments:
    """prometheus_client instruments for everything that is not a per-pool family."""

    def __init__(self, version: str) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series double the histograms' size for no use
        self.registry = CollectorRegistry()
        r = self.registry
        self.slot_wait = Histogram(
            "eni_pool_slot_wait_seconds",
            "Pod start to slot, warm hits as 0.",
            ["mode"],
            buckets=SLOT_WAIT_BUCKETS,
            registry=r,
        )
        self.api_latency = Histogram(
            "eni_pool_cloud_api_duration_seconds",
            "Cloud API operation latency.",
            ["operation"],
            buckets=API_BUCKETS,
            registry=r,
        )
        self.api_errors = Counter(
            "eni_pool_cloud_api_errors",
            "Cloud API errors by operation and code.",
            ["operation", "code"],
            registry=r,
        )
        self.reconcile = Histogram(
            "eni_pool_reconcile_duration_seconds", "One engine step.", registry=r
        )
        # A gauge, not an Info: promtool and older scrapers reject the info type.
        self.build = Gauge("eni_pool_build_info", "Build information.", ["version"], registry=r)
        self.build.labels(version).set(1)
        self.engine_errors = Counter(
            "eni_pool_engine_errors",
            "Exceptions the exporter survived, by where they struck.",
            ["where"],
            registry=r,
        )
        self.acting = Gauge(
            "eni_pool_acting", "1 while this replica acts (publishes pools), else 0.", registry=r
        )


class PoolCollector(Collector):
    """Yields the per-pool families of the latest snapshot."""

    def __init__(self, latest: Callable[[], Snapshot]) -> None:
        self.latest = latest

    def collect(self) -> Iterator[Metric]:
        rows = self.latest().rows
        for family in (*FAMILIES, DRIFT):
            if family is DRIFT and not any(r.expected_bound is not None for r in rows):
                continue
            extra = [family.split[0]] if family.split else []
            metric = _family_metric(family, [*LABELS, *extra])
            for row, labels, value in _samples(family, rows):
                metric.add_metric([row.node, row.mode, *labels], value)
            yield metric

    def describe(self) -> Iterator[Metric]:
        return iter(())


def _family_metric(family: Family, labels: list[str]) -> GaugeMetricFamily | CounterMetricFamily:
    match family.kind:
        case MetricKind.GAUGE:
            return GaugeMetricFamily(family.name, family.help, labels=labels)
        case MetricKind.COUNTER:
            return CounterMetricFamily(family.name, family.help, labels=labels)
        case _:
            assert_never(family.kind)


def _suffix(kind: MetricKind) -> str:
    """What the exposition appends to a family's name."""
    match kind:
        case MetricKind.GAUGE:
            return ""
        case MetricKind.COUNTER:
            return "_total"
        case _:
            assert_never(kind)


def _samples(family: Family, rows: tuple[PoolRow, ...]) -> Iterator[tuple[PoolRow, list[str], int]]:
    if family is DRIFT:
        for row in rows:
            if row.expected_bound is not None:
                yield row, [], row.expected_bound
    elif family.value is not None:
        for row in rows:
            yield row, [], family.value(row)
    elif family.split is not None:
        for row in rows:
            for label, value in family.split[1](row):
                yield row, [label], value


class Renderer:
    """Exposition text of a snapshot plus the instruments, label strings cached."""

    def __init__(self, instruments: Instruments) -> None:
        self.instruments = instruments
        self._labels: dict[tuple[str, str], str] = {}

    def render(self, snapshot: Snapshot, openmetrics: bool = False) -> bytes:
        parts: list[str] = []
        rows = snapshot.rows
        labels = [self._label(row) for row in rows]
        for family in (*FAMILIES, DRIFT):
            if family is DRIFT and not any(r.expected_bound is not None for r in rows):
                continue
            suffix = _suffix(family.kind)
            help_name = family.name if openmetrics or not suffix else family.name + suffix
            parts.append(f"# HELP {help_name} {family.help}\n# TYPE {help_name} {family.kind}\n")
            name = family.name + suffix
            if family is DRIFT:
                parts.extend(
                    f"{name}{{{lab}}} {r.expected_bound}\n"
                    for r, lab in zip(rows, labels, strict=True)
                    if r.expected_bound is not None
                )
            elif family.value is not None:
                get = family.value
                parts.extend(
                    f"{name}{{{lab}}} {get(r)}\n" for r, lab in zip(rows, labels, strict=True)
                )
            elif family.split is not None:
                key, get_split = family.split
                parts.extend(
                    f'{name}{{{lab},{key}="{label}"}} {value}\n'
                    for r, lab in zip(rows, labels, strict=True)
                    for label, value in get_split(r)
                )
        text = "".join(parts).encode()
        render_rest = generate_openmetrics if openmetrics else generate_latest
        rest: bytes = render_rest(self.instruments.registry)  # type: ignore[no-untyped-call]
        return text + rest

    def _label(self, row: PoolRow) -> str:
        key = (row.node, row.mode)
        label = self._labels.get(key)
        if label is None:
            label = self._labels[key] = f'node="{_escape(row.node)}",mode="{_escape(row.mode)}"'
        return label


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
