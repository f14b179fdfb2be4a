"""``eni-tuner``: command-line entry. Parsing and printing only; the work lives elsewhere.

Exit codes: 0 success; 2 bad input (usage, trace or targets file), printed as one
line on stderr; 1 an unexpected failure.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from pool_engine.errors import InputError
from pool_engine.overrides import load_overrides
from pool_engine.simulator import NodeTargets, SimulationSettings, simulate
from pool_engine.trace import load_trace
from tuner import render


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
      simulate   replay a churn trace through the pool policy and report
                 cold starts, waits and idle slot-seconds per node
    """


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
