"""``eni-tuner``: command-line entry. Parsing and printing only; the work lives elsewhere.

Exit codes: 0 success (a node without enough history is a result, not a failure);
1 an unexpected failure; 2 bad input (usage, trace or targets file), printed as one
line on stderr; 3 the history source (Prometheus) could not be read; 4 the Kubernetes
API could not be reached or refused a request.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
import urllib3
from kubernetes.client import ApiException

from pool_engine.config import Targets
from pool_engine.errors import InputError, PoolEngineError
from pool_engine.overrides import load_overrides
from pool_engine.simulator import NodeTargets, SimulationSettings, simulate
from pool_engine.trace import load_trace
from tuner import apply as applying
from tuner import backtest as backtesting
from tuner import plots, render, report
from tuner.apply import Guardrails, selected_nodes
from tuner.options import (
    AnalysisRequest,
    analysis_options,
    kube_client,
    positive_seconds,
    setup_logs,
)
from tuner.prometheus import HistoryUnavailable


def _non_negative(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 0:
        raise click.BadParameter(f"{value} is negative")
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="eni-pool")
def cli() -> None:
    """Size per-node ENI/IP warm pools from pod churn.

    \b
    Commands:
      apply      write recommendations as NEC annotations, within guardrails
      recommend  per-node min/max warm targets from churn history
      simulate   replay a churn trace through the pool policy and report
                 cold starts, waits and idle slot-seconds per node

    \b
    Exit codes: 0 success; 1 unexpected failure; 2 bad input;
                3 history source unreachable; 4 Kubernetes API unreachable or refused.
    """


@cli.command()
@analysis_options
@click.option(
    "--min-history",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Hours of history below which a node keeps its targets.",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json", "yaml", "csv", "kubectl"]),
    default="table",
    show_default=True,
)
def recommend(min_history: float, output: str, **options: Any) -> None:
    """Recommend per-node min/max warm targets from pod churn history.

    Each node's history is replayed through the pool policy under candidate targets;
    the cheapest pair that keeps the (recency-weighted) cold-start rate under the
    objective wins, never above the node's max-attach and, for TKE, never below 1.
    Start rows at the history's first instant are pods that already existed.

    \b
    Examples:
      eni-tuner recommend --trace churn.csv
      eni-tuner recommend --trace churn.csv --max-cold-start-rate 0.5% -o json
      eni-tuner recommend --trace churn.csv -o kubectl | sh
    """
    request = AnalysisRequest.from_options(options, min_history_hours=min_history)
    recs = request.run(_log)
    mode = request.mode
    if output == "json":
        sys.stdout.write(report.to_json(recs, mode))
    elif output == "yaml":
        sys.stdout.write(report.to_yaml(recs, mode))
    elif output == "csv":
        sys.stdout.write(report.to_csv(recs))
    elif output == "kubectl":
        for rec in recs:
            if rec.changed:
                click.echo(report.kubectl_line(rec, mode))
    else:
        report.print_table(recs, mode, request.describe_objective())


@cli.command()
@analysis_options
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Kubeconfig file  [default: in-cluster config, then ~/.kube/config]",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate every patch with the API server (dryRun=All), change nothing.",
)
@click.option(
    "--max-step", type=click.IntRange(1), help="Move each target by at most this much per run."
)
@click.option(
    "--selector", help="Only nodes whose NEC objects match this label selector (e.g. pool=batch)."
)
@click.option(
    "--min-history",
    type=click.FloatRange(min=0),
    default=24.0,
    show_default=True,
    help="Leave nodes with fewer hours of history alone.",
)
@click.option(
    "--max-changes",
    type=click.IntRange(0),
    default=50,
    show_default=True,
    help="Change at most this many nodes per run, the most useful first.",
)
@click.option(
    "-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def apply(
    kubeconfig: Path | None,
    dry_run: bool,
    max_step: int | None,
    selector: str | None,
    min_history: float,
    max_changes: int,
    output: str,
    log_format: str,
    **options: Any,
) -> None:
    """Write recommendations as NEC annotations, within guardrails.

    Both keys of a pair go in one merge patch, guarded by the NEC's resourceVersion
    (a concurrent edit is read again and re-planned, never overwritten), with the
    previous values and time recorded in the annotation eni-pool.io/previous-warm-targets
    and one Kubernetes Event per change. A NEC annotated eni-pool.io/tuner-opt-out=true
    is left alone. A second run on the same history changes nothing. Built for a CronJob.

    \b
    Examples:
      eni-tuner apply --trace churn.csv --dry-run
      eni-tuner apply --trace churn.csv --max-step 2 --selector pool=batch -o json
    """
    setup_logs(log_format)
    request = AnalysisRequest.from_options(options)
    api = kube_client(kubeconfig)  # fail fast, before the analysis
    recs = request.run(_log)
    guard = Guardrails(
        max_step=max_step,
        min_history_hours=min_history,
        max_changes=max_changes,
        selected=selected_nodes(api, selector) if selector else None,
    )
    changes = applying.plan(recs, applying.list_necs(api), guard, request.mode)
    done = applying.write(api, changes, {r.node: r for r in recs}, guard, request.mode, dry_run)
    for change in done:
        if change.outcome in ("changed", "would-change"):
            _log(f"{change.outcome}: {change.node} {_pair(change.before)} -> {_pair(change.after)}")
    if output == "json":
        sys.stdout.write(report.changes_to_json(done))
    else:
        report.print_changes(done, dry_run)
    applying.raise_for_failures(done)


@cli.command()
@analysis_options
@click.option(
    "--recommended",
    "recommended_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Targets to test (CSV node,min_warm,max_warm, e.g. `recommend -o csv`)  "
    "[default: recommend from the same history]",
)
@click.option(
    "--png",
    "png_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write idle slots and cold starts over time, in total and for the worst nodes, as a PNG.",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the same as a self-contained HTML report.",
)
@click.option(
    "--worst",
    type=click.IntRange(0, 10),
    default=3,
    show_default=True,
    help="How many of the most wasteful nodes to show.",
)
@click.option(
    "-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def backtest(
    recommended_file: Path | None,
    png_file: Path | None,
    html_file: Path | None,
    worst: int,
    output: str,
    **options: Any,
) -> None:
    """Replay the history under the current and the recommended targets.

    Prints cold starts and idle slot-hours for both, and with --png or --html draws
    them over time for the whole cluster and the most wasteful nodes.

    \b
    Examples:
      eni-tuner backtest --trace churn.csv --png backtest.png
      eni-tuner recommend --trace first-week.csv -o csv > rec.csv
      eni-tuner backtest --trace second-week.csv --recommended rec.csv --html report.html
    """
    request = AnalysisRequest.from_options(options)
    history = request.load(_log)
    current = load_overrides(request.targets_file) if request.targets_file else {}
    if recommended_file is not None:
        recommended = load_overrides(recommended_file)
    else:
        recs = request.analyse(history, current, _log)
        recommended = {r.node: r.recommended for r in recs}
    result = backtesting.run(
        history, request.replay_settings(), current, recommended, NodeTargets(5, 5), worst
    )
    if png_file is not None:
        plots.write_png(result, png_file)
        _log(f"wrote {png_file}")
    if html_file is not None:
        plots.write_html(result, html_file)
        _log(f"wrote {html_file}")
    if output == "json":
        _print_json(result.totals)
    else:
        for name, t in result.totals.items():
            click.echo(
                f"{name:>12}: {t['pod_starts']:,} pod starts, {t['cold_starts']:,} cold "
                f"({t['cold_start_rate']:.2%}), {t['idle_slot_hours']:,.1f} idle "
                "slot-hours"
            )


def _pair(targets: Targets | None) -> str:
    return "-" if targets is None else f"{targets.min_warm}/{targets.max_warm}"


@cli.command()
@click.argument("trace", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--min-warm",
    type=int,
    default=5,
    show_default=True,
    callback=_non_negative,
    help="Min warm target m for every node without an override.",
)
@click.option(
    "--max-warm",
    type=int,
    default=5,
    show_default=True,
    callback=_non_negative,
    help="Max warm target M for every node without an override.",
)
@click.option(
    "--targets",
    "targets_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV node,min_warm,max_warm[,max_slots] overriding the defaults per node.",
)
@click.option(
    "--quick-release",
    is_flag=True,
    help="Release every excess idle slot per round (default: one per round).",
)
@click.option(
    "--max-slots",
    type=int,
    default=None,
    callback=_non_negative,
    help="Max bindable slots C per node  [default: unlimited]",
)
@click.option(
    "--bind-latency",
    type=float,
    default=2.0,
    show_default=True,
    callback=positive_seconds,
    help="Seconds from a bind request to a usable slot.",
)
@click.option(
    "--release-interval",
    type=float,
    default=120.0,
    show_default=True,
    callback=positive_seconds,
    help="Seconds between release rounds.",
)
@click.option(
    "--timeline",
    "timeline_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write CSV time,node,bound,in_use,waiting,idle at every change.",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="json prints the result document alone on stdout.",
)
def simulate_cmd(
    trace: Path,
    min_warm: int,
    max_warm: int,
    targets_file: Path | None,
    quick_release: bool,
    max_slots: int | None,
    bind_latency: float,
    release_interval: float,
    timeline_file: Path | None,
    output: str,
) -> None:
    """Replay TRACE (CSV or Parquet: time,node,event) through the warm-pool policy.

    Every node's pool starts at time 0 with min(C, m) bound slots and the run ends
    at the trace's last event. Per node and in total it reports pod starts, warm
    hits, cold starts, waits (sum, max, p99), idle and bound slot-seconds, bind and
    release operations.

    \b
    Examples:
      eni-tuner simulate churn.csv
      eni-tuner simulate churn.parquet --min-warm 2 --max-warm 8 --quick-release -o json
      eni-tuner simulate churn.csv --targets per-node.csv --timeline pool.csv
    """
    if min_warm > max_warm:
        raise click.BadParameter(
            f"--min-warm {min_warm} > --max-warm {max_warm}", param_hint="--min-warm/--max-warm"
        )
    settings = SimulationSettings(
        defaults=NodeTargets(min_warm, max_warm, max_slots),
        quick_release=quick_release,
        bind_latency=bind_latency,
        release_interval=release_interval,
    )
    overrides = load_overrides(targets_file) if targets_file else {}
    began = time.perf_counter()
    loaded = load_trace(trace)
    _log(
        f"loaded {loaded.events:,} events of {len(loaded.nodes):,} nodes from {trace} "
        f"in {time.perf_counter() - began:.2f}s"
    )
    unknown = sorted(set(overrides) - set(loaded.nodes))
    if unknown:
        _log(
            f"warning: {len(unknown)} node(s) in {targets_file} are not in the trace "
            f"(first: {unknown[0]})"
        )
    began = time.perf_counter()
    result = simulate(loaded, settings, overrides, timeline=timeline_file is not None)
    _log(f"replayed {len(loaded.nodes):,} nodes in {time.perf_counter() - began:.2f}s")
    if timeline_file is not None and result.timeline is not None:
        render.write_timeline(timeline_file, result.timeline)
        _log(f"wrote {result.timeline.num_rows:,} timeline rows to {timeline_file}")
    if output == "json":
        _print_json(result.to_json())
    else:
        render.print_simulation(result, settings)


simulate_cmd.name = "simulate"


def _print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _log(message: str) -> None:
    click.echo(message, err=True)


def main() -> None:
    """Console-script entry: our own errors become one line and exit 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except HistoryUnavailable as exc:
        click.echo(f"error: cannot read history: {exc}", err=True)
        sys.exit(3)
    except ApiException as exc:  # e.g. 403: the ServiceAccount may not do this
        click.echo(f"error: Kubernetes API refused: {exc.status} {exc.reason}", err=True)
        sys.exit(4)
    except urllib3.exceptions.HTTPError as exc:
        click.echo(f"error: cannot reach the Kubernetes API: {exc}", err=True)
        sys.exit(4)
    except PoolEngineError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
