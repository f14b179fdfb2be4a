"""A ClusterEngine fed by hand (exporter.cluster's tests): changes as the watches would
deliver them, and the outbox and error counter in view."""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping

from prometheus_client import CollectorRegistry

from exporter.cluster import ClusterEngine
from exporter.incidents import Incidents
from exporter.kube import Change, NecInfo, NodeInfo, PodInfo
from exporter.metrics import Instruments
from kube_adapter.events import NecEvent
from kube_adapter.watcher import Resource
from pool_engine.config import Defaults, Mode, Targets

P = "tke.cloud.tencent.com/"
PAIR = (P + "route-eni-ip-min-warm-target", P + "route-eni-ip-max-warm-target")
ROUTE = Mode.ROUTE_ENI


class Synced:
    def __init__(self) -> None:
        self.synced = threading.Event()
        self.synced.set()


class Recorder:
    """The outbox, seen from the engine: what it was asked to send."""

    def __init__(self) -> None:
        self.events: list[NecEvent] = []
        self.records: list[tuple[str, dict[str, str]]] = []

    def post(self, event: NecEvent) -> None:
        self.events.append(event)

    def remember(self, nec: str, annotations: Mapping[str, str]) -> None:
        self.records.append((nec, dict(annotations)))


def pair(low: str, high: str) -> dict[str, str]:
    return {PAIR[0]: low, PAIR[1]: high}


def nec(name: str, annotations: dict[str, str], record: dict[str, str] | None = None) -> Change:
    return Change(
        Resource.NEC, False, name, NecInfo(name, f"uid-{name}", annotations, record or {})
    )


def node(name: str, cores: int = 4) -> Change:
    return Change(Resource.NODE, False, name, NodeInfo(name, cores, {}))


def pod(uid: str, on: str) -> Change:
    return Change(Resource.POD, False, uid, PodInfo(uid, uid, "ns", on, ROUTE, True))


class Engine:
    """A ClusterEngine fed by hand, with its outbox and error counter in view."""

    def __init__(self, defaults: Defaults | None = None, *, observe: bool = False) -> None:
        self.changes: queue.Queue[Change] = queue.Queue()
        self.instruments = Instruments("test")
        self.outbox = Recorder()
        self.engine = ClusterEngine(
            self.changes, [Synced()], defaults or Defaults(), self.outbox,
            Incidents(self.instruments.engine_errors), observe=observe,
        )  # fmt: skip
        self.now = 0.0

    def feed(self, *changes: Change) -> None:
        for change in changes:
            self.changes.put(change)
        self.now += 1.0
        self.engine.advance(self.now)

    def targets(self, name: str) -> Targets:
        return self.engine.registry.pools[(name, ROUTE)].targets

    def errors(self, where: str) -> float:
        registry: CollectorRegistry = self.instruments.registry
        value = registry.get_sample_value("eni_pool_engine_errors_total", {"where": where})
        return value or 0.0
