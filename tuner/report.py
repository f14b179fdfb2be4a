"""Recommendations as a table, documents (for JSON and YAML) and CSV (their `kubectl
annotate` lines: :mod:`tuner.kubectl_lines`); the changes of ``apply`` as a table or
documents."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any, assert_never

from pool_engine.config import Mode, Targets
from pool_engine.replay import NodeTargets
from tuner import kubectl_lines
from tuner.apply import Change
from tuner.columns import Cell, Column, Columns, CsvRows, print_lines, stdout_console
from tuner.recommendation import Expected, Recommendation, RecommendationStatus

CSV_FIELDS = (
    "node", "status", "current_min_warm", "current_max_warm", "min_warm", "max_warm",
    "cold_start_rate_before", "cold_start_rate_after", "idle_slots_before", "idle_slots_after",
    "history_hours", "pod_starts", "confidence", "reason", "mode",
)  # fmt: skip


def as_dicts(recs: Sequence[Recommendation], mode: Mode) -> list[dict[str, Any]]:
    return [
        {
            "node": r.node,
            "mode": mode.value,
            "min_warm": r.recommended.min_warm,
            "max_warm": r.recommended.max_warm,
            "status": r.status.value,
            "current": {"min_warm": r.current.min_warm, "max_warm": r.current.max_warm},
            "expected_before": None if r.before is None else r.before.to_json(),
            "expected_after": None if r.after is None else r.after.to_json(),
            "history_hours": round(r.history_hours, 3),
            "pod_starts": r.arrivals,
            "confidence": r.confidence,
            "lead_time_demand_p99": r.lead_time_demand_p99,
            "peak_hour": r.peak_hour,
            "reason": r.reason,
            "kubectl": kubectl_lines.command(r, mode),
        }
        for r in recs
    ]


def to_csv(recs: Sequence[Recommendation], mode: Mode, header: bool = True) -> str:
    """``recommend -o csv``: one row per node; ``header`` False: the rows alone (of a
    further pool)."""
    out = io.StringIO()
    writer = CsvRows(out)
    if header:
        writer.writerow(CSV_FIELDS)
    for r in recs:
        b, a = r.before, r.after
        writer.writerow([
            r.node, r.status.value, r.current.min_warm, r.current.max_warm, r.recommended.min_warm,
            r.recommended.max_warm, f"{b.cold_rate:.6f}" if b else "",
            f"{a.cold_rate:.6f}" if a else "", f"{b.idle_slots:.3f}" if b else "",
            f"{a.idle_slots:.3f}" if a else "", f"{r.history_hours:.3f}", r.arrivals,
            r.confidence, r.reason, mode.value,
        ])  # fmt: skip
    return out.getvalue()


Field = tuple[Column, Callable[[Recommendation], "str | Cell"]]
"""A column of the recommendations table and how a recommendation fills it."""


def _status(r: Recommendation) -> Cell:
    """The status, coloured on a terminal: green to change, yellow borrowed, dim unknown."""
    match r.status:
        case RecommendationStatus.RECOMMENDED:
            return Cell(r.status.value, "green")
        case RecommendationStatus.BORROWED:
            return Cell(r.status.value, "yellow")
        case RecommendationStatus.INSUFFICIENT_HISTORY:
            return Cell(r.status.value, "dim")
        case RecommendationStatus.UNCHANGED:
            return Cell(r.status.value)
        case _:
            assert_never(r.status)


def _pair(t: NodeTargets | Targets) -> str:
    """``5/5``; targets by hour of day: ``schedule``."""
    if isinstance(t, NodeTargets) and t.schedule is not None:
        return "schedule"
    return f"{t.min_warm}/{t.max_warm}"


def _targets(r: Recommendation) -> str:
    """``5/5 -> 3/3`` for a change (a borrowed one too), ``5/5`` for targets kept."""
    return f"{_pair(r.current)} -> {_pair(r.recommended)}" if r.changed else _pair(r.current)


def _change(r: Recommendation, value: Callable[[Expected], str]) -> str:
    """Before -> after of a replayed figure; the figure alone when the targets stay, an
    unknown after (``?``) when the pair was not replayed (borrowed), ``-`` with no history."""
    if r.before is None:
        return "-"
    if not r.changed:
        return value(r.before)
    return f"{value(r.before)} -> {value(r.after) if r.after is not None else '?'}"


COMPACT: tuple[Field, ...] = (
    (Column("node"), lambda r: r.node),
    (Column("min/max warm"), _targets),
    (Column("idle slots"), lambda r: _change(r, lambda e: f"{e.idle_slots:.1f}")),
    (Column("cold starts"), lambda r: _change(r, lambda e: f"{e.cold_rate:.2%}")),
    (Column("status"), _status),
)
"""The default table: fits 100 columns with node names of up to ~25 characters."""
WIDE: tuple[Field, ...] = (
    *COMPACT,
    (Column("history", right=True), lambda r: f"{r.history_hours:.1f} h"),
    (Column("pod starts", right=True), lambda r: f"{r.arrivals:,}"),
    (Column("confidence", right=True), lambda r: f"{r.confidence:.2f}"),
    (Column("reason"), lambda r: r.reason),
)
"""``-o wide``: everything, with the reason of each node."""


def recommendation_columns(recs: Sequence[Recommendation], fields: Sequence[Field]) -> Columns:
    """The recommendations as a table of ``fields`` (one row per node)."""
    table = Columns([column for column, _ in fields])
    for r in recs:
        table.add(*(cell(r) for _, cell in fields))
    return table


def print_table(
    recs: Sequence[Recommendation], mode: Mode, objective: str, fields: Sequence[Field] = COMPACT
) -> None:
    """``recommend -o table`` (``fields=WIDE``: ``-o wide``): title, table, kubectl lines."""
    console = stdout_console()
    print_lines(console, [f"Warm-pool recommendations ({objective})"])
    print_lines(console, recommendation_columns(recs, fields).lines())
    print_lines(console, kubectl_lines.under_table(recs, mode))


def changes_as_dicts(changes: Sequence[Change]) -> list[dict[str, Any]]:
    def pair(t: Any) -> dict[str, int] | None:
        return None if t is None else {"min_warm": t.min_warm, "max_warm": t.max_warm}

    return [
        {
            "node": c.node,
            "mode": None if c.mode is None else c.mode.value,
            "outcome": c.outcome,
            "before": pair(c.before),
            "after": pair(c.after),
            "retries": c.retries,
        }
        for c in changes
    ]


def _outcome(c: Change) -> Cell:
    return Cell(c.outcome, "red" if c.failed() else "")


CHANGE_COMPACT: tuple[tuple[Column, Callable[[Change], str | Cell]], ...] = (
    (Column("node"), lambda c: c.node),
    (Column("mode"), lambda c: "-" if c.mode is None else c.mode.value),
    (Column("before"), lambda c: _pair(c.before) if c.before else "-"),
    (Column("after"), lambda c: _pair(c.after) if c.after else "-"),
    (Column("outcome"), _outcome),
)
"""``apply -o table``."""
CHANGE_WIDE = (*CHANGE_COMPACT, (Column("retries", right=True), lambda c: str(c.retries)))
"""``apply -o wide``: also how often a write was read again after a conflict."""
CHANGE_CSV = ("node", "mode", "outcome", "before_min_warm", "before_max_warm", "after_min_warm",
              "after_max_warm", "retries")  # fmt: skip


def print_changes(
    changes: Sequence[Change],
    dry_run: bool,
    fields: Sequence[tuple[Column, Callable[[Change], str | Cell]]] = CHANGE_COMPACT,
) -> None:
    """``apply -o table`` (``fields=CHANGE_WIDE``: ``-o wide``)."""
    table = Columns([column for column, _ in fields])
    for c in changes:
        table.add(*(cell(c) for _, cell in fields))
    title = "NEC changes (dry run: nothing written)" if dry_run else "NEC changes"
    console = stdout_console()
    print_lines(console, [title, *table.lines()])


def changes_to_csv(changes: Sequence[Change]) -> str:
    """``apply -o csv``: one row per node; an empty cell where there was no pair."""
    out = io.StringIO()
    writer = CsvRows(out)
    writer.writerow(CHANGE_CSV)
    for c in changes:
        b, a = c.before, c.after
        writer.writerow([
            c.node, "" if c.mode is None else c.mode.value, c.outcome,
            b.min_warm if b else "", b.max_warm if b else "",
            a.min_warm if a else "", a.max_warm if a else "", c.retries,
        ])  # fmt: skip
    return out.getvalue()
