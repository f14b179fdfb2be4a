"""Recommendations as a table, documents (for JSON and YAML), CSV and ready
`kubectl annotate` lines; the changes of ``apply`` as a table or documents."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from pool_engine.config import MAX_WARM_KEY, MIN_WARM_KEY, Mode
from tuner.apply import Change
from tuner.recommendation import Expected, Recommendation, RecommendationStatus

CSV_FIELDS = (
    "node", "status", "current_min_warm", "current_max_warm", "min_warm", "max_warm",
    "cold_start_rate_before", "cold_start_rate_after", "idle_slots_before", "idle_slots_after",
    "history_hours", "pod_starts", "confidence", "reason",
)  # fmt: skip


def kubectl_line(rec: Recommendation, mode: Mode) -> str:
    """The `kubectl annotate` command that sets ``rec``'s targets."""
    return (
        f"kubectl annotate nec {rec.node} "
        f"{MIN_WARM_KEY[mode]}={rec.recommended.min_warm} "
        f"{MAX_WARM_KEY[mode]}={rec.recommended.max_warm} --overwrite"
    )


def writes(rec: Recommendation) -> bool:
    """Whether ``apply`` writes ``rec`` by default: a change of the node's own history.
    A ``borrowed`` pair (little history of its own) is shown, and written only with
    ``apply --apply-borrowed``; kubectl lines follow the same rule."""
    return rec.changed and rec.status is RecommendationStatus.RECOMMENDED


def _expected(e: Expected | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {
        "pod_starts": e.pod_starts,
        "cold_starts": e.cold_starts,
        "cold_start_rate": round(e.cold_rate, 6),
        "idle_slot_seconds": round(e.idle_slot_seconds, 3),
        "idle_slots_avg": round(e.idle_slots, 3),
    }


def as_dicts(recs: Sequence[Recommendation], mode: Mode) -> list[dict[str, Any]]:
    return [
        {
            "node": r.node,
            "min_warm": r.recommended.min_warm,
            "max_warm": r.recommended.max_warm,
            "status": r.status.value,
            "current": {"min_warm": r.current.min_warm, "max_warm": r.current.max_warm},
            "expected_before": _expected(r.before),
            "expected_after": _expected(r.after),
            "history_hours": round(r.history_hours, 3),
            "pod_starts": r.arrivals,
            "confidence": r.confidence,
            "lead_time_demand_p99": r.lead_time_demand_p99,
            "peak_hour": r.peak_hour,
            "reason": r.reason,
            "kubectl": kubectl_line(r, mode) if writes(r) else None,
        }
        for r in recs
    ]


def to_kubectl(recs: Sequence[Recommendation], mode: Mode) -> str:
    """One `kubectl annotate` line per node to change; a borrowed pair as a comment."""
    return "".join(_kubectl_or_comment(r, mode) for r in recs if r.changed)


def _kubectl_or_comment(rec: Recommendation, mode: Mode) -> str:
    if writes(rec):
        return kubectl_line(rec, mode) + "\n"
    return f"# {rec.node}: borrowed from similar nodes, not applied by default: {rec.reason}\n"


def to_csv(recs: Sequence[Recommendation]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for r in recs:
        b, a = r.before, r.after
        writer.writerow([
            r.node, r.status.value, r.current.min_warm, r.current.max_warm, r.recommended.min_warm,
            r.recommended.max_warm, f"{b.cold_rate:.6f}" if b else "",
            f"{a.cold_rate:.6f}" if a else "", f"{b.idle_slots:.3f}" if b else "",
            f"{a.idle_slots:.3f}" if a else "", f"{r.history_hours:.3f}", r.arrivals,
            r.confidence, r.reason,
        ])  # fmt: skip
    return out.getvalue()


def print_table(recs: Sequence[Recommendation], mode: Mode, objective: str) -> None:
    table = Table(title=f"Warm-pool recommendations ({objective})", title_justify="left")
    for name in ("node", "current", "recommended", "cold starts before -> after",
                 "idle slots before -> after", "history", "confidence", "reason"):  # fmt: skip
        table.add_column(name, no_wrap=name != "reason")
    for r in recs:
        b, a = r.before, r.after
        table.add_row(
            r.node,
            f"{r.current.min_warm}/{r.current.max_warm}",
            f"{r.recommended.min_warm}/{r.recommended.max_warm}" if r.after else "-",
            f"{b.cold_rate:.2%} -> {a.cold_rate:.2%}" if b and a else "-",
            f"{b.idle_slots:.1f} -> {a.idle_slots:.1f}" if b and a else "-",
            f"{r.history_hours:.1f} h, {r.arrivals:,} starts",
            f"{r.confidence:.2f}",
            r.reason,
        )
    console = Console()
    if not console.is_terminal:
        console.width = 200
    console.print(table)
    lines = [kubectl_line(r, mode) for r in recs if writes(r)]
    if lines:
        console.print(f"\n# apply with `eni-tuner apply`, or by hand ({len(lines)} node(s)):")
        for line in lines:
            console.print(line, markup=False, highlight=False, soft_wrap=True)


def changes_as_dicts(changes: Sequence[Change]) -> list[dict[str, Any]]:
    def pair(t: Any) -> dict[str, int] | None:
        return None if t is None else {"min_warm": t.min_warm, "max_warm": t.max_warm}

    return [
        {
            "node": c.node,
            "outcome": c.outcome,
            "before": pair(c.before),
            "after": pair(c.after),
            "retries": c.retries,
        }
        for c in changes
    ]


def print_changes(changes: Sequence[Change], dry_run: bool) -> None:
    title = "NEC changes (dry run: nothing written)" if dry_run else "NEC changes"
    table = Table(title=title, title_justify="left")
    for name in ("node", "before", "after", "outcome"):
        table.add_column(name, no_wrap=True)
    for c in changes:
        before = f"{c.before.min_warm}/{c.before.max_warm}" if c.before else "-"
        after = f"{c.after.min_warm}/{c.after.max_warm}" if c.after else "-"
        table.add_row(c.node, before, after, c.outcome)
    console = Console()
    if not console.is_terminal:
        console.width = 160
    console.print(table)
