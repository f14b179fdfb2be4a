"""``eni-exporter``: command-line entry. Flags become typed settings
(:mod:`exporter.settings`, through :mod:`exporter.flags`); :mod:`exporter.modes`
runs them.

Exit codes (docs/contracts/cli.md): 0 clean shutdown (SIGTERM/SIGINT or --duration
reached); 2 bad input, printed as one line (flags, --listen taken, kubeconfig);
4 the Kubernetes API unreachable or refusing; 1 an unexpected failure.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from exporter.cloud import CloudSettings
from exporter.flags import (
    Count,
    Finite,
    engine_flags,
    enum_choice,
    fault_flags,
    faults_end,
    latency_flag,
    lease_flags,
    lease_timings,
    listen_flag,
    log_flags,
    parse_namespace,
    parse_object_name,
    parse_record,
    parse_seconds,
    parse_speed,
    positive,
    to_enum,
)
from exporter.settings import (
    MAX_NODES,
    Address,
    ClusterModeSettings,
    LeaseSettings,
    Provider,
    ServerSettings,
    SimulationModeSettings,
)
from exporter.simcluster import ClusterSettings
from kube_adapter.client import ClientSettings
from kube_adapter.logs import LogFormat, LogLevel, error_line, writing_output
from pool_engine.config import Defaults
from pool_engine.errors import PoolEngineError
from pool_engine.placement import Placement
from pool_engine.workload import Workload


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="eni-pool")
def cli() -> None:
    """Publish per-node ENI/IP warm-pool metrics and drive the pool engine.

    \b
    Exit codes: 0 clean stop; 1 unexpected failure (or an --audit violation);
                2 bad input (flags, kubeconfig, --listen address taken).
    """


@cli.command()
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Kubeconfig file  [default: in-cluster config, then $KUBECONFIG or ~/.kube/config]",
)
@click.option("--context", help="Context of the kubeconfig to use  [default: its current-context]")
@click.option(
    "--provider",
    type=enum_choice(Provider),
    default=Provider.TKE_OBSERVE.value,
    show_default=True,
    callback=to_enum(Provider),
    help="tke-observe: read-only shadow of TKE's agent; simulated: the engine "
    "owns the pools through a simulated VPC.",
)
@listen_flag("0.0.0.0:9808")
@click.option(
    "--leader-elect/--no-leader-elect",
    default=True,
    show_default=True,
    help="Elect one acting replica through a Lease; the others stand by. Without it the "
    "exporter acts at once: never run two replicas so.",
)
@click.option(
    "--lease-name",
    default="eni-exporter",
    show_default=True,
    callback=parse_object_name,
    help="Lease that elects the one acting replica.",
)
@click.option(
    "--lease-namespace",
    default=lambda: os.environ.get("POD_NAMESPACE", "kube-system"),
    show_default="$POD_NAMESPACE or kube-system",
    callback=parse_namespace,
    help="Namespace of the Lease.",
)
@lease_flags
@click.option(
    "--api-qps",
    type=positive(1e6),
    default=50.0,
    show_default=True,
    help="Cloud API rate limit (simulated provider).",
)
@latency_flag
@engine_flags
@log_flags
def run(
    kubeconfig: Path | None,
    context: str | None,
    provider: Provider,
    listen: Address,
    leader_elect: bool,
    lease_name: str,
    lease_namespace: str,
    lease_duration: int,
    renew_deadline: float,
    retry_period: float,
    api_qps: float,
    latency_scale: float,
    defaults: Defaults,
    log_format: LogFormat,
    log_level: LogLevel,
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
      eni-exporter run --kubeconfig ~/.kube/config --context prod --listen :9808
      eni-exporter run --provider simulated --lease-namespace eni-pool
    """
    settings = ClusterModeSettings(
        server=ServerSettings(listen, log_format, log_level),
        client=ClientSettings(kubeconfig, context),
        provider=provider,
        lease=LeaseSettings(
            lease_name,
            lease_namespace,
            lease_timings(lease_duration, renew_deadline, retry_period),
            leader_elect,
        ),
        cloud=CloudSettings(api_qps=api_qps).scaled(latency_scale),
        defaults=defaults,
    )
    from exporter import modes  # the engine, metrics and clients load here, not for --help

    modes.run_cluster(settings)


@cli.command(short_help="Run a simulated cluster and VPC: no cluster or cloud account needed.")
@click.option(
    "--nodes",
    type=Count(1, MAX_NODES),
    default=20,
    show_default=True,
    help="Nodes in the simulated cluster (mixed 2–32 cores).",
)
@listen_flag("127.0.0.1:9808", none=True)
@click.option("--seed", type=Count(0, 2**31 - 1), default=0, show_default=True,
              help="Seed of the workload, the VPC and its faults.")  # fmt: skip
@click.option("--speed", default="60", show_default=True, callback=parse_speed,
              help="Simulated seconds per wall-clock second; max: as fast as the CPU "
              "allows (needs --duration).")  # fmt: skip
@click.option(
    "--churn",
    type=positive(1000.0),
    default=1.0,
    show_default=True,
    help="Multiplier on the workload's arrival rates.",
)
@click.option(
    "--placement",
    type=enum_choice(Placement),
    default=Placement.SPREAD.value,
    show_default=True,
    callback=to_enum(Placement),
    help="How the scheduler places pods: spread (LeastAllocated) or binpack "
    "(MostAllocated), scored on CPU requests and the pools' slots.",
)
@click.option(
    "--workload",
    type=enum_choice(Workload),
    default=Workload.STEADY.value,
    show_default=True,
    callback=to_enum(Workload),
    help="steady: the background churn; daily: plus each node's daily routine (jobs at "
    "fixed UTC times, business-hours services, morning scale-ups; time 0 is 00:00 UTC); "
    "flat: the background churn without its daily curve.",
)
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=parse_record,
    help="Write the churn as a trace (time,node,event,pod,mode) for eni-tuner.",
)
@click.option(
    "--duration",
    type=Finite(),
    callback=parse_seconds,
    help="Stop after this many simulated seconds  [default: run until SIGTERM]",
)
@click.option(
    "--api-qps",
    type=positive(1e6),
    default=50.0,
    show_default=True,
    help="Cloud API rate limit of the simulated VPC.",
)
@fault_flags
@latency_flag
@engine_flags
@log_flags
def simulate(
    nodes: int,
    listen: Address | None,
    seed: int,
    speed: float | None,
    churn: float,
    placement: Placement,
    workload: Workload,
    record: Path | None,
    duration: float | None,
    api_qps: float,
    error_rate: float,
    throttle_rate: float,
    timeout_rate: float,
    faults_until: float | None,
    restart_every: float | None,
    sync_interval: float,
    audit: bool,
    latency_scale: float,
    defaults: Defaults,
    log_format: LogFormat,
    log_level: LogLevel,
) -> None:
    """Run a simulated cluster: real engine, simulated VPC, churn from a workload model.

    Pods churn as services under a daily HPA curve, rollouts in surge waves, batch
    bursts and hourly cron fan-outs; every node's pool is kept by the real engine
    against a simulated VPC with bind/attach latency, subnet capacity and an API rate
    limit. Scrape http://LISTEN/metrics with Prometheus; --record writes the churn for
    `eni-tuner`.

    It is also the engine's fault harness: --error-rate, --throttle-rate and
    --timeout-rate inject faults into every cloud call (until --faults-until),
    --restart-every throws the engine away and rebuilds it, and --audit prints, last
    on stdout, one JSON object judging the run against the VPC's own truth; the exit
    code is 1 when it found a violation.

    \b
    Examples:
      eni-exporter simulate --nodes 50 --listen 127.0.0.1:9808
      eni-exporter simulate --speed 3600 --duration 604800 --record week.csv
      eni-exporter simulate --workload daily --speed max --duration 1209600 \\
          --record two-weeks.csv --listen none
      eni-exporter simulate --speed max --duration 172800 --error-rate 0.2 \\
          --timeout-rate 0.05 --restart-every 1800 --audit --listen none
    """
    if speed is None and duration is None:
        raise click.BadParameter("--speed max needs --duration", param_hint="'--speed'")
    if audit and duration is None:  # its fault-free tail and its leak count start there
        raise click.BadParameter("--audit needs --duration", param_hint="'--audit'")
    cloud = CloudSettings(
        api_qps=api_qps, error_rate=error_rate, throttle_rate=throttle_rate,
        timeout_rate=timeout_rate, faults_until=faults_end(faults_until, duration), seed=seed,
    ).scaled(latency_scale)  # fmt: skip
    cluster = ClusterSettings(nodes=nodes, seed=seed, churn=churn, defaults=defaults, cloud=cloud,
                              sync_interval=sync_interval, restart_every=restart_every,
                              placement=placement, workload=workload)  # fmt: skip
    settings = SimulationModeSettings(
        server=ServerSettings(listen, log_format, log_level),
        cluster=cluster,
        speed=speed,
        duration=duration,
        record=record,
        audit=audit,
    )
    from exporter import modes

    report = modes.run_simulation(settings)
    if report is not None:
        with writing_output():
            click.echo(json.dumps(report.as_json()))
        if report.violated:
            click.get_current_context().exit(1)


def main() -> None:
    """Console-script entry: click's errors and ours are one line and their exit code."""
    try:
        code = cli.main(standalone_mode=False)  # click returns ctx.exit()'s code here
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:  # no command: the help, laid out
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message(), err=True)
        sys.exit(exc.exit_code)
    except (click.ClickException, PoolEngineError) as exc:
        click.echo(error_line(exc), err=True)
        sys.exit(exc.exit_code)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
