"""``eni-tuner``: command-line entry. Parsing and printing only; the work is in
:mod:`tuner.pipeline`, the settings in :mod:`tuner.settings`.

Exit codes: 0 success (a node without enough history is a result, not a failure);
1 an unexpected failure; 2 bad input (usage, trace or targets file), printed as one
line on stderr; 3 the history source (Prometheus) could not be read; 4 the Kubernetes
API could not be reached or refused a request (docs/contracts/cli.md).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from kube_adapter.logs import LogFormat, LogLevel, error_line, setup
from pool_engine.errors import PoolEngineError
from pool_engine.tracecheck import MAX_SECONDS
from tuner import output as renderers
from tuner import pipeline, schedule_pipeline
from tuner.command_options import apply_options, backtest_options, switch_options, writable
from tuner.history_options import history_options, required
from tuner.options import HOURS, Finite, objective_options, output_option, replay_options
from tuner.output import OutputFormat
from tuner.settings import (
    ApplySettings,
    BacktestSettings,
    ObjectiveSettings,
    ReplaySettings,
    SwitchSettings,
)
from tuner.sources import HistorySource


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="eni-pool")
def cli() -> None:
    """Size per-node ENI/IP warm pools from pod churn.

    \b
    Exit codes: 0 success; 1 unexpected failure; 2 bad input;
                3 history source unreachable; 4 Kubernetes API unreachable or refused.
    """


_ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]{1,30}(/[A-Za-z0-9_+-]{1,30}){0,2}")
"""The shape of every tz database name (Etc/GMT+8, America/Argentina/Buenos_Aires); a
name of another shape is no zone, and zoneinfo would look for its file (a name too
long for one, a path too deep to search, a traceback either way)."""


def _zone(ctx: click.Context, param: click.Parameter, value: str) -> ZoneInfo:
    """An IANA time zone name (``--timezone``)."""
    try:
        if not _ZONE_NAME.fullmatch(value):
            raise ValueError(value)
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)"
        ) from None


@cli.command()
@history_options
@replay_options
@objective_options
@click.option(
    "--min-history",
    type=HOURS,
    default=1.0,
    show_default=True,
    help="Hours of a node's own history below which it keeps its targets.",
)
@click.option(
    "--schedule",
    is_flag=True,
    help="Also a schedule per node: targets by UTC hour of day in blocks, fitted on up to "
    "14 days (a day at least), checked on held-back days; the all-day pair stays the "
    "fallback (forecast only: nothing is applied).",
)
@click.option(
    "--timezone",
    "zone",
    default="UTC",
    show_default=True,
    callback=_zone,
    help="IANA time zone the table shows a schedule's hours in (JSON and CSV stay UTC).",
)
@output_option(renderers.RECOMMEND)
def recommend(
    source: HistorySource | None,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    min_history: float,
    schedule: bool,
    zone: ZoneInfo,
    output: OutputFormat,
) -> None:
    """Recommend per-node min/max warm targets from pod churn history.

    Each node's history is replayed through the pool policy under candidate targets;
    the cheapest pair that keeps the cold-start rate under the objective wins, checked
    on days the choice did not see (a change that would do harm is held back), never
    above the node's max-attach and, for TKE, never below 1. A few pod starts over a
    long history is a quiet node; only a short history is too little. Start rows at
    the history's first instant are pods that already existed.

    \b
    Examples:
      eni-tuner recommend --trace churn.csv
      eni-tuner recommend --trace churn.csv --max-cold-start-rate 0.5% -o json
      eni-tuner recommend --trace churn.csv -o kubectl | sh
      eni-tuner recommend --trace churn.csv --schedule --timezone Europe/Berlin
    """
    explicit = click.get_current_context().get_parameter_source("zone")
    if not schedule and explicit is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError("--timezone shows a schedule's hours: it needs --schedule")
    _logs(LogFormat.TEXT)
    if schedule:
        pipeline.recommend_schedules(required(source), replay, objective, min_history, zone,
                                     renderers.RECOMMEND_SCHEDULE[output])  # fmt: skip
        return
    pipeline.recommend(
        required(source), replay, objective, min_history, renderers.RECOMMEND[output]
    )


@cli.command()
@history_options
@replay_options
@objective_options
@apply_options
@output_option(renderers.APPLY)
def apply(
    source: HistorySource | None,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    settings: ApplySettings,
    output: OutputFormat,
) -> None:
    """Write recommendations as NEC annotations, within guardrails.

    Both keys of a pair go in one merge patch, guarded by the NEC's resourceVersion
    (a concurrent edit is read again and re-planned, never overwritten), with the
    previous values and time recorded in the annotation eni-pool.io/previous-warm-targets
    (direct-eni: eni-pool.io/previous-direct-eni-warm-targets) and one Kubernetes Event
    per change. A NEC annotated eni-pool.io/tuner-opt-out=true
    is left alone. A second run on the same history changes nothing. Built for a CronJob.

    \b
    Examples:
      eni-tuner apply --trace churn.csv --dry-run
      eni-tuner apply --trace churn.csv --max-step 2 --selector pool=batch -o json
      eni-tuner apply --rollback --selector pool=batch
      eni-tuner apply --trace churn.csv --schedule --dry-run
    """
    _logs(settings.log_format)
    if settings.rollback and source is not None:
        raise click.UsageError("--rollback reads no history: drop --trace/--prometheus-url")
    if not settings.rollback:
        source = required(source)
    if settings.schedule:
        schedule_pipeline.apply_schedules(
            source, replay, objective, settings, renderers.APPLY_SCHEDULE[output]
        )
        return
    pipeline.apply(source, replay, objective, settings, renderers.APPLY[output])


@cli.command(short_help="Put in force the pair of each stored schedule's block (a CronJob).")
@switch_options
@output_option(renderers.SWITCH)
def switch(settings: SwitchSettings, output: OutputFormat) -> None:
    """Put in force the pair of each stored schedule's block (run every few minutes).

    For every NEC with a valid eni-pool.io/warm-schedule (direct-eni:
    eni-pool.io/direct-eni-warm-schedule, both stored by `apply --schedule`), sets the
    pair of the block in force at --now: both keys in one patch guarded by the NEC's
    resourceVersion, capped at the node's max-attach, with an Event per switch. A pair
    already in force is left alone. Opt-out and --selector hold; nothing is analysed,
    so --min-history and --max-changes do not apply. An invalid schedule leaves its
    node as it is (Warning Event, log line) and the run ends with exit 2 naming it.

    \b
    Examples:
      eni-tuner switch --dry-run
      eni-tuner switch --selector pool=batch -o json
      eni-tuner switch --now 2025-01-06T02:30:00Z --dry-run
    """
    _logs(settings.log_format)
    schedule_pipeline.switch(settings, renderers.SWITCH[output])


@cli.command(short_help="Replay the history under the current and the recommended targets.")
@history_options
@replay_options
@objective_options
@backtest_options
@output_option(renderers.BACKTEST, "set of targets (the totals; per node: -o wide)")
def backtest(
    source: HistorySource | None,
    replay: ReplaySettings,
    objective: ObjectiveSettings,
    settings: BacktestSettings,
    output: OutputFormat,
) -> None:
    """Replay the history under the current and the recommended targets.

    Prints the headline (idle slot-hours saved, cold starts before -> after) and the
    totals of both. --png draws them hour by hour for the whole cluster and for the
    nodes where the recommendation saves the most idle, adds cold starts or adds the
    most idle; --html
    adds a per-node table that sorts by a click on its headers. Needs at least an
    hour of history (less: exit 3).

    \b
    Examples:
      eni-tuner backtest --trace churn.csv --png backtest.png
      eni-tuner recommend --trace first-week.csv -o csv > rec.csv
      eni-tuner backtest --trace second-week.csv --recommended rec.csv --html report.html
    """
    _logs(LogFormat.TEXT)
    pipeline.backtest(required(source), replay, objective, settings, renderers.BACKTEST[output])


@cli.command("simulate", short_help="Replay a churn trace: cold starts, waits, idle slots.")
@click.argument("trace", type=click.Path(dir_okay=False, path_type=Path))
@replay_options
@click.option(
    "--count-from",
    type=Finite(min=0, max=MAX_SECONDS),
    default=0.0,
    help="Count statistics from this many seconds on (the replay still starts at 0): "
    "score the second half of a trace in place.",
)
@click.option(
    "--timeline",
    "timeline_file",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=writable,
    help="Also write CSV time,node,bound,in_use,waiting,idle at every change.",
)
@output_option(renderers.SIMULATE)
def simulate_cmd(
    trace: Path, replay: ReplaySettings, timeline_file: Path | None, output: OutputFormat,
    count_from: float,
) -> None:  # fmt: skip
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
    _logs(LogFormat.TEXT)
    pipeline.simulate(trace, replay, timeline_file, renderers.SIMULATE[output], count_from)


def main() -> None:
    """Console-script entry: every failure is one line ``error: <message>`` on stderr
    and the exit code of docs/contracts/cli.md (click's usage errors exit 2, ours carry
    their own)."""
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


def _logs(fmt: LogFormat) -> None:
    """INFO and up on stderr; a plain line is the message alone (this is a CLI)."""
    setup(fmt, LogLevel.INFO, text="%(message)s")


if __name__ == "__main__":
    main()
