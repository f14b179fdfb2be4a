"""The exporter's metrics (docs/contracts/metrics.md): the snapshot's families
(:mod:`exporter.families`), read two ways.

- :class:`PoolCollector` is a prometheus_client custom collector that yields fresh
  metric families from the latest snapshot (for registries and tests);
- :class:`Renderer` writes the same families straight to the exposition text with
  label strings cached per pool, because ``generate_latest`` spends ~5 µs per
  sample and a 5,000-node cluster has ~70,000 of them; everything else (histograms,
  build info, the process, platform and garbage-collector collectors) comes from
  :class:`Instruments` through prometheus_client as usual.

``tests/integration/test_metrics.py`` parses both outputs and demands the same samples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import assert_never

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.registry import Collector

from exporter.families import (
    CLUSTER_FAMILIES,
    FAMILIES,
    LABELS,
    ClusterFamily,
    Family,
    MetricKind,
    samples,
    suffix,
)
from exporter.snapshot import PoolRow, Snapshot

__all__ = ["FAMILIES", "Instruments", "PoolCollector", "Renderer"]

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
            "Seconds from a pod's start to its slot; warm hits observe 0 "
            "(tke-observe: from creation to scheduled).",
            ["mode"],
            buckets=SLOT_WAIT_BUCKETS,
            registry=r,
        )
        self.api_latency = Histogram(
            "eni_pool_cloud_api_duration_seconds",
            "Seconds each cloud API call took, by operation.",
            ["operation"],
            buckets=API_BUCKETS,
            registry=r,
        )
        self.api_errors = Counter(
            "eni_pool_cloud_api_errors",
            "Cloud API calls that failed or were refused, by operation and error code.",
            ["operation", "code"],
            registry=r,
        )
        self.reconcile = Histogram(
            "eni_pool_reconcile_duration_seconds",
            "Seconds one step of the engine loop took (apply changes, decide, publish).",
            registry=r,
        )
        # A gauge, not an Info: promtool and older scrapers reject the info type.
        self.build = Gauge(
            "eni_pool_build_info",
            "Always 1; the version label is the installed eni-pool version.",
            ["version"],
            registry=r,
        )
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
        # The exporter process itself (process_*, python_info, python_gc_*), on the acting
        # replica and on standbys alike.
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)


def simulation_speed(instruments: Instruments, speed: float) -> None:
    """``eni_pool_simulation_speed``: simulated seconds per second of the clock, served
    by ``simulate`` at a numeric ``--speed`` only (a labelless gauge would read 0
    elsewhere). The tuner replays the engine's seconds at this pace."""
    Gauge(
        "eni_pool_simulation_speed",
        "Simulated seconds per second of the clock (eni-exporter simulate --speed).",
        registry=instruments.registry,
    ).set(speed)


class PoolCollector(Collector):
    """Yields the families of the latest snapshot that have samples."""

    def __init__(self, latest: Callable[[], Snapshot]) -> None:
        self.latest = latest

    def collect(self) -> Iterator[Metric]:
        snapshot = self.latest()
        for family in FAMILIES:
            found = samples(family, snapshot.rows)
            if not found:
                continue
            extra = [family.split[0]] if family.split else []
            metric = _metric(family.name, family.kind, family.help, [*LABELS, *extra])
            for row, label, value in found:
                metric.add_metric([row.node, row.mode, *([label] if extra else [])], value)
            yield metric
        for tally in CLUSTER_FAMILIES:
            items = tally.items(snapshot)
            if items:
                metric = _metric(tally.name, tally.kind, tally.help, [tally.label])
                for label, value in items:
                    metric.add_metric([label], value)
                yield metric

    def describe(self) -> Iterator[Metric]:
        return iter(())


def _metric(
    name: str, kind: MetricKind, help: str, labels: list[str]
) -> GaugeMetricFamily | CounterMetricFamily:
    match kind:
        case MetricKind.GAUGE:
            return GaugeMetricFamily(name, help, labels=labels)
        case MetricKind.COUNTER:
            return CounterMetricFamily(name, help, labels=labels)
        case _:
            assert_never(kind)


class Renderer:
    """Exposition text of a snapshot plus the instruments, label strings cached."""

    def __init__(self, instruments: Instruments) -> None:
        self.instruments = instruments
        self._labels: dict[tuple[str, str], str] = {}

    def render(self, snapshot: Snapshot, openmetrics: bool = False) -> bytes:
        parts: list[str] = []
        for family in FAMILIES:
            found = samples(family, snapshot.rows)
            if not found:
                continue
            name = self._header(parts, family, openmetrics)
            if family.split is None:
                parts.extend(f"{name}{{{self._label(r)}}} {v}\n" for r, _, v in found)
            else:
                key = family.split[0]
                parts.extend(
                    f'{name}{{{self._label(r)},{key}="{label}"}} {v}\n' for r, label, v in found
                )
        for tally in CLUSTER_FAMILIES:
            items = tally.items(snapshot)
            if items:
                name = self._header(parts, tally, openmetrics)
                parts.extend(
                    f'{name}{{{tally.label}="{_escape(label)}"}} {v}\n' for label, v in items
                )
        text = "".join(parts).encode()
        render_rest = generate_openmetrics if openmetrics else generate_latest
        rest: bytes = render_rest(self.instruments.registry)  # type: ignore[no-untyped-call]
        return text + rest

    @staticmethod
    def _header(parts: list[str], family: Family | ClusterFamily, openmetrics: bool) -> str:
        """Append the family's HELP and TYPE lines; returns its samples' name."""
        end = suffix(family.kind)
        help_name = family.name if openmetrics or not end else family.name + end
        parts.append(f"# HELP {help_name} {family.help}\n# TYPE {help_name} {family.kind}\n")
        return family.name + end

    def _label(self, row: PoolRow) -> str:
        key = (row.node, row.mode)
        label = self._labels.get(key)
        if label is None:
            label = self._labels[key] = f'node="{_escape(row.node)}",mode="{_escape(row.mode)}"'
        return label


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
