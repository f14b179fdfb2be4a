"""exporter.outbox: writes leave the engine loop, fail without ending the thread, are
retried (records) or dropped (Events) and counted, and happen only while acting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from exporter.incidents import Incidents
from exporter.metrics import Instruments
from exporter.outbox import Outbox
from kube_adapter.events import EventType, NecEvent
from pool_engine.errors import KubernetesError

EVENT = NecEvent("n1", "uid", "WarmTargetRefused", "x", EventType.WARNING, "eni-exporter")


class Api:
    def __init__(self) -> None:
        self.posted: list[str] = []
        self.written: list[tuple[str, dict[str, str]]] = []
        self.post_ok = True
        self.failures = 0
        """The next this many annotate calls raise."""
        self.lock = threading.Lock()

    def post(self, event: NecEvent, timeout: float) -> bool:
        self.posted.append(event.nec)
        return self.post_ok

    def annotate(self, nec: str, annotations: Mapping[str, str], timeout: float) -> bool:
        with self.lock:
            if self.failures:
                self.failures -= 1
                raise KubernetesError("Kubernetes API answered 500 Internal Server Error")
            self.written.append((nec, dict(annotations)))
        return True


def until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within time"
        time.sleep(0.01)


def outbox(api: Api, may_act: Callable[[], bool] = lambda: True) -> tuple[Outbox, Instruments]:
    instruments = Instruments("test")
    box = Outbox(api, may_act, Incidents(instruments.engine_errors), 1.0, (0.05, 0.2))
    box.start()
    return box, instruments


def errors(instruments: Instruments, where: str) -> float:
    value = instruments.registry.get_sample_value("eni_pool_engine_errors_total", {"where": where})
    return value or 0.0


def test_a_failed_record_is_counted_and_written_later() -> None:
    api = Api()
    api.failures = 2
    box, instruments = outbox(api)
    box.remember("n1", {"k": "1"})
    until(lambda: api.written == [("n1", {"k": "1"})])
    assert errors(instruments, "persist") == 2
    assert box.is_alive()
    box.close()


def test_the_latest_record_of_a_node_wins() -> None:
    api = Api()
    api.failures = 1
    box, _ = outbox(api)
    box.remember("n1", {"k": "1"})
    until(lambda: api.failures == 0)
    box.remember("n1", {"k": "2"})  # while the first waits for its retry
    until(lambda: bool(api.written))
    time.sleep(0.2)
    assert api.written == [("n1", {"k": "2"})]
    box.close()


def test_a_failed_event_is_counted_and_dropped() -> None:
    api = Api()
    api.post_ok = False
    box, instruments = outbox(api)
    box.post(EVENT)
    until(lambda: errors(instruments, "event") == 1)
    assert api.posted == ["n1"]
    box.close(flush_seconds=1.0)
    assert api.posted == ["n1"]


def test_nothing_is_written_while_not_acting() -> None:
    api = Api()
    acting = threading.Event()
    box, _ = outbox(api, acting.is_set)
    box.post(EVENT)
    box.remember("n1", {"k": "1"})
    until(lambda: box.pending() == 0)
    assert api.posted == [] and api.written == []
    box.close()


def test_close_flushes_what_waits() -> None:
    api = Api()
    box, _ = outbox(api)
    for k in range(50):
        box.remember(f"n{k}", {"k": str(k)})
        box.post(EVENT)
    box.close(flush_seconds=5.0)
    assert len(api.written) == 50 and len(api.posted) == 50
    box.join(2.0)
    assert not box.is_alive()
