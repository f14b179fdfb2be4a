"""``eni-exporter``: command-line entry. Parsing and wiring only.

Exit codes: 0 clean shutdown (SIGTERM/SIGINT or --duration reached); 2 bad
input, printed as one line; 1 an unexpected failure.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click
from kubernetes import config as kube_config
from kubernetes.client import ApiClient, Configuration

from exporter import logs
from exporter.cloud import CloudSettings
from exporter.cluster import ClusterEngine
from exporter.daemon import Daemon, Engine
from exporter.kube import Change, start_watchers
from exporter.leader import elect
from exporter.metrics import Instruments
from exporter.server import Endpoints, serve
from exporter.simcluster import ClusterSettings, SimulatedCluster
from pool_engine.config import Defaults

log = logging.getLogger("eni-exporter")


def _version() -> str:
    try:
        return version("eni-pool")
    except PackageNotFoundError:
        return "0+unknown"


def _listen(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise click.BadParameter(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:9808)")
    return host or "0.0.0.0", int(port)


def _rate(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise click.BadParameter(f"{value} is not a fraction between 0 and 1")
    return value


F = TypeVar("F", bound=Callable[..., Any])


def engine_flags(f: F) -> F:
    """The seed's ipamd flags: defaults for nodes first seen after they change."""
    for name, default, text in (
        ("--eni-max-warm-target", 1, "Default max warm ENIs (direct-eni)."),
        ("--eni-min-warm-target", 1, "Default min warm ENIs (direct-eni)."),
        ("--ip-max-warm-target", 5, "Default max warm IPs (route-eni)."),
        ("--ip-min-warm-target", 5, "Default min warm IPs (route-eni)."),
    ):
        f = click.option(name, type=click.IntRange(0), default=default, show_default=True,
                         help=text)(f)  # fmt: skip
    quick = "Release every excess idle slot per round (default: one per round)."
    f = click.option("--enable-quick-release", is_flag=True, help=quick)(f)  # fmt: skip
    return f


def latency_flag(f: F) -> F:
    return click.option(
        "--latency-scale",
        type=click.FloatRange(min=0),
        default=1.0,
        show_default=True,
        help="Multiply the simulated VPC's latencies (IP bind 1–3 s, ENI attach 10–30 s).",
    )(f)


def common_flags(f: F) -> F:
    f = click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
                     show_default=True)(f)  # fmt: skip
    f = click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
                     default="info", show_default=True)(f)  # fmt: skip
    return f


def _defaults(kwargs: dict[str, object]) -> Defaults:
    defaults = Defaults(
        ip_min_warm=int(kwargs["ip_min_warm_target"]),  # type: ignore[call-overload]
        ip_max_warm=int(kwargs["ip_max_warm_target"]),  # type: ignore[call-overload]
        eni_min_warm=int(kwargs["eni_min_warm_target"]),  # type: ignore[call-overload]
        eni_max_warm=int(kwargs["eni_max_warm_target"]),  # type: ignore[call-overload]
        quick_release=bool(kwargs["enable_quick_release"]),
    )
    refused = defaults.check()
    if refused is not None:
        raise click.BadParameter(refused.message)
    return defaults


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="eni-pool")
def cli() -> None:
    """Publish per-node ENI/IP warm-pool metrics and drive the pool engine.

    \b
    Commands:
      run        cluster mode: watch Nodes, Pods and NEC objects
      simulate   a simulated cluster and VPC, no cloud account or cluster needed
    """


@cli.command()
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Kubeconfig file  [default: in-cluster config, then ~/.kube/config]",
)
@click.option(
    "--provider",
    type=click.Choice(["tke-observe", "simulated"]),
    default="tke-observe",
    show_default=True,
    help="tke-observe: read-only shadow of TKE's agent; simulated: the engine "
    "owns the pools through a simulated VPC.",
)
@click.option(
    "--listen",
    default="0.0.0.0:9808",
    show_default=True,
    callback=_listen,
    help="HOST:PORT for /metrics, /healthz and /readyz.",
)
@click.option(
    "--lease-name",
    default="eni-exporter",
    show_default=True,
    help="Lease that elects the one acting replica (simulated provider).",
)
@click.option(
    "--lease-namespace",
    default=lambda: os.environ.get("POD_NAMESPACE", "kube-system"),
    show_default="$POD_NAMESPACE or kube-system",
)
@click.option(
    "--api-qps",
    type=click.FloatRange(min=0, min_open=True),
    default=50.0,
    show_default=True,
    help="Cloud API rate limit (simulated provider).",
)
@latency_flag
@engine_flags
@common_flags
def run(
    kubeconfig: Path | None,
    provider: str,
    listen: tuple[str, int],
    lease_name: str,
    lease_namespace: str,
    api_qps: float,
    latency_scale: float,
    log_format: str,
    log_level: str,
    **flags: object,
) -> None:
    """Watch the cluster and publish every node's pool.

    Nodes, Pods and NEC objects are listed and watched (resuming from the last
    resourceVersion, listing again after 410 Gone). Targets and limits come from the
    NEC annotations tke.cloud.tencent.com/route-eni-ip-{min,max}-warm-target,
    direct-eni-{min,max}-warm-target, route-eni-max-attach, max-ip-per-route-eni and
    direct-eni-max-attach; a refused change keeps the previous values and is reported
    as a Kubernetes Event on the NEC.

    \b
    Examples:
      eni-exporter run --provider tke-observe
      eni-exporter run --kubeconfig ~/.kube/config --provider simulated --listen :9808
    """
    logs.setup(log_format, log_level)
    defaults = _defaults(flags)
    api = kube_client(kubeconfig)
    changes: queue.Queue[Change] = queue.Queue()
    stop = threading.Event()
    observe = provider == "tke-observe"
    if not observe:
        leading = elect(api, lease_name, lease_namespace, on_lost=stop.set)
        log.info("waiting for lease %s/%s", lease_namespace, lease_name)
        while not leading.wait(1.0):
            if stop.is_set():
                return
    watchers = start_watchers(api, changes, stop)
    cloud = CloudSettings(api_qps=api_qps).scaled(latency_scale)
    engine = ClusterEngine(api, changes, watchers, defaults, observe, cloud)
    started = time.monotonic()
    daemon = Daemon(
        Engine(engine.reconciler, engine.advance, engine.snapshot, engine.ready),
        Instruments(_version()),
        clock=lambda: time.monotonic() - started,
        interval=0.2,
    )
    daemon.stop = stop
    server = serve(Endpoints(daemon.render, daemon.healthy, daemon.ready), *listen)
    log.info("serving http://%s:%d/metrics, provider %s", *listen, provider)
    _stop_on_signals(stop)
    try:
        daemon.run()
    finally:
        server.shutdown()


def kube_client(kubeconfig: Path | None) -> ApiClient:
    """An API client from --kubeconfig, else in-cluster, else ~/.kube/config."""
    configuration = Configuration()
    try:
        if kubeconfig is not None:
            kube_config.load_kube_config(str(kubeconfig), client_configuration=configuration)
        else:
            try:
                kube_config.load_incluster_config(client_configuration=configuration)
            except kube_config.ConfigException:
                kube_config.load_kube_config(client_configuration=configuration)
    except (kube_config.ConfigException, OSError) as error:
        raise click.BadParameter(f"no usable Kubernetes configuration: {error}") from None
    return ApiClient(configuration)


@cli.command()
@click.option(
    "--nodes",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="Nodes in the simulated cluster (mixed 2–32 cores).",
)
@click.option(
    "--listen",
    default="127.0.0.1:9808",
    show_default=True,
    callback=_listen,
    help="HOST:PORT for /metrics, /healthz and /readyz.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the workload.")
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Simulated seconds per wall-clock second.",
)
@click.option(
    "--churn",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Multiplier on the workload's arrival rates.",
)
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the churn as a trace (time,node,event,pod) for eni-tuner.",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop after this many simulated seconds  [default: run until SIGTERM]",
)
@click.option(
    "--api-qps",
    type=click.FloatRange(min=0, min_open=True),
    default=50.0,
    show_default=True,
    help="Cloud API rate limit of the simulated VPC.",
)
@click.option(
    "--error-rate",
    type=float,
    default=0.0,
    show_default=True,
    callback=_rate,
    help="Fraction of cloud operations that fail.",
)
@click.option(
    "--throttle-rate",
    type=float,
    default=0.0,
    show_default=True,
    callback=_rate,
    help="Fraction of cloud calls refused as throttled.",
)
@latency_flag
@engine_flags
@common_flags
def simulate(
    nodes: int,
    listen: tuple[str, int],
    seed: int,
    speed: float,
    churn: float,
    record: Path | None,
    duration: float | None,
    api_qps: float,
    error_rate: float,
    throttle_rate: float,
    latency_scale: float,
    log_format: str,
    log_level: str,
    **flags: object,
) -> None:
    """Run a simulated cluster: real engine, simulated VPC, churn from a workload model.

    Pods churn as services under a daily HPA curve, rollouts in surge waves, batch
    bursts and hourly cron fan-outs; every node's pool is kept by the real engine
    against a simulated VPC with bind/attach latency, subnet capacity and an API rate
    limit. Scrape http://LISTEN/metrics with Prometheus; --record writes the churn for
    `eni-tuner`.

    \b
    Examples:
      eni-exporter simulate --nodes 50 --listen 127.0.0.1:9808
      eni-exporter simulate --speed 3600 --duration 604800 --record week.csv
    """
    logs.setup(log_format, log_level)
    cloud = CloudSettings(api_qps=api_qps, error_rate=error_rate, throttle_rate=throttle_rate,
                          seed=seed).scaled(latency_scale)  # fmt: skip
    settings = ClusterSettings(nodes=nodes, seed=seed, churn=churn, defaults=_defaults(flags),
                               cloud=cloud)  # fmt: skip
    cluster = SimulatedCluster(settings, record)
    started = time.monotonic()

    def clock() -> float:
        virtual = (time.monotonic() - started) * speed
        return min(virtual, duration) if duration is not None else virtual

    daemon = Daemon(Engine(cluster.reconciler, cluster.advance), Instruments(_version()), clock)
    server = serve(Endpoints(daemon.render, daemon.healthy, daemon.ready), *listen)
    log.info("serving http://%s:%d/metrics for %d simulated nodes at %gx", *listen, nodes, speed)

    _stop_on_signals(daemon.stop)
    if duration is not None:
        threading.Thread(target=_stop_at, args=(daemon, duration / speed), daemon=True).start()
    try:
        daemon.run()
    finally:
        server.shutdown()
        cluster.close()
        log.info("stopped after %.0f simulated seconds, %d pod events", cluster.now, cluster.events)


def _stop_at(daemon: Daemon, wall_seconds: float) -> None:
    daemon.stop.wait(wall_seconds)
    daemon.stop.set()


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except OSError as exc:  # e.g. the listen address is taken
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
