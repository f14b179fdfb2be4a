"""The exporter's engine loop: advance → publish, each step timed.

It is the only code that reads the clock. Each iteration advances the engine to
``now`` (pod events, cloud completions, decisions and cloud calls), drains the
engine's observations into the histograms, and publishes a new snapshot that
scrapes render from.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from exporter.engine import PoolEngine
from exporter.metrics import Instruments, Renderer
from exporter.snapshot import EMPTY, Snapshot, take_snapshot

log = logging.getLogger(__name__)


@dataclass
class Engine:
    """Something that can move to a point in (its own) time."""

    reconciler: PoolEngine
    advance: Callable[[float], None]
    """Process everything up to the given engine time."""
    snapshot: Callable[[float], Snapshot] | None = None
    """How to publish; by default every pool as the engine keeps it."""
    ready: Callable[[], bool] = lambda: True
    """True once the engine has seen the whole world once (first full sync)."""


class Daemon:
    def __init__(self, engine: Engine, instruments: Instruments, clock: Callable[[], float],
                 interval: float = 0.5) -> None:  # fmt: skip
        self.engine = engine
        self.instruments = instruments
        self.renderer = Renderer(instruments)
        self.clock = clock
        self.interval = interval
        self.snapshot: Snapshot = EMPTY
        self.synced = False
        self.last_step = time.monotonic()
        self.stop = threading.Event()
        self._cache: tuple[Snapshot, bool, bytes] | None = None
        self._lock = threading.Lock()

    def run(self) -> None:
        log.info("engine loop started")
        while not self.stop.is_set():
            self.step()
            self.stop.wait(self.interval)
        self.step()  # a last step, so what happened up to now is published and recorded
        log.info("engine loop stopped")

    def step(self) -> None:
        began = time.perf_counter()
        now = self.clock()
        self.engine.advance(now)
        self._drain()
        reconciler = self.engine.reconciler
        changed = reconciler.take_changed()  # a quiet step publishes nothing new
        if changed or reconciler.pool_count() != len(self.snapshot.rows):
            publish = self.engine.snapshot
            self.snapshot = publish(now) if publish else take_snapshot(reconciler, now)
        self.synced = self.synced or self.engine.ready()
        self.last_step = time.monotonic()
        self.instruments.reconcile.observe(time.perf_counter() - began)

    def render(self, openmetrics: bool) -> bytes:
        snapshot = self.snapshot
        with self._lock:
            cached = self._cache
            if cached is not None and cached[0] is snapshot and cached[1] == openmetrics:
                return cached[2]
            body = self.renderer.render(snapshot, openmetrics)
            self._cache = (snapshot, openmetrics, body)
            return body

    def healthy(self) -> bool:
        return time.monotonic() - self.last_step < max(30.0, 20 * self.interval)

    def ready(self) -> bool:
        return self.synced

    def _drain(self) -> None:
        reconciler = self.engine.reconciler
        for mode, seconds in reconciler.drain_waits():
            self.instruments.slot_wait.labels(mode.value).observe(seconds)
        for call in reconciler.drain_api_calls():
            self.instruments.api_latency.labels(call.operation).observe(call.seconds)
            if call.code is not None:
                self.instruments.api_errors.labels(call.operation, call.code).inc()
