"""exporter.cluster: one refusal per change read, nothing raised out of the engine
loop, and what outlives a restart kept on the NEC objects (acting mode only)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from exporter.incidents import Incidents
from exporter.kube import Change, NecWriter
from exporter.outbox import Outbox
from kube_adapter.client import connect
from kube_adapter.nec import FIRST_SEEN_DEFAULTS, LAST_VALID_TARGETS
from kube_adapter.watcher import Resource
from pool_engine.config import Defaults, Targets
from support.cluster_engine import ROUTE, Engine, P, nec, node, pair, pod


def test_an_invalid_nec_is_refused_once_per_start() -> None:
    """Before: the first sight of a node configured its pool twice (on creation, then
    for its size), so every start posted two Events for one invalid NEC."""
    engine = Engine()
    engine.feed(nec("n1", pair("3", "x")), node("n1"), pod("p1", "n1"))
    assert [e.reason for e in engine.outbox.events] == ["WarmTargetRefused"]
    rejections = engine.engine.reconciler.counters(
        engine.engine.registry.pools[("n1", ROUTE)]
    ).rejections
    assert dict(rejections) == {"not_integer": 1}
    engine.feed(node("n1"))  # the same node again: nothing re-read
    assert len(engine.outbox.events) == 1
    engine.feed(node("n1", cores=8))  # resized: its NEC is read again, and refused again
    assert len(engine.outbox.events) == 2


def test_a_pool_made_for_a_pod_before_its_node_gets_the_nodes_limits() -> None:
    engine = Engine()
    engine.feed(nec("n1", {P + "route-eni-max-attach": "2"}))
    engine.feed(pod("p1", "n1"))  # the node is not known yet: the largest size's limits
    engine.feed(node("n1", cores=4))
    assert engine.engine.registry.pools[("n1", ROUTE)].limits.capacity == 2 * 9


def test_nothing_a_change_or_a_step_raises_leaves_the_engine_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = Engine()
    broken = Change(Resource.NODE, False, "n0", None)  # no record: the change cannot apply
    engine.feed(broken, node("n1"))
    assert ("n1", ROUTE) in engine.engine.registry.pools  # the next change went on
    assert engine.errors("step") == 1

    def explode(now: float) -> int:
        raise RuntimeError("engine bug")

    monkeypatch.setattr(engine.engine.reconciler, "step", explode)
    engine.feed()
    engine.feed(node("n2"))
    assert engine.errors("step") == 3
    assert ("n2", ROUTE) in engine.engine.registry.pools
    assert engine.errors("watch") == engine.errors("event") == engine.errors("persist") == 0


def test_a_value_beyond_int64_is_refused_and_the_loop_goes_on() -> None:
    engine = Engine()
    engine.feed(nec("n1", pair("1", "99999999999999999999")), node("n1"))
    engine.feed(pod("p1", "n1"))
    assert [e.message.split(" is ")[1] for e in engine.outbox.events] == [
        "above 16384; the previous values stay in force"
    ]
    assert engine.targets("n1") == Targets(5, 5)
    assert engine.errors("step") == 0


def record_of(engine: Engine, name: str) -> dict[str, str]:
    return [r for n, r in engine.outbox.records if n == name][-1]


def test_first_seen_defaults_and_last_valid_targets_survive_a_restart() -> None:
    first = Engine(Defaults(ip_min_warm=5, ip_max_warm=5))
    first.feed(nec("old", {}), nec("tuned", pair("2", "4")), node("old"), node("tuned"))
    old, tuned = record_of(first, "old"), record_of(first, "tuned")
    assert json.loads(old[FIRST_SEEN_DEFAULTS]) == {
        "route-eni": {"min_warm": 5, "max_warm": 5},
        "direct-eni": {"min_warm": 1, "max_warm": 1},
        "quick_release": False,
    }
    assert json.loads(tuned[LAST_VALID_TARGETS]) == {"route-eni": {"min_warm": 2, "max_warm": 4}}

    # A restart with new flags; "tuned" now carries an invalid pair.
    second = Engine(Defaults(ip_min_warm=7, ip_max_warm=7))
    second.feed(
        nec("old", {}, old), nec("tuned", pair("4", "3"), tuned), nec("new", {}),
        node("old"), node("tuned"), node("new"),
    )  # fmt: skip
    assert second.targets("old") == Targets(5, 5)  # the defaults of its first sight
    assert second.targets("tuned") == Targets(2, 4)  # its last valid targets
    assert second.targets("new") == Targets(7, 7)  # first seen now
    assert [e.nec for e in second.outbox.events] == ["tuned"]
    assert [n for n, _ in second.outbox.records] == ["new"]  # the others hold theirs


def test_without_a_record_a_restart_takes_the_new_defaults() -> None:
    """What happened before records: existing nodes took the new flags at a restart."""
    engine = Engine(Defaults(ip_min_warm=7, ip_max_warm=7))
    engine.feed(nec("old", {}), node("old"))
    assert engine.targets("old") == Targets(7, 7)


def test_writing_the_record_does_not_feed_back() -> None:
    engine = Engine()
    engine.feed(nec("n1", pair("2", "4")), node("n1"))
    written = record_of(engine, "n1")
    events, records = len(engine.outbox.events), len(engine.outbox.records)
    for _ in range(3):  # the watch sends our own write back: nothing to configure or write
        engine.feed(nec("n1", pair("2", "4"), written))
    assert (len(engine.outbox.events), len(engine.outbox.records)) == (events, records)
    engine.feed(nec("n1", pair("1", "4"), written))  # a real change: written once more
    assert json.loads(record_of(engine, "n1")[LAST_VALID_TARGETS])["route-eni"]["min_warm"] == 1


def test_a_nec_made_after_its_node_gets_the_record_of_the_first_sight() -> None:
    engine = Engine(Defaults(ip_min_warm=3, ip_max_warm=6))
    engine.feed(node("n1"))
    assert engine.outbox.records == []  # nowhere to keep it yet
    engine.feed(nec("n1", {}))
    assert json.loads(record_of(engine, "n1")[FIRST_SEEN_DEFAULTS])["route-eni"] == {
        "min_warm": 3, "max_warm": 6
    }  # fmt: skip


def test_observe_mode_neither_reads_nor_writes_records() -> None:
    stored = {FIRST_SEEN_DEFAULTS: json.dumps({
        "route-eni": {"min_warm": 1, "max_warm": 1}, "direct-eni": {"min_warm": 1, "max_warm": 1},
        "quick_release": False})}  # fmt: skip
    engine = Engine(Defaults(ip_min_warm=7, ip_max_warm=7), observe=True)
    engine.feed(nec("n1", {}, stored), node("n1"))
    assert engine.targets("n1") == Targets(7, 7)
    assert engine.outbox.records == []


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (an API server hung, or
    a half-open connection through a dead load balancer)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    yield server.getsockname()[1]
    server.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone would not
    server.close()
    acceptor.join(5.0)
    for conn in held:
        conn.close()


def test_an_api_server_that_never_answers_does_not_stall_the_engine_loop(
    black_hole: int, tmp_path: Any
) -> None:
    """Before: the engine loop posted a refusal's Event itself, without a timeout, and
    waited forever for an API server that accepted the connection and never answered."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{black_hole}",
                                               "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))  # fmt: skip
    from kube_adapter.client import ClientSettings

    api = connect(ClientSettings(kubeconfig))
    engine = Engine()
    incidents = Incidents(engine.instruments.engine_errors)
    outbox = Outbox(NecWriter(api), lambda: True, incidents, timeout=0.3)
    engine.engine.outbox = outbox
    outbox.start()
    try:
        began = time.monotonic()
        for k in range(20):
            engine.feed(nec(f"n{k}", pair("x", "1")), node(f"n{k}"))
        assert time.monotonic() - began < 2.0
        deadline = time.monotonic() + 60
        while engine.errors("event") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert engine.errors("event") >= 2  # each one timed out, was counted, the next went
    finally:
        outbox.close()
        outbox.join(10.0)
