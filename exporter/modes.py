"""The exporter's two modes, from typed settings to a running daemon: cluster mode
(watch Kubernetes, ``eni-exporter run``) and simulation (``eni-exporter simulate``).

Each wires its parts and hands the loop to :class:`exporter.daemon.Daemon`, the only
clock reader; SIGTERM/SIGINT (or the simulated duration) stop it cleanly.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from http.server import ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError, version
from types import FrameType

from exporter.audit import Audit, AuditReport
from exporter.cluster import ClusterEngine
from exporter.daemon import Daemon, Engine
from exporter.kube import Change, start_watchers
from exporter.metrics import Instruments
from exporter.server import Endpoints, serve
from exporter.settings import Address, ClusterModeSettings, Provider, SimulationModeSettings
from exporter.simcluster import SimulatedCluster
from kube_adapter import logs
from kube_adapter.client import connect
from kube_adapter.lease import elect
from pool_engine.errors import InputError

log = logging.getLogger("eni-exporter")

#: Simulated seconds per engine-loop step at ``--speed max``.
FAST_STEP = 60.0


def package_version() -> str:
    try:
        return version("eni-pool")
    except PackageNotFoundError:
        return "0+unknown"


def run_cluster(settings: ClusterModeSettings) -> None:
    """Watch the cluster and publish every node's pool until stopped."""
    logs.setup(settings.server.log_format, settings.server.log_level)
    api = connect(settings.client)
    changes: queue.Queue[Change] = queue.Queue()
    stop = threading.Event()
    observe = settings.provider is Provider.TKE_OBSERVE
    if not observe:
        lease = settings.lease
        leading = elect(api, lease.name, lease.namespace, on_lost=stop.set)
        log.info("waiting for lease %s/%s", lease.namespace, lease.name)
        while not leading.wait(1.0):
            if stop.is_set():
                return
    watchers = start_watchers(api, changes, stop)
    engine = ClusterEngine(api, changes, watchers, settings.defaults, observe, settings.cloud)
    started = time.monotonic()
    daemon = Daemon(
        Engine(engine.reconciler, engine.advance, engine.snapshot, engine.ready),
        Instruments(package_version()),
        clock=lambda: time.monotonic() - started,
        interval=0.2,
    )
    daemon.stop = stop
    listen = settings.server.listen
    assert listen is not None  # only simulate serves nothing
    server = _serve(daemon, listen)
    log.info("serving http://%s:%d/metrics, provider %s", listen.host, listen.port,
             settings.provider)  # fmt: skip
    _stop_on_signals(stop)
    try:
        daemon.run()
    finally:
        server.shutdown()


def run_simulation(settings: SimulationModeSettings) -> AuditReport | None:
    """A simulated cluster and VPC under the real engine, until stopped or done; with
    ``audit``, the fault audit's report (docs/contracts/fault-audit.md)."""
    logs.setup(settings.server.log_format, settings.server.log_level)
    try:
        cluster = SimulatedCluster(settings.cluster, settings.record)
    except OSError as error:  # --record cannot be written
        raise InputError(str(settings.record), None, error.strerror or str(error)) from None
    audit = Audit(cluster, settings.cluster.cloud.faults_until) if settings.audit else None
    started = time.monotonic()
    speed, duration = settings.speed, settings.duration
    virtual = [0.0]

    def clock() -> float:
        if speed is None:  # --speed max: the loop below sets the time
            return virtual[0]
        now = (time.monotonic() - started) * speed
        return min(now, duration) if duration is not None else now

    def advance(now: float) -> None:
        cluster.advance(now)
        daemon.engine.reconciler = cluster.reconciler  # a restart makes a new engine

    daemon = Daemon(Engine(cluster.reconciler, advance), Instruments(package_version()), clock)
    listen = settings.server.listen
    try:
        server = _serve(daemon, listen) if listen is not None else None
    except BaseException:
        cluster.close()
        raise
    if listen is not None:
        log.info("serving http://%s:%d/metrics for %d simulated nodes at %s",
                 listen.host, listen.port, settings.cluster.nodes,
                 "max speed" if speed is None else f"{speed:g}x")  # fmt: skip
    _stop_on_signals(daemon.stop)
    try:
        if speed is None:
            assert duration is not None  # the command line demands it
            while virtual[0] < duration and not daemon.stop.is_set():
                virtual[0] = min(duration, virtual[0] + FAST_STEP)
                daemon.step()
        else:
            if duration is not None:
                threading.Thread(target=_stop_at, args=(daemon, duration / speed),
                                 daemon=True).start()  # fmt: skip
            daemon.run()
        report = audit.finish(cluster.now) if audit is not None else None
    finally:
        if server is not None:
            server.shutdown()
        cluster.close()
    log.info("stopped after %.0f simulated seconds, %d pod events, %d engine restarts",
             cluster.now, cluster.events, cluster.restarts)  # fmt: skip
    return report


def _serve(daemon: Daemon, listen: Address) -> ThreadingHTTPServer:
    try:
        return serve(
            Endpoints(daemon.render, daemon.healthy, daemon.ready), listen.host, listen.port
        )
    except OSError as error:  # e.g. the address is taken
        problem = f"cannot listen on {listen.host}:{listen.port}: {error.strerror or error}"
        raise InputError("--listen", None, problem) from None


def _stop_at(daemon: Daemon, wall_seconds: float) -> None:
    daemon.stop.wait(wall_seconds)
    daemon.stop.set()


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
