"""Human output of ``simulate`` and ``backtest``: tables and lines on stdout, CSV files."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pool_engine.replay import SimulationSettings
from pool_engine.simulator import SimulationResult
from pool_engine.tracefile import write_table
from tuner.backtest_result import Backtest
from tuner.columns import Column, Columns, CsvRows, print_lines, stdout_console

if TYPE_CHECKING:  # pyarrow loads where a table is read or written, not on import
    import pyarrow as pa

TIMELINE_HEADER = ("time", "node", "bound", "in_use", "waiting", "idle")


def write_timeline(path: Path, timeline: pa.Table) -> None:
    """The simulator's timeline as CSV time,node,bound,in_use,waiting,idle."""
    write_table(timeline.select(list(TIMELINE_HEADER)), path)


SimField = tuple[Column, Callable[[dict[str, Any], float], str]]
"""A column of the simulation table and how a node's (or the total's) figures fill it,
given the replay's length in seconds."""


def _cold(s: dict[str, Any], span: float) -> str:
    starts, cold = int(s["pod_starts"]), int(s["cold_starts"])
    return f"{cold:,} ({100.0 * cold / starts:.2f}%)" if starts else f"{cold:,}"


SIM_COMPACT: tuple[SimField, ...] = (
    (Column("min/max", right=True), lambda s, _: f"{s['min_warm']}/{s['max_warm']}"
     if "min_warm" in s else ""),
    (Column("pod starts", right=True), lambda s, _: f"{int(s['pod_starts']):,}"),
    (Column("cold starts", right=True), _cold),
    (Column("wait p99 s", right=True), lambda s, _: f"{s['wait_seconds_p99']:.2f}"),
    (Column("idle avg", right=True), lambda s, span: f"{s['idle_slot_seconds'] / span:.2f}"),
)  # fmt: skip
"""``simulate -o table`` after the node column."""
SIM_WIDE: tuple[SimField, ...] = (
    *SIM_COMPACT,
    (Column("wait max s", right=True), lambda s, _: f"{s['wait_seconds_max']:.2f}"),
    (Column("bound avg/peak", right=True),
     lambda s, span: f"{s['bound_slot_seconds'] / span:.2f}/{s['peak_bound']}"),
    (Column("binds", right=True), lambda s, _: f"{s['bind_ops']:,}"),
    (Column("releases", right=True), lambda s, _: f"{s['release_ops']:,}"),
    (Column("ignored", right=True), lambda s, _: f"{s['ignored_events']:,}"),
)  # fmt: skip
"""``simulate -o wide``: every figure of the result."""
SIM_CSV = (
    "node", "min_warm", "max_warm", "pod_starts", "warm_hits", "cold_starts",
    "wait_seconds_sum", "wait_seconds_max", "wait_seconds_p99", "idle_slot_seconds",
    "bound_slot_seconds", "bind_ops", "release_ops", "peak_bound", "ignored_events",
)  # fmt: skip


def print_simulation(
    result: SimulationResult, settings: SimulationSettings, fields: Sequence[SimField] = SIM_COMPACT
) -> None:
    """``simulate -o table`` (``fields=SIM_WIDE``: ``-o wide``): a title, one row per
    node and the total."""
    mode = "quick" if settings.quick_release else "slow"
    title = (
        f"Replay of {result.end / 3600.0:.2f} h, {mode} release every "
        f"{settings.release_interval:g} s, bind latency {settings.bind_latency:g} s"
    )
    span = result.end if result.end > 0 else 1.0
    table = Columns([Column("node"), *(column for column, _ in fields)])
    for node, s in result.nodes.items():
        table.add(node, *(cell(s, span) for _, cell in fields))
    table.add("total", *(cell(result.total, span) for _, cell in fields), style="bold")
    print_lines(stdout_console(), [title, *table.lines()])


def simulation_csv(result: SimulationResult) -> str:
    """``simulate -o csv``: one row per node with every figure (totals: ``-o json``)."""
    out = io.StringIO()
    writer = CsvRows(out)
    writer.writerow(SIM_CSV)
    for node, s in result.nodes.items():
        row = {"node": node, **s}
        writer.writerow(row.get(column, "") for column in SIM_CSV)
    return out.getvalue()


def backtest_csv(result: Backtest) -> str:
    """``backtest -o csv``: one row per set of targets."""
    out = io.StringIO()
    writer = CsvRows(out)
    writer.writerow(BACKTEST_CSV)
    for name, t in result.totals.items():
        writer.writerow([name, *(t[field] for field in BACKTEST_CSV[1:])])
    return out.getvalue()


BACKTEST_CSV = ("targets", "pod_starts", "cold_starts", "cold_start_rate", "idle_slot_hours")


def print_backtest_wide(result: Backtest) -> None:
    """``backtest -o wide``: the totals, then one row per node: its targets, idle
    slot-hours and cold starts under each set of targets, and its status."""
    sys.stdout.write(backtest_totals(result) + "\n")
    names = [series.name for series in result.cluster]
    columns = [Column("node")]
    for name in names:
        columns += [Column(name), Column("idle h", right=True), Column("cold", right=True)]
    table = Columns([*columns, Column("status")])
    for row in result.nodes:
        cells = [row.node]
        for targets, outcome in zip(row.targets, row.outcomes, strict=True):
            cells += [targets, f"{outcome.idle_slot_hours:,.1f}", f"{outcome.cold_starts:,}"]
        table.add(*cells, row.status)
    print_lines(stdout_console(), table.lines())


def backtest_totals(result: Backtest) -> str:
    """The headline (idle slot-hours saved, cold starts before -> after), then one line
    per set of targets: pod starts, cold starts, idle slot-hours."""
    heads = "".join(f"{h.idle_text()}\n{h.cold_text()}\n\n" for h in result.headlines())
    return heads + "".join(
        f"{name:>12}: {t['pod_starts']:,} pod starts, {t['cold_starts']:,} cold "
        f"({t['cold_start_rate']:.2%}), {t['idle_slot_hours']:,.1f} idle slot-hours\n"
        for name, t in result.totals.items()
    )
