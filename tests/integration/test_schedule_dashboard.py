"""The schedule dashboard's queries against the real Prometheus.

`eni-exporter simulate` has no NEC objects, hence no schedules, so the queries of
dashboards/eni-pool-schedule.json are exempt there (tests/support/dashboard_queries.py,
CLUSTER_ONLY). Here the exporter's own server publishes a cluster-mode engine whose
NEC objects carry schedules (one node off its schedule: in tke-observe the pair is
TKE's), Prometheus scrapes it, and every panel query must return a number.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from exporter.cluster import ClusterEngine
from exporter.incidents import Incidents
from exporter.kube import Change, NecInfo, NodeInfo
from exporter.metrics import Instruments, Renderer
from exporter.server import Endpoints, Status, serve
from kube_adapter.watcher import Resource
from pool_engine.config import Defaults, Mode
from support.dashboard_queries import DASHBOARDS, load, substitute
from support.prom import free_port, prometheus

pytestmark = pytest.mark.prometheus
BOARD = next(p for p in DASHBOARDS if p.name == "eni-pool-schedule.json")
PAIR = {"tke.cloud.tencent.com/route-eni-ip-min-warm-target": "5",
        "tke.cloud.tencent.com/route-eni-ip-max-warm-target": "5"}  # fmt: skip
SCHEDULE = (
    '[{"from_hour":22,"to_hour":6,"min_warm":6,"max_warm":9},'
    '{"from_hour":6,"to_hour":22,"min_warm":1,"max_warm":2}]'
)


class _Synced:
    synced = threading.Event()
    synced.set()


class _Nowhere:
    def post(self, event: object) -> None: ...

    def remember(self, nec: str, annotations: object) -> None: ...


def engine(observe: bool) -> ClusterEngine:
    changes: queue.Queue[Change] = queue.Queue()
    made = ClusterEngine(changes, [_Synced()], Defaults(), _Nowhere(),
                         Incidents(Instruments("t").engine_errors), observe=observe)  # fmt: skip
    for k in range(3):
        name = f"n{k}"
        schedules = {"eni-pool.io/warm-schedule": SCHEDULE} if k else {}
        changes.put(Change(Resource.NEC, False, name, NecInfo(name, name, PAIR, {}, schedules)))
        changes.put(Change(Resource.NODE, False, name, NodeInfo(name, 8, {Mode.ROUTE_ENI: 5})))
    made.advance(1.0)
    return made


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    acting, observing = engine(False), engine(True)
    renderer = Renderer(Instruments("t"))
    which = {"flip": 0}

    def render(openmetrics: bool) -> bytes:  # acting and observing on alternate scrapes
        which["flip"] ^= 1
        chosen = acting if which["flip"] else observing
        return renderer.render(chosen.snapshot(2.0), openmetrics)

    ok = Status(True, "ok")
    port = free_port()
    server = serve(Endpoints(render, lambda: ok, lambda: ok), "127.0.0.1", port)
    try:
        with prometheus(tmp_path_factory.mktemp("prometheus"), scrape=f"127.0.0.1:{port}") as url:
            deadline = time.monotonic() + 60
            while not _numbers(url, "count_over_time(eni_pool_schedule_active_block[5m])"):
                assert time.monotonic() < deadline, "no schedule series scraped in 60 s"
                time.sleep(0.5)
            time.sleep(3)  # a few scrapes of both engines
            yield url
    finally:
        server.shutdown()
        server.server_close()


def _numbers(url: str, expr: str) -> list[float]:
    body: dict[str, Any] = requests.get(
        f"{url}/api/v1/query", params={"query": expr}, timeout=10
    ).json()
    assert body["status"] == "success", f"{expr}: {body.get('error')}"
    return [float(s["value"][1]) for s in body["data"]["result"]]


QUERIES = [
    (panel["title"], target["expr"])
    for panel in load(BOARD)["panels"]
    for target in panel.get("targets", [])
]


@pytest.mark.parametrize("title, expr", QUERIES, ids=[f"{t} / {e[:40]}" for t, e in QUERIES])
def test_schedule_panel_returns_data(prom: str, title: str, expr: str) -> None:
    values = {"cluster": ".*", "node": ".*", "mode": "route-eni", "__rate_interval": "1m",
              "__interval": "15s", "__range": "5m"}  # fmt: skip
    numbers = _numbers(prom, substitute(expr, values))
    assert any(math.isfinite(n) for n in numbers), f"{title}: no data for {expr}"


def test_the_numbers_are_the_schedules(prom: str) -> None:
    assert sorted(_numbers(prom, "eni_pool_schedule_active_block")) == [22.0, 22.0]
    assert _numbers(prom, "count(eni_pool_scheduled_min_warm_target == 6)") == [2.0]
    exprs = {title: expr for title, expr in QUERIES}
    values = {"cluster": ".*", "node": ".*", "mode": "route-eni"}
    off = _numbers(prom, substitute(exprs["Pools off their schedule"], values))
    assert off in ([0.0], [2.0])  # acting: on it; tke-observe before the switch: both off
