"""One replica of ``eni-exporter run``: acting or standing by, and what its endpoints
say in each state (docs/operations.md, "Replicas and the Lease").

While it acts, a replica serves the engine loop's snapshot: every pool's series.
Standing by, it serves no pool series at all (so sums over replicas never double,
docs/contracts/metrics.md): only ``eni_pool_build_info``, ``eni_pool_acting`` 0,
``eni_pool_engine_errors_total`` and the histograms of its own past terms.

- /healthz: 200 while the Lease loop runs, and, acting, while the engine loop steps;
- /readyz: acting, 200 after the first full sync (503 before); standing by, 200
  ``standby: not acting``.

A standby is ready on purpose: it serves its own scrapes, and an unready standby would
leave a PodDisruptionBudget of ``minAvailable: 1`` nothing to evict (node drains would
hang on the acting replica) and stall a rolling update behind the Lease.
"""

from __future__ import annotations

from exporter.daemon import Daemon
from exporter.metrics import Instruments, Renderer
from exporter.server import Endpoints, Status
from exporter.snapshot import EMPTY
from kube_adapter.lease import Elector


class Replica:
    """The state the HTTP endpoints read; the main thread switches it."""

    def __init__(self, instruments: Instruments, elector: Elector | None) -> None:
        self.instruments = instruments
        self.elector = elector
        """None when no Lease is needed (tke-observe): the replica acts from the start."""
        self._standby = Renderer(instruments)
        self._daemon: Daemon | None = None

    def act(self, daemon: Daemon) -> None:
        """Serve ``daemon``'s snapshots from now on."""
        self._daemon = daemon
        self.instruments.acting.set(1)

    def stand_by(self) -> None:
        """Serve no pool series from now on."""
        self._daemon = None
        self.instruments.acting.set(0)

    def acting(self) -> bool:
        return self._daemon is not None

    def render(self, openmetrics: bool) -> bytes:
        daemon = self._daemon
        if daemon is not None:
            return daemon.render(openmetrics)
        return self._standby.render(EMPTY, openmetrics)

    def healthy(self) -> Status:
        if self.elector is not None and not self.elector.alive():
            return Status(False, "lease loop stopped")
        daemon = self._daemon
        if daemon is not None and not daemon.healthy():
            return Status(False, "engine loop stalled")
        return Status(True, "ok")

    def ready(self) -> Status:
        daemon = self._daemon
        if daemon is None and self.elector is None:
            return Status(False, "starting")
        if daemon is None:
            return Status(True, "standby: not acting")
        return Status(True, "ready") if daemon.ready() else Status(False, "first sync pending")

    def endpoints(self) -> Endpoints:
        return Endpoints(self.render, self.healthy, self.ready)
