"""exporter.server and exporter.replica: what a standby and an acting replica answer,
and endpoints that stay quick with half-open connections around."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from exporter import server as http
from exporter.daemon import Daemon, Engine
from exporter.incidents import Incidents
from exporter.metrics import Instruments
from exporter.replica import Replica
from exporter.server import Endpoints, Status, serve
from kube_adapter.lease import Elector, LeaseTimings
from pool_engine.config import Limits, Mode
from pool_engine.reconciler import Reconciler
from pool_engine.registry import Registry
from support.prom import free_port


def get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


class Store:
    """A Lease store that never answers: enough for a standby's Lease loop."""

    def read(self) -> None:
        raise ConnectionError("no API server")

    def create(self, holder: str, duration: int) -> None:
        raise AssertionError

    def write(self, *args: object) -> None:
        raise AssertionError


@pytest.fixture
def replica() -> Iterator[tuple[Replica, str]]:
    elector = Elector(Store(), "me", LeaseTimings(3, 2, 0.1))  # type: ignore[arg-type]
    elector.start()
    instruments = Instruments("test")
    Incidents(instruments.engine_errors)
    replica = Replica(instruments, elector)
    port = free_port()
    server = serve(replica.endpoints(), "127.0.0.1", port)
    yield replica, f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()
    elector.release()


def daemon_with_a_pool(instruments: Instruments) -> Daemon:
    registry = Registry()
    registry.ensure("node-1", Mode.ROUTE_ENI, Limits(3, 9), 0.0)
    from exporter.cloud import SimulatedVpc

    reconciler = Reconciler(registry, SimulatedVpc())
    daemon = Daemon(Engine(reconciler, lambda now: None), instruments, clock=lambda: 1.0)
    daemon.step()
    return daemon


def test_a_standby_is_alive_ready_as_standby_and_publishes_no_pool(
    replica: tuple[Replica, str],
) -> None:
    state, base = replica
    assert get(base + "/healthz") == (200, "ok\n")
    assert get(base + "/readyz") == (200, "standby: not acting\n")
    status, text = get(base + "/metrics")
    assert status == 200
    assert "eni_pool_acting 0.0" in text and "eni_pool_build_info" in text
    assert 'eni_pool_engine_errors_total{where="lease"}' in text
    assert 'node="' not in text
    assert "\nprocess_resident_memory_bytes " in text and "\npython_info{" in text

    state.act(daemon_with_a_pool(state.instruments))
    status, text = get(base + "/metrics")
    assert "eni_pool_acting 1.0" in text and 'eni_pool_bound_slots{node="node-1"' in text
    assert "\nprocess_cpu_seconds_total " in text and "\npython_gc_collections_total{" in text
    assert get(base + "/readyz") == (200, "ready\n")

    state.stand_by()
    assert 'node="' not in get(base + "/metrics")[1]


def test_a_replica_whose_lease_loop_died_is_not_alive() -> None:
    elector = Elector(Store(), "me", LeaseTimings(3, 2, 0.1))  # type: ignore[arg-type]
    replica = Replica(Instruments("test"), elector)  # the loop never started
    assert replica.healthy() == Status(False, "lease loop stopped")


def test_observe_mode_is_not_ready_before_it_acts() -> None:
    assert Replica(Instruments("test"), None).ready() == Status(False, "starting")


def test_half_open_connections_neither_delay_nor_pile_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients that connect and send nothing, or half a request, do not hold up
    /healthz, and their connections are closed after the request timeout."""
    monkeypatch.setattr(http, "REQUEST_TIMEOUT", 0.5)
    port = free_port()
    endpoints = Endpoints(lambda om: b"", lambda: Status(True, "ok"), lambda: Status(True, "r"))
    server = serve(endpoints, "127.0.0.1", port)
    stuck = []
    try:
        for k in range(200):
            conn = socket.create_connection(("127.0.0.1", port))
            if k % 2:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
            stuck.append(conn)
        began = time.monotonic()
        assert get(f"http://127.0.0.1:{port}/healthz", timeout=2.0) == (200, "ok\n")
        assert time.monotonic() - began < 5.0  # one at a time: 100 timeouts of 0.5 s
        stuck[0].settimeout(5.0)
        assert stuck[0].recv(1) == b""  # closed by the server after its timeout
    finally:
        for conn in stuck:
            conn.close()
        server.shutdown()
        server.server_close()
