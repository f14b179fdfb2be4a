"""The exporter's two modes, from typed settings to a running daemon: cluster mode
(watch Kubernetes, ``eni-exporter run``) and simulation (``eni-exporter simulate``).

Each wires its parts and hands the loop to :class:`exporter.daemon.Daemon`, the only
clock reader; SIGTERM/SIGINT (or the simulated duration) stop it cleanly.

In cluster mode the process serves its endpoints from the start and acts in *terms*.
A term lasts while the Lease is ours (:class:`kube_adapter.lease.Elector`; with
``--no-leader-elect``, until the process stops): each term builds its watchers,
engine and outbox afresh and checks, before every step and every write, that the
Lease's renew deadline is still ahead; when it is not, the term ends and the replica
stands by (:class:`exporter.replica.Replica`) until it holds the Lease again. Both
providers elect: only the acting replica publishes pool series.
"""

from __future__ import annotations

import logging
import math
import queue
import signal
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError, version
from types import FrameType
from typing import TYPE_CHECKING

from exporter.audit import Audit, AuditReport
from exporter.cluster import ClusterEngine
from exporter.daemon import Daemon, Engine
from exporter.incidents import Incidents, Where
from exporter.kube import Change, NecWriter, start_watchers
from exporter.metrics import Instruments, simulation_speed
from exporter.outbox import Outbox
from exporter.replica import Replica
from exporter.server import Endpoints, Status, bound, hostport, serve
from exporter.settings import Address, ClusterModeSettings, Provider, SimulationModeSettings
from exporter.simcluster import SimulatedCluster
from kube_adapter import logs
from kube_adapter.client import connect
from kube_adapter.lease import ApiLeases, Elector, identity
from pool_engine.errors import InputError
from pool_engine.warm_schedule import day_offset

if TYPE_CHECKING:
    from kube_adapter.client import ApiClient

log = logging.getLogger("eni-exporter")

STEP_SECONDS = 0.2
"""The engine loop's period in cluster mode."""
FLUSH_SECONDS = 2.0
"""On a clean shutdown, the outbox gets this long to send what waits."""
FAST_STEP = 60.0
"""Simulated seconds per engine-loop step at ``--speed max``."""


def package_version() -> str:
    try:
        return version("eni-pool")
    except PackageNotFoundError:
        return "0+unknown"


def run_cluster(settings: ClusterModeSettings) -> None:
    """Watch the cluster and publish every node's pool until stopped."""
    logs.setup(settings.server.log_format, settings.server.log_level)
    api = connect(settings.client)
    instruments = Instruments(package_version())
    incidents = Incidents(instruments.engine_errors)
    elector = None
    if settings.lease.elect:
        lease = settings.lease
        store = ApiLeases(api, lease.name, lease.namespace, timeout=lease.timings.retry_period)
        elector = Elector(store, identity(), lease.timings, incidents.reporter(Where.LEASE))
    replica = Replica(instruments, elector)
    stop = threading.Event()
    listen = settings.server.listen
    assert listen is not None  # only simulate serves nothing
    server = _serve(replica.endpoints(), listen)
    log.info("serving http://%s/metrics, provider %s", bound(server), settings.provider)
    _stop_on_signals(stop)
    try:
        if elector is None:
            _term(settings, api, replica, incidents, lambda: True, lambda: math.inf, stop)
            return
        elector.start()
        log.info("standing by for lease %s/%s", settings.lease.namespace, settings.lease.name)
        while not stop.is_set():
            if not elector.acting():
                stop.wait(0.05)
                continue
            _term(settings, api, replica, incidents, elector.acting, elector.deadline, stop)
            if not stop.is_set():
                log.warning("stopped acting: lease not renewed within %gs; standing by",
                            settings.lease.timings.renew_deadline)  # fmt: skip
    finally:
        if elector is not None:
            elector.release()  # nothing acts any more
        server.shutdown()
        server.server_close()


def _term(
    settings: ClusterModeSettings,
    api: ApiClient,
    replica: Replica,
    incidents: Incidents,
    may_act: Callable[[], bool],
    deadline: Callable[[], float],
    stop: threading.Event,
) -> None:
    """Act while ``may_act()``: watch, step the engine, publish, write; then stand by."""
    ended = threading.Event()
    changes: queue.Queue[Change] = queue.Queue()
    watchers = start_watchers(api, changes, ended, incidents.counter(Where.WATCH))
    outbox = Outbox(NecWriter(api), may_act, incidents)
    outbox.start()
    observe = settings.provider is Provider.TKE_OBSERVE
    started, origin = time.monotonic(), time.time()  # engine time 0, and in UTC
    engine = ClusterEngine(changes, watchers, settings.defaults, outbox, incidents,
                           observe=observe, cloud=settings.cloud,
                           day_offset=day_offset(origin))  # fmt: skip
    daemon = Daemon(
        Engine(engine.reconciler, engine.advance, engine.snapshot, engine.ready),
        replica.instruments,
        clock=lambda: time.monotonic() - started,
        interval=STEP_SECONDS,
    )
    log.info("acting: watching Nodes, Pods and NEC objects")
    replica.act(daemon)
    try:
        while not stop.is_set() and may_act():
            try:
                daemon.step()
            except Exception as error:  # the loop goes on; /healthz tells if it keeps failing
                incidents.survived(Where.STEP, error, "publishing")
            stop.wait(max(0.0, min(STEP_SECONDS, deadline() - time.monotonic())))
    finally:
        replica.stand_by()
        ended.set()
        outbox.close(FLUSH_SECONDS if may_act() else 0.0)


def run_simulation(settings: SimulationModeSettings) -> AuditReport | None:
    """A simulated cluster and VPC under the real engine, until stopped or done; with
    ``audit``, the fault audit's report (docs/contracts/fault-audit.md)."""
    logs.setup(settings.server.log_format, settings.server.log_level)
    cluster = SimulatedCluster(settings.cluster)
    audit = Audit(cluster, settings.cluster.cloud.faults_until) if settings.audit else None
    started = time.monotonic()
    speed, duration = settings.speed, settings.duration
    virtual = [0.0]

    def clock() -> float:
        if speed is None:  # --speed max: the loop below sets the time
            return virtual[0]
        now = (time.monotonic() - started) * speed
        return min(now, duration) if duration is not None else now

    instruments = Instruments(package_version())
    Incidents(instruments.engine_errors)
    instruments.acting.set(1)
    if speed is not None:
        simulation_speed(instruments, speed)

    def advance(now: float) -> None:
        cluster.advance(now)
        daemon.engine.reconciler = cluster.reconciler  # a restart makes a new engine

    daemon = Daemon(Engine(cluster.reconciler, advance), instruments, clock)
    listen = settings.server.listen
    endpoints = Endpoints(
        daemon.render,
        lambda: Status(True, "ok") if daemon.healthy() else Status(False, "engine loop stalled"),
        lambda: Status(True, "ready") if daemon.ready() else Status(False, "first sync pending"),
    )
    server = _serve(endpoints, listen) if listen is not None else None
    if settings.record is not None:  # only once listening: a taken address leaves no file
        try:
            cluster.record_to(settings.record)
        except OSError as error:  # --record cannot be written
            if server is not None:
                server.shutdown()
                server.server_close()
            raise InputError(str(settings.record), None, error.strerror or str(error)) from None
    if server is not None:
        pace = "max speed" if speed is None else f"{speed:g}x"
        log.info("serving http://%s/metrics for %d simulated nodes at %s", bound(server),
                 settings.cluster.nodes, pace)  # fmt: skip
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
            server.server_close()
        cluster.close()
    log.info("stopped after %.0f simulated seconds, %d pod events, %d engine restarts",
             cluster.now, cluster.events, cluster.restarts)  # fmt: skip
    return report


def _serve(endpoints: Endpoints, listen: Address) -> ThreadingHTTPServer:
    try:
        return serve(endpoints, listen.host, listen.port)
    except OSError as error:  # e.g. the address is taken
        where = hostport(listen.host, listen.port)
        problem = f"cannot listen on {where}: {error.strerror or error}"
        raise InputError("--listen", None, problem) from None


def _stop_at(daemon: Daemon, wall_seconds: float) -> None:
    # a wait beyond TIMEOUT_MAX (292 years) overflows; a slow --speed may ask for it
    daemon.stop.wait(min(wall_seconds, threading.TIMEOUT_MAX))
    daemon.stop.set()


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
