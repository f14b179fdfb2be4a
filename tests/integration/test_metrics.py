"""The exporter's metrics: the fast renderer and the custom collector agree, the names
are docs/contracts/metrics.md's, and promtool accepts the output."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.metrics import Instruments, PoolCollector, Renderer
from exporter.simcluster import ClusterSettings, SimulatedCluster
from exporter.snapshot import PoolRow, Snapshot, take_snapshot

SPEC_GAUGES = (
    "eni_pool_bound_slots", "eni_pool_in_use_slots", "eni_pool_warm_slots",
    "eni_pool_max_attach_slots", "eni_pool_min_warm_target", "eni_pool_max_warm_target",
    "eni_pool_waiting_pods", "eni_pool_binds_in_flight",
)  # fmt: skip
SPEC_COUNTERS = (
    "eni_pool_pod_starts_total", "eni_pool_pod_stops_total", "eni_pool_cold_starts_total",
    "eni_pool_bind_operations_total", "eni_pool_release_operations_total",
)  # fmt: skip


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    cluster = SimulatedCluster(ClusterSettings(nodes=6, seed=3))
    cluster.advance(6 * 3600.0)
    pool = cluster.pools[0]
    cluster.reconciler.configure(pool, {"tke.cloud.tencent.com/route-eni-ip-min-warm-target": "x",
                                        "tke.cloud.tencent.com/route-eni-ip-max-warm-target": "2"},
                                 cluster.now)  # fmt: skip
    return take_snapshot(cluster.reconciler, cluster.now)


def samples(families) -> Counter[tuple[str, tuple[tuple[str, str], ...], float]]:  # type: ignore[no-untyped-def]
    return Counter(
        (s.name, tuple(sorted(s.labels.items())), float(s.value))
        for f in families
        for s in f.samples
        if s.name.startswith("eni_pool_")
        and "seconds" not in s.name
        and "build" not in s.name
        and s.name not in INSTRUMENTS
    )


INSTRUMENTS = ("eni_pool_acting", "eni_pool_engine_errors_total")
"""Process-wide series of Instruments, not per-pool families."""


def test_fast_renderer_equals_the_custom_collector(snapshot: Snapshot) -> None:
    registry = CollectorRegistry()
    registry.register(PoolCollector(lambda: snapshot))
    reference = samples(parse_text(generate_latest(registry).decode()))
    fast = Renderer(Instruments("test"))
    assert samples(parse_text(fast.render(snapshot).decode())) == reference
    assert samples(parse_om(fast.render(snapshot, openmetrics=True).decode())) == reference
    assert len(reference) > 6 * len(SPEC_GAUGES)


def test_every_pool_has_the_spec_series(snapshot: Snapshot) -> None:
    text = Renderer(Instruments("test")).render(snapshot).decode()
    got = samples(parse_text(text))
    for row in snapshot.rows:
        labels = (("mode", row.mode), ("node", row.node))
        for name in SPEC_GAUGES + SPEC_COUNTERS[:3]:
            assert any(n == name and lab == labels for n, lab, _ in got), (name, row.node)
        assert (("eni_pool_warm_slots", labels, float(row.bound - row.in_use))) in got
    assert any(n == "eni_pool_config_rejections_total" and ("reason", "not_integer") in lab
               for n, lab, _ in got)  # fmt: skip
    for histogram in ("eni_pool_slot_wait_seconds", "eni_pool_cloud_api_duration_seconds",
                      "eni_pool_reconcile_duration_seconds"):  # fmt: skip
        assert f"# TYPE {histogram} histogram" in text
    assert 'eni_pool_build_info{version="test"} 1.0' in text


def test_label_values_are_escaped() -> None:
    row = PoolRow('we"ird\\node', "route-eni", 1, 0, 1, 5, 5, 5, 0, 0, 0, 0, 0, (), (), ())
    text = Renderer(Instruments("t")).render(Snapshot(0.0, (row,))).decode()
    (family,) = [f for f in parse_text(text) if f.name == "eni_pool_bound_slots"]
    assert family.samples[0].labels["node"] == 'we"ird\\node'


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_check_metrics(snapshot: Snapshot) -> None:
    text = Renderer(Instruments("test")).render(snapshot)
    done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
