"""Output formats (``-o``) and, per command, the renderer of each format it offers.

A renderer writes the command's report to stdout; with ``json`` or ``yaml`` the
document alone (logs and progress go to stderr).
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, assert_never

import yaml

from tuner import kubectl_lines, render, report, schedule_render, schedule_report
from tuner.backtest import Backtest
from tuner.pipeline import ApplyReport, RecommendReport, ScheduleReport, SimulationReport
from tuner.schedule_pipeline import StoredScheduleReport, SwitchReport

R = TypeVar("R", RecommendReport, ScheduleReport)


class OutputFormat(enum.StrEnum):
    """What ``-o`` accepts; each command offers the formats its renderers table holds."""

    TABLE = "table"
    """For people: the few columns that matter, as kubectl prints them."""
    WIDE = "wide"
    """For people: every column, with the reason of each row."""
    JSON = "json"
    """The command's document, alone on stdout."""
    YAML = "yaml"
    """The same document as YAML."""
    CSV = "csv"
    """One row per node (per set of targets for ``backtest``), with a header."""
    KUBECTL = "kubectl"
    """Ready `kubectl annotate` lines for the nodes to change (``recommend``)."""

    def help(self) -> str:
        """What ``-o`` of this value prints, in a few words (for ``--help``)."""
        match self:
            case OutputFormat.TABLE:
                return "table: the main columns"
            case OutputFormat.WIDE:
                return "wide: every column"
            case OutputFormat.JSON | OutputFormat.YAML:
                return f"{self.value}: the document alone on stdout"
            case OutputFormat.CSV:
                return "csv: one row per node"
            case OutputFormat.KUBECTL:
                return "kubectl: annotate commands to pipe into sh"
            case _:
                assert_never(self)


def output_help(formats: Iterable[OutputFormat], csv_rows: str | None = None) -> str:
    """The one help text of ``-o``: the same words for a format in every command (but
    what a CSV row is, ``csv_rows``, where it is not a node)."""
    words = [f"csv: one row per {csv_rows}" if f is OutputFormat.CSV and csv_rows else f.help()
             for f in formats]  # fmt: skip
    return "Output format; " + "; ".join(words) + "."


def _text(text: str) -> None:
    sys.stdout.write(text)


def _json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, allow_nan=False) + "\n")


def _yaml(document: Any) -> None:
    sys.stdout.write(str(yaml.safe_dump(document, sort_keys=False)))


def _pools(reports: Sequence[R], table: Callable[[R, str], None]) -> None:
    """The table of each pool in turn, a blank line between; with several, each title
    names its pool."""
    for k, one in enumerate(reports):
        if k:
            sys.stdout.write("\n")
        pool = _recommend(one)
        label = f"{pool.objective}; {pool.mode.value}" if len(reports) > 1 else pool.objective
        table(one, label)


def _recommend(one: RecommendReport | ScheduleReport) -> RecommendReport:
    return one.recommend if isinstance(one, ScheduleReport) else one


def _documents(reports: Sequence[RecommendReport]) -> list[dict[str, Any]]:
    return [d for r in reports for d in report.as_dicts(r.recommendations, r.mode)]


def _schedule_documents(reports: Sequence[ScheduleReport]) -> list[dict[str, Any]]:
    return [d for r in reports
            for d in schedule_render.documents(r.recommend.recommendations, r.schedules,
                                               r.recommend.mode)]  # fmt: skip


RECOMMEND: Mapping[OutputFormat, Callable[[Sequence[RecommendReport]], None]] = {
    OutputFormat.TABLE: lambda rs: _pools(
        rs, lambda r, title: report.print_table(r.recommendations, r.mode, title)
    ),
    OutputFormat.WIDE: lambda rs: _pools(
        rs, lambda r, title: report.print_table(r.recommendations, r.mode, title, report.WIDE)
    ),
    OutputFormat.JSON: lambda rs: _json(_documents(rs)),
    OutputFormat.YAML: lambda rs: _yaml(_documents(rs)),
    OutputFormat.CSV: lambda rs: _text(
        "".join(report.to_csv(r.recommendations, r.mode, header=k == 0) for k, r in enumerate(rs))
    ),
    OutputFormat.KUBECTL: lambda rs: _text(
        "".join(kubectl_lines.to_kubectl(r.recommendations, r.mode) for r in rs)
    ),
}
"""``recommend``: each format over the report of every pool analysed (one, or every
pool of a trace)."""
RECOMMEND_SCHEDULE: Mapping[OutputFormat, Callable[[Sequence[ScheduleReport]], None]] = {
    OutputFormat.TABLE: lambda rs: _pools(
        rs,
        lambda r, title: schedule_render.print_table(
            r.recommend.recommendations, r.schedules, title, r.display
        ),
    ),
    OutputFormat.WIDE: lambda rs: _pools(
        rs,
        lambda r, title: schedule_render.print_table(
            r.recommend.recommendations, r.schedules, title, r.display, wide=True
        ),
    ),
    OutputFormat.JSON: lambda rs: _json(_schedule_documents(rs)),
    OutputFormat.YAML: lambda rs: _yaml(_schedule_documents(rs)),
    OutputFormat.CSV: lambda rs: _text(
        "".join(
            schedule_render.to_csv(
                r.recommend.recommendations, r.schedules, r.recommend.mode, header=k == 0
            )
            for k, r in enumerate(rs)
        )
    ),
    OutputFormat.KUBECTL: lambda rs: _text(
        "".join(
            schedule_render.to_kubectl(r.recommend.recommendations, r.schedules, r.recommend.mode)
            for r in rs
        )
    ),
}
"""``recommend --schedule``: the same formats, each node with its schedule."""
APPLY: Mapping[OutputFormat, Callable[[ApplyReport], None]] = {
    OutputFormat.TABLE: lambda r: report.print_changes(r.changes, r.dry_run),
    OutputFormat.WIDE: lambda r: report.print_changes(r.changes, r.dry_run, report.CHANGE_WIDE),
    OutputFormat.JSON: lambda r: _json(report.changes_as_dicts(r.changes)),
    OutputFormat.YAML: lambda r: _yaml(report.changes_as_dicts(r.changes)),
    OutputFormat.CSV: lambda r: _text(report.changes_to_csv(r.changes)),
}
APPLY_SCHEDULE: Mapping[OutputFormat, Callable[[StoredScheduleReport], None]] = {
    OutputFormat.TABLE: lambda r: schedule_report.print_schedules(r.changes, r.dry_run),
    OutputFormat.WIDE: lambda r: schedule_report.print_schedules(r.changes, r.dry_run),
    OutputFormat.JSON: lambda r: _json(schedule_report.schedules_as_dicts(r.changes)),
    OutputFormat.YAML: lambda r: _yaml(schedule_report.schedules_as_dicts(r.changes)),
    OutputFormat.CSV: lambda r: _text(schedule_report.schedules_to_csv(r.changes)),
}
SWITCH: Mapping[OutputFormat, Callable[[SwitchReport], None]] = {
    OutputFormat.TABLE: lambda r: schedule_report.print_switches(
        r.switches, r.now.isoformat(), r.dry_run
    ),
    OutputFormat.WIDE: lambda r: schedule_report.print_switches(
        r.switches, r.now.isoformat(), r.dry_run, wide=True
    ),
    OutputFormat.JSON: lambda r: _json(schedule_report.switches_as_dicts(r.switches)),
    OutputFormat.YAML: lambda r: _yaml(schedule_report.switches_as_dicts(r.switches)),
    OutputFormat.CSV: lambda r: _text(schedule_report.switches_to_csv(r.switches)),
}
BACKTEST: Mapping[OutputFormat, Callable[[Backtest], None]] = {
    OutputFormat.TABLE: lambda r: _text(render.backtest_totals(r)),
    OutputFormat.WIDE: render.print_backtest_wide,
    OutputFormat.JSON: lambda r: _json(r.totals),
    OutputFormat.YAML: lambda r: _yaml(r.totals),
    OutputFormat.CSV: lambda r: _text(render.backtest_csv(r)),
}
SIMULATE: Mapping[OutputFormat, Callable[[SimulationReport], None]] = {
    OutputFormat.TABLE: lambda r: render.print_simulation(r.result, r.settings),
    OutputFormat.WIDE: lambda r: render.print_simulation(r.result, r.settings, render.SIM_WIDE),
    OutputFormat.JSON: lambda r: _json(r.result.to_json()),
    OutputFormat.YAML: lambda r: _yaml(r.result.to_json()),
    OutputFormat.CSV: lambda r: _text(render.simulation_csv(r.result)),
}
