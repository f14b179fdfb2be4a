"""The option groups only one command has: ``apply``'s guardrails, ``switch``'s
cluster and instant, ``backtest``'s files."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from kube_adapter.logs import LogFormat
from tuner.options import COUNT, HOURS, MAX_COUNT, Count, EnumChoice, option_group
from tuner.settings import ApplySettings, BacktestSettings, SwitchSettings
from tuner.window import parse_window

_KUBECONFIG = click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Kubeconfig file  [default: in-cluster config, then $KUBECONFIG or ~/.kube/config]",
)
_CONTEXT = click.option(
    "--context", help="Kubeconfig context to use  [default: its current-context]"
)


def writable(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """An output file whose directory exists and takes files: checked before the history
    is read and analysed, not after."""
    if value is None:
        return value
    if str(value) == "-":  # stdout carries the command's report
        raise click.BadParameter("'-': stdout carries the report; name a file")
    if value.is_dir():  # '' is '.'
        raise click.BadParameter(f"{str(value)!r} is a directory")
    folder = value.parent if str(value.parent) else Path(".")
    if not folder.is_dir():
        raise click.BadParameter(f"{value}: no such directory {str(folder)!r}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.BadParameter(f"{value}: directory {str(folder)!r} is not writable")
    return value


def build_apply(
    kubeconfig: Path | None,
    context: str | None,
    dry_run: bool,
    max_step: int | None,
    selector: str | None,
    min_history: float,
    max_changes: int,
    apply_borrowed: bool,
    rollback: bool,
    schedule: bool,
    log_format: LogFormat,
) -> ApplySettings:
    if schedule and max_step is not None:
        raise click.UsageError("--max-step does not apply to --schedule: drop one of them")
    return ApplySettings(
        kubeconfig=kubeconfig,
        context=context,
        dry_run=dry_run,
        max_step=max_step,
        selector=selector,
        min_history_hours=min_history,
        max_changes=max_changes,
        apply_borrowed=apply_borrowed,
        rollback=rollback,
        schedule=schedule,
        log_format=log_format,
    )


apply_options = option_group(
    "settings",
    build_apply,
    _KUBECONFIG,
    _CONTEXT,
    click.option(
        "--dry-run",
        is_flag=True,
        help="Validate every patch with the API server (dryRun=All), change nothing.",
    ),
    click.option(
        "--max-step",
        type=Count(1, MAX_COUNT),
        help="Move each target by at most this much per run.",
    ),
    click.option(
        "--selector",
        help="Only nodes whose NEC objects match this label selector (e.g. pool=batch).",
    ),
    click.option(
        "--min-history",
        type=HOURS,
        default=24.0,
        show_default=True,
        help="Leave nodes with fewer hours of history alone.",
    ),
    click.option(
        "--max-changes",
        type=COUNT,
        default=50,
        show_default=True,
        help="Change at most this many pools per run (a node of both pools counts twice), "
        "the most useful first, route-eni's before direct-eni's.",
    ),
    click.option(
        "--apply-borrowed",
        is_flag=True,
        help="Also write `borrowed` recommendations (nodes with little history of their own "
        "take the targets of similar nodes); by default they are shown, not written.",
    ),
    click.option(
        "--rollback",
        is_flag=True,
        help="Restore each NEC's pair from before the tuner's last write (recorded in "
        "eni-pool.io/previous-warm-targets, direct-eni's in eni-pool.io/previous-direct-eni-"
        "warm-targets), with the same guardrails and Events; reads "
        "no history.",
    ),
    click.option(
        "--schedule",
        is_flag=True,
        help="Store each node's time-of-day schedule in eni-pool.io/warm-schedule "
        "(direct-eni: eni-pool.io/direct-eni-warm-schedule) for `eni-tuner switch` to put "
        "in force; a node without one gets its all-day pair and no schedule. With "
        "--rollback: restore the recorded schedule.",
    ),
    click.option(
        "--log-format",
        type=EnumChoice(LogFormat),
        default=LogFormat.TEXT.value,
        show_default=True,
        help="Log lines on stderr as text, or as one JSON object each.",
    ),
)
"""Where and how ``apply`` writes."""


def _instant(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_window(value, datetime.now(UTC))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an RFC 3339 time") from None


def build_switch(
    kubeconfig: Path | None,
    context: str | None,
    dry_run: bool,
    selector: str | None,
    now: datetime | None,
    log_format: LogFormat,
) -> SwitchSettings:
    return SwitchSettings(kubeconfig, context, dry_run, selector, now, log_format)


switch_options = option_group(
    "settings",
    build_switch,
    _KUBECONFIG,
    _CONTEXT,
    click.option(
        "--dry-run",
        is_flag=True,
        help="Validate every patch with the API server (dryRun=All), change nothing.",
    ),
    click.option(
        "--selector",
        help="Only nodes whose NEC objects match this label selector (e.g. pool=batch).",
    ),
    click.option(
        "--now",
        callback=_instant,
        help="Put in force the blocks of this instant, read as --start is (RFC 3339, e.g. "
        "2025-01-06T02:30:00Z, UTC without an offset; or relative: -2h) [default: the clock]",
    ),
    click.option(
        "--log-format",
        type=EnumChoice(LogFormat),
        default=LogFormat.TEXT.value,
        show_default=True,
        help="Log lines on stderr as text, or as one JSON object each.",
    ),
)
"""Where and when ``switch`` writes."""


def build_backtest(
    recommended_file: Path | None,
    png_file: Path | None,
    html_file: Path | None,
    worst: int,
    schedule: bool,
) -> BacktestSettings:
    if schedule and recommended_file is not None:
        raise click.BadParameter(
            "--schedule recommends from the history; a --recommended file carries its own "
            "schedules (from_hour,to_hour rows)",
            param_hint="--schedule",
        )
    return BacktestSettings(recommended_file, png_file, html_file, worst, schedule)


backtest_options = option_group(
    "settings",
    build_backtest,
    click.option(
        "--recommended",
        "recommended_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Targets to test (CSV node,min_warm,max_warm, e.g. `recommend -o csv`)  "
        "[default: recommend from the same history]",
    ),
    click.option(
        "--png",
        "png_file",
        type=click.Path(dir_okay=False, path_type=Path),
        callback=writable,
        help="Write the headline and idle slots and cold starts per hour, for all nodes and "
        "for the nodes worth a look (the biggest savings, more cold starts, more idle), as a PNG.",
    ),
    click.option(
        "--html",
        "html_file",
        type=click.Path(dir_okay=False, path_type=Path),
        callback=writable,
        help="Write a self-contained HTML report: headline, the same figure and a sortable "
        "per-node table.",
    ),
    click.option(
        "--worst",
        type=Count(0, 10),
        default=3,
        show_default=True,
        help="Node panels of each kind: the nodes where the recommendation saves the most idle "
        "slot-hours, adds the most cold starts, adds the most idle slot-hours.",
    ),
    click.option(
        "--schedule",
        is_flag=True,
        help="Also replay each node's recommended schedule (targets by UTC hour of day, "
        "as `recommend --schedule`), next to the current and the all-day targets.",
    ),
)
"""What ``backtest`` tests and draws."""
