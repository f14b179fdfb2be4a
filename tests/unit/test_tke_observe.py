"""tke-observe tells the truth about TKE: cold starts and waits are the real pods'
(PodScheduled False for want of the slot resource, then scheduled), a restart counts
no pod twice, the shadow starts from TKE's bound count and publishes apart."""

from __future__ import annotations

import queue
import threading

from prometheus_client.parser import text_string_to_metric_families

from exporter.cluster import ClusterEngine
from exporter.incidents import Incidents
from exporter.kube import Change, NecInfo, NodeInfo, PodInfo, pod_info
from exporter.metrics import Instruments, Renderer
from kube_adapter.events import NecEvent
from kube_adapter.watcher import Resource
from pool_engine.config import Defaults, Mode

P = "tke.cloud.tencent.com/"
ROUTE = Mode.ROUTE_ENI
T0 = 1_700_000_000.0
"""A creation time (Unix seconds, the API server's clock)."""


class Synced:
    def __init__(self) -> None:
        self.synced = threading.Event()
        self.synced.set()


class Nowhere:
    def post(self, event: NecEvent) -> None: ...

    def remember(self, nec: str, annotations: object) -> None: ...


class Observer:
    """An observing ClusterEngine fed by hand; its first feed is the first sync."""

    def __init__(self) -> None:
        self.changes: queue.Queue[Change] = queue.Queue()
        self.instruments = Instruments("test")
        self.engine = ClusterEngine(
            self.changes, [Synced()], Defaults(), Nowhere(),
            Incidents(self.instruments.engine_errors), observe=True,
        )  # fmt: skip
        self.now = 0.0

    def feed(self, *changes: Change, seconds: float = 1.0) -> None:
        for change in changes:
            self.changes.put(change)
        self.now += seconds
        self.engine.advance(self.now)

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = Renderer(self.instruments).render(self.engine.snapshot(self.now)).decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }

    def value(self, name: str, **labels: str) -> float | None:
        return self.metrics().get((name, tuple(sorted(labels.items()))))


def node(name: str, bound: int, cores: int = 8) -> Change:
    return Change(Resource.NODE, False, name, NodeInfo(name, cores, {ROUTE: bound}))


def nec(name: str, low: int, high: int) -> Change:
    pair = {P + "route-eni-ip-min-warm-target": str(low),
            P + "route-eni-ip-max-warm-target": str(high)}  # fmt: skip
    return Change(Resource.NEC, False, name, NecInfo(name, f"uid-{name}", pair))


def pod(uid: str, on: str = "", *, lacking: bool = False, scheduled: float | None = None) -> Change:
    """A pod created at T0: pending (``on`` empty, maybe lacking its slot resource) or
    on a node, scheduled at ``scheduled``."""
    info = PodInfo(uid, uid, "ns", on, ROUTE, bool(on), "", T0, lacking, scheduled)
    return Change(Resource.POD, False, uid, info)


def test_a_pod_unschedulable_for_want_of_a_slot_is_a_cold_start_with_its_real_wait() -> None:
    """Before: observe mode published the shadow's cold starts (instant binds in
    memory): a pod TKE kept Pending for 40 s counted no cold start."""
    tke = Observer()
    tke.feed(node("n1", bound=6))  # first sync
    tke.engine.reconciler.drain_waits()
    tke.feed(pod("p1", lacking=True))
    assert tke.value("eni_pool_pods_without_slot_total", mode="route-eni") == 1
    tke.feed(pod("p1", "n1", scheduled=T0 + 40), seconds=40)
    assert tke.value("eni_pool_cold_starts_total", node="n1", mode="route-eni") == 1
    assert tke.engine.reconciler.drain_waits() == [(ROUTE, 40.0)]
    tke.feed(pod("p2", "n1", scheduled=T0 + 1))  # scheduled at once: a warm hit
    assert tke.value("eni_pool_cold_starts_total", node="n1", mode="route-eni") == 1
    assert tke.value("eni_pool_pod_starts_total", node="n1", mode="route-eni") == 2
    assert tke.engine.reconciler.drain_waits() == [(ROUTE, 0.0)]
    assert tke.value("eni_pool_pods_without_slot_total", mode="route-eni") == 1
    assert tke.value("eni_pool_pods_without_slot_total", mode="direct-eni") == 0


def test_the_shadow_publishes_apart_and_calls_no_cloud() -> None:
    tke = Observer()
    tke.feed(nec("n1", 4, 12), node("n1", bound=2))
    tke.feed(pod("p1", "n1", scheduled=T0), pod("p2", "n1", scheduled=T0))
    tke.feed()
    assert tke.value("eni_pool_shadow_bound_slots", node="n1", mode="route-eni") == 2 + 4
    assert tke.value("eni_pool_shadow_cold_starts_total", node="n1", mode="route-eni") == 0
    got = tke.metrics()
    assert not any(name.startswith("eni_pool_bind_operations") for name, _ in got)
    assert not any(name == "eni_pool_binds_in_flight" for name, _ in got)
    assert any(name == "eni_pool_shadow_bind_operations_total" for name, _ in got)
    assert tke.engine.reconciler.drain_api_calls() == []


def running(uid: str, on: str) -> Change:
    """A pod running on a node (the fields every version of PodInfo has)."""
    return Change(Resource.POD, False, uid, PodInfo(uid, uid, "ns", on, ROUTE, True))


def test_a_restart_counts_no_running_pod_again() -> None:
    """Before: the first sync started every running pod in the shadow: each counted as
    a pod start and, the shadow being empty, as a cold start (which tripped the
    cold-start alert at every restart)."""
    tke = Observer()
    tke.feed(node("n1", bound=15), *[running(f"r{k}", "n1") for k in range(12)])  # first sync
    tke.feed()
    counts = {name: tke.value(name, node="n1", mode="route-eni")
              for name in ("eni_pool_pod_starts_total", "eni_pool_cold_starts_total")}  # fmt: skip
    assert counts == dict.fromkeys(counts, 0)
    assert tke.value("eni_pool_in_use_slots", node="n1", mode="route-eni") == 12
    assert tke.engine.reconciler.drain_waits() == []
    tke.feed(running("new", "n1"))  # a pod that starts now counts
    assert tke.value("eni_pool_pod_starts_total", node="n1", mode="route-eni") == 1


def test_a_pod_pending_across_a_restart_counts_once_when_it_lands() -> None:
    tke = Observer()
    tke.feed(node("n1", bound=3), pod("late", lacking=True))  # the first sync
    assert tke.value("eni_pool_pods_without_slot_total", mode="route-eni") == 0  # counted before
    assert tke.value("eni_pool_shadow_cold_starts_total", node="n1", mode="route-eni") == 0
    tke.feed(pod("late", "n1", scheduled=T0 + 30))  # lands now
    assert tke.value("eni_pool_cold_starts_total", node="n1", mode="route-eni") == 1
    assert tke.value("eni_pool_pod_starts_total", node="n1", mode="route-eni") == 1
    assert tke.engine.reconciler.drain_waits() == [(ROUTE, 30.0)]


def test_the_shadow_adopts_tkes_bound_count_when_it_first_sees_a_node() -> None:
    """Before: the shadow started empty and grew to P + min (4), so TKE anywhere in
    its legal band [P + 4, P + 12], e.g. at 12, looked like a drift of 8."""
    tke = Observer()
    tke.feed(nec("n1", 4, 12), node("n1", bound=12))
    tke.feed(seconds=300.0)  # release rounds run: 12 is within the band, nothing goes
    pool = tke.engine.registry.pools[("n1", ROUTE)]
    assert pool.bound + pool.in_flight == 12
    tke.feed(nec("n2", 1, 3), node("n2", bound=20))  # seen later, above its band
    assert tke.engine.registry.pools[("n2", ROUTE)].bound == 19  # 20, less one: its NEC's R7
    tke.feed(seconds=121.0)
    assert tke.engine.registry.pools[("n2", ROUTE)].bound == 18  # one per round (slow release)


def test_out_of_band_seconds_count_tke_outside_its_band() -> None:
    tke = Observer()
    running = [pod(f"r{k}", "n1", scheduled=T0) for k in range(2)]
    tke.feed(nec("n1", 2, 4), node("n1", bound=6), *running, nec("n2", 2, 4), node("n2", bound=0))
    for _ in range(30):
        tke.feed(seconds=60.0)  # 30 min: n1 at P + max, n2 below P + min
    assert tke.value("eni_pool_out_of_band_seconds_total", node="n1", mode="route-eni",
                     side="above") == 0  # fmt: skip
    below = tke.value("eni_pool_out_of_band_seconds_total", node="n2", mode="route-eni",
                      side="below")  # fmt: skip
    assert below == 30 * 60 - 60  # all but the first minute


def test_pod_info_reads_the_scheduling_condition() -> None:
    unschedulable = {
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/3 nodes are available: 1 Insufficient cpu, "
                   "2 Insufficient tke.cloud.tencent.com/eni-ip.",
        "lastTransitionTime": "2025-03-02T03:00:01Z",
    }  # fmt: skip
    obj = {
        "metadata": {"uid": "u", "name": "p", "namespace": "ns",
                     "creationTimestamp": "2025-03-02T03:00:00Z"},
        "spec": {"containers": []},
        "status": {"phase": "Pending", "conditions": [unschedulable]},
    }  # fmt: skip
    info = pod_info(obj)
    assert info is not None and info.lacking and info.scheduled_at is None
    assert info.created == 1740884400.0
    obj["status"]["conditions"] = [{**unschedulable, "message": "0/3: 3 Insufficient cpu."}]
    assert not pod_info(obj).lacking  # type: ignore[union-attr]  # waiting, not for a slot
    obj["spec"]["nodeName"] = "n1"
    obj["status"]["conditions"] = [
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-03-02T03:00:40Z"}
    ]
    landed = pod_info(obj)
    assert landed is not None and not landed.lacking
    assert landed.scheduled_at == info.created + 40


def test_the_tuners_prometheus_path_reads_real_figures_that_observe_mode_publishes() -> None:
    """The tuner learns churn from the exporter's series: in tke-observe those must
    be the real pods' (published under the plain names), never the shadow's."""
    import re

    from tuner.queries import MetricsSource, churn_queries

    tke = Observer()
    tke.feed(node("n1", bound=4), running("r1", "n1"))
    tke.feed(running("r2", "n1"))
    published = {name for name, _ in tke.metrics()}
    for mode in ("route-eni", "direct-eni"):
        queries = churn_queries(MetricsSource.EXPORTER, 60, mode)
        for query in (queries.starts, queries.stops or "", queries.pods):
            for name in re.findall(r"\beni_pool_\w+", query):
                assert not name.startswith("eni_pool_shadow_"), name
                assert name in published, name
