"""The exporter's metrics: the fast renderer and the custom collector agree, the names
are docs/contracts/metrics.md's, and promtool accepts the output."""

from __future__ import annotations

import queue
import re
import shutil
import subprocess
import threading
from collections import Counter

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.cluster import ClusterEngine
from exporter.incidents import Incidents
from exporter.kube import Change, NecInfo, NodeInfo, PodInfo
from exporter.metrics import Instruments, PoolCollector, Renderer
from exporter.simcluster import ClusterSettings, SimulatedCluster
from exporter.snapshot import PoolRow, Snapshot, take_snapshot
from kube_adapter.watcher import Resource
from pool_engine.config import Defaults, Mode

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


class _Synced:
    synced = threading.Event()
    synced.set()


class _Nowhere:
    def post(self, event: object) -> None: ...

    def remember(self, nec: str, annotations: object) -> None: ...


@pytest.fixture(scope="module")
def observed() -> Snapshot:
    """tke-observe: TKE's counts, real cold starts, the shadow's figures apart; n1's
    NEC has a time-of-day schedule (its block in force published)."""
    changes: queue.Queue[Change] = queue.Queue()
    engine = ClusterEngine(changes, [_Synced()], Defaults(), _Nowhere(),
                           Incidents(Instruments("t").engine_errors), observe=True)  # fmt: skip
    schedule = '[{"from_hour":22,"to_hour":6,"min_warm":6,"max_warm":9},' \
               '{"from_hour":6,"to_hour":22,"min_warm":1,"max_warm":2}]'  # fmt: skip
    changes.put(Change(Resource.NEC, False, "n1", NecInfo("n1", "u1", {}, {},
                       {"eni-pool.io/warm-schedule": schedule})))  # fmt: skip
    for k in range(4):
        changes.put(
            Change(Resource.NODE, False, f"n{k}", NodeInfo(f"n{k}", 8, {Mode.ROUTE_ENI: k}))
        )
    engine.advance(1.0)
    for k in range(6):
        pending = PodInfo(f"p{k}", f"p{k}", "ns", "", Mode.ROUTE_ENI, False, "", 0.0, k % 2 == 0)
        changes.put(Change(Resource.POD, False, f"p{k}", pending))
    engine.advance(2.0)
    for k in range(6):
        landed = PodInfo(f"p{k}", f"p{k}", "ns", f"n{k % 4}", Mode.ROUTE_ENI, True, "", 0.0,
                         False, 3.0 + k)  # fmt: skip
        changes.put(Change(Resource.POD, False, f"p{k}", landed))
    engine.advance(300.0)
    return engine.snapshot(300.0)


def samples(families) -> Counter[tuple[str, tuple[tuple[str, str], ...], float]]:  # type: ignore[no-untyped-def]
    return Counter(
        (s.name, tuple(sorted(s.labels.items())), float(s.value))
        for f in families
        for s in f.samples
        if s.name.startswith("eni_pool_")
        and not s.name.startswith(HISTOGRAMS)
        and "build" not in s.name
        and s.name not in INSTRUMENTS
    )


HISTOGRAMS = ("eni_pool_slot_wait_seconds", "eni_pool_cloud_api_duration_seconds",
              "eni_pool_reconcile_duration_seconds")  # fmt: skip
INSTRUMENTS = ("eni_pool_acting", "eni_pool_engine_errors_total")
"""Process-wide series of Instruments, not per-pool families."""


@pytest.mark.parametrize("which", ["snapshot", "observed"])
def test_fast_renderer_equals_the_custom_collector(
    which: str, request: pytest.FixtureRequest
) -> None:
    snapshot: Snapshot = request.getfixturevalue(which)
    registry = CollectorRegistry()
    registry.register(PoolCollector(lambda: snapshot))
    reference = samples(parse_text(generate_latest(registry).decode()))
    fast = Renderer(Instruments("test"))
    assert samples(parse_text(fast.render(snapshot).decode())) == reference
    assert samples(parse_om(fast.render(snapshot, openmetrics=True).decode())) == reference
    assert len(reference) > 4 * len(SPEC_GAUGES)


def test_observe_mode_publishes_tkes_figures_and_the_shadows_apart(observed: Snapshot) -> None:
    scheduled = {r.node: r.schedule for r in observed.rows if r.schedule is not None}
    assert {n: (b.from_hour, b.targets.min_warm) for n, b in scheduled.items()} == {"n1": (22, 6)}
    got = samples(parse_text(Renderer(Instruments("test")).render(observed).decode()))
    names = {name for name, _, _ in got}
    assert {"eni_pool_shadow_bound_slots", "eni_pool_shadow_cold_starts_total",
            "eni_pool_out_of_band_seconds_total", "eni_pool_pods_without_slot_total"} <= names  # fmt: skip
    assert not names & {"eni_pool_binds_in_flight", "eni_pool_bind_operations_total",
                        "eni_pool_subnet_free_ips"}  # fmt: skip
    cold = {dict(lab)["node"]: v for n, lab, v in got if n == "eni_pool_cold_starts_total"}
    assert cold == {"n0": 2.0, "n1": 0.0, "n2": 1.0, "n3": 0.0}  # p0, p2, p4 lacked a slot
    assert ("eni_pool_pods_without_slot_total", (("mode", "route-eni"),), 3.0) in got


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
    assert any(n == "eni_pool_subnet_free_ips" and ("subnet", "subnet-a") in lab
               for n, lab, _ in got)  # fmt: skip
    assert any(n == "eni_pool_out_of_band_seconds_total" for n, _, _ in got) is False  # simulate
    for histogram in ("eni_pool_slot_wait_seconds", "eni_pool_cloud_api_duration_seconds",
                      "eni_pool_reconcile_duration_seconds"):  # fmt: skip
        assert f"# TYPE {histogram} histogram" in text
    assert 'eni_pool_build_info{version="test"} 1.0' in text


def test_the_process_and_the_runtime_are_published(snapshot: Snapshot) -> None:
    """prometheus_client's process, platform and GC collectors run beside the pools,
    with HELP in words like every family."""
    families = {f.name: f for f in parse_text(Renderer(Instruments("t")).render(snapshot).decode())}
    for name in ("process_resident_memory_bytes", "process_cpu_seconds", "process_open_fds",
                 "process_start_time_seconds", "python_info", "python_gc_collections"):  # fmt: skip
        assert name in families, name
    assert families["process_resident_memory_bytes"].samples[0].value > 1e6
    for family in families.values():
        if family.name.startswith("eni_pool_"):
            assert not re.search(r"\([A-Z](?: [-+] [A-Z])*\)", family.documentation), family.name
            assert len(family.documentation.split()) >= 5, family.name


def test_label_values_are_escaped() -> None:
    row = PoolRow('we"ird\\node', "route-eni", 1, 0, 1, 5, 5, 5, 0, 0, 0, 0, 0, 0, 0, (), (), ())
    text = Renderer(Instruments("t")).render(Snapshot(0.0, (row,))).decode()
    (family,) = [f for f in parse_text(text) if f.name == "eni_pool_bound_slots"]
    assert family.samples[0].labels["node"] == 'we"ird\\node'


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
@pytest.mark.parametrize("which", ["snapshot", "observed"])
def test_promtool_check_metrics(which: str, request: pytest.FixtureRequest) -> None:
    text = Renderer(Instruments("test")).render(request.getfixturevalue(which))
    done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
