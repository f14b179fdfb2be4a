"""``eni-tuner``: command-line entry. Parsing and printing only; the work lives elsewhere.

Exit codes: 0 success (a node without enough history is a result, not a failure);
1 an unexpected failure; 2 bad input (usage, trace or targets file), printed as one
line on stderr; 3 the history source (Prometheus) could not be read.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from pool_engine.config import Mode
from pool_engine.errors import InputError
from pool_engine.overrides import load_overrides
from pool_engine.simulator import NodeTargets, SimulationSettings, simulate
from pool_engine.trace import load_trace
from tuner import analysis, render, report
from tuner.analysis import AnalysisSettings, Objective
from tuner.history import load_history


def _non_negative(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 0:
        raise click.BadParameter(f"{value} is negative")
    return value


def _positive(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not value > 0:
        raise click.BadParameter(f"{value} must be > 0 seconds")
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="eni-pool")
def cli() -> None:
    """Size per-node ENI/IP warm pools from pod churn.

    \b
    Commands:
      recommend  per-node min/max warm targets from churn history
      simulate   replay a churn trace through the pool policy and report
                 cold starts, waits and idle slot-seconds per node

    \b
    Exit codes: 0 success; 1 unexpected failure; 2 bad input;
                3 history source unreachable.
    """


def _rate(ctx: click.Context, param: click.Parameter, value: str) -> float:
    text = value.strip()
    try:
        rate = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a rate (e.g. 0.01 or 1%)") from None
    if not 0.0 <= rate < 1.0:
        raise click.BadParameter(f"{value!r} is not between 0 and 100%")
    return rate


@cli.command()
@click.option(
    "--trace",
    "trace_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Churn history as a trace (CSV or Parquet: time,node,event).",
)
@click.option(
    "--targets",
    "targets_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Current targets: CSV node,min_warm,max_warm[,max_slots]  [default: 5/5]",
)
@click.option(
    "--max-cold-start-rate",
    default="1%",
    show_default=True,
    callback=_rate,
    help="Objective: cold starts per pod start (0.01 or 1%).",
)
@click.option(
    "--idle-slot-hour-cost",
    type=click.FloatRange(min=0),
    help="With --cold-start-cost: minimise idle-hours x this + cold starts x that.",
)
@click.option("--cold-start-cost", type=click.FloatRange(min=0))
@click.option(
    "--target",
    "target_agent",
    type=click.Choice(["tke", "engine"]),
    default="tke",
    show_default=True,
    help="tke: min warm >= 1 (TKE's agent needs it); engine: min warm 0 allowed.",
)
@click.option(
    "--mode",
    type=click.Choice([m.value for m in Mode]),
    default="route-eni",
    show_default=True,
    help="Which annotation pair the kubectl lines set.",
)
@click.option("--quick-release", is_flag=True, help="The cluster runs --enable-quick-release.")
@click.option(
    "--max-slots",
    type=int,
    callback=_non_negative,
    help="Max-attach C of nodes the targets file does not cover  [default: unlimited]",
)
@click.option("--bind-latency", type=float, default=2.0, show_default=True, callback=_positive)
@click.option(
    "--release-interval", type=float, default=120.0, show_default=True, callback=_positive
)
@click.option(
    "--min-history",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Hours of history below which a node keeps its targets.",
)
@click.option(
    "--min-pod-starts",
    type=click.IntRange(0),
    default=30,
    show_default=True,
    help="Pod starts below which a node keeps its targets.",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json", "yaml", "csv", "kubectl"]),
    default="table",
    show_default=True,
)
def recommend(
    trace_file: Path,
    targets_file: Path | None,
    max_cold_start_rate: float,
    idle_slot_hour_cost: float | None,
    cold_start_cost: float | None,
    target_agent: str,
    mode: str,
    quick_release: bool,
    max_slots: int | None,
    bind_latency: float,
    release_interval: float,
    min_history: float,
    min_pod_starts: int,
    output: str,
) -> None:
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
    if (idle_slot_hour_cost is None) != (cold_start_cost is None):
        raise click.BadParameter("give both --idle-slot-hour-cost and --cold-start-cost",
                                 param_hint="--idle-slot-hour-cost")  # fmt: skip
    settings = AnalysisSettings(
        objective=Objective(max_cold_start_rate, idle_slot_hour_cost, cold_start_cost),
        min_warm_floor=1 if target_agent == "tke" else 0,
        quick_release=quick_release,
        bind_latency=bind_latency,
        release_interval=release_interval,
        default_max_slots=max_slots,
        min_history_hours=min_history,
        min_arrivals=min_pod_starts,
    )
    current = load_overrides(targets_file) if targets_file else {}
    began = time.perf_counter()
    history = load_history(trace_file)
    _log(f"loaded {history.trace.events:,} events of {len(history.nodes):,} nodes "
         f"({history.hours:.1f} h) in {time.perf_counter() - began:.2f}s")  # fmt: skip
    began = time.perf_counter()
    recs = analysis.recommend(history, settings, current)
    changed = sum(r.changed for r in recs)
    _log(f"analysed {len(recs):,} nodes in {time.perf_counter() - began:.2f}s: "
         f"{changed:,} to change")  # fmt: skip
    pool_mode = Mode(mode)
    if output == "json":
        sys.stdout.write(report.to_json(recs, pool_mode))
    elif output == "yaml":
        sys.stdout.write(report.to_yaml(recs, pool_mode))
    elif output == "csv":
        sys.stdout.write(report.to_csv(recs))
    elif output == "kubectl":
        for rec in recs:
            if rec.changed:
                click.echo(report.kubectl_line(rec, pool_mode))
    else:
        objective = (
            "explicit costs" if settings.objective.explicit_costs
            else f"cold starts <= {max_cold_start_rate:.2%}"
        )  # fmt: skip
        report.print_table(recs, pool_mode, objective)


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
    callback=_positive,
    help="Seconds from a bind request to a usable slot.",
)
@click.option(
    "--release-interval",
    type=float,
    default=120.0,
    show_default=True,
    callback=_positive,
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
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
