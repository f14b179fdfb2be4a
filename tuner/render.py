"""Human output of ``simulate`` and ``backtest``: tables and lines on stdout, CSV files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from pool_engine.simulator import SimulationResult, SimulationSettings
from pool_engine.tracefile import write_table
from tuner.backtest import Backtest

if TYPE_CHECKING:  # pyarrow loads where a table is read or written, not on import
    import pyarrow as pa

TIMELINE_HEADER = ("time", "node", "bound", "in_use", "waiting", "idle")


def write_timeline(path: Path, timeline: pa.Table) -> None:
    """The simulator's timeline as CSV time,node,bound,in_use,waiting,idle."""
    write_table(timeline.select(list(TIMELINE_HEADER)), path)


def print_simulation(result: SimulationResult, settings: SimulationSettings) -> None:
    mode = "quick" if settings.quick_release else "slow"
    hours = result.end / 3600.0
    table = Table(
        title=f"Replay of {hours:.2f} h, {mode} release every {settings.release_interval:g} s, "
        f"bind latency {settings.bind_latency:g} s",
        title_justify="left",
    )
    for name in (
        "node",
        "min/max",
        "pod starts",
        "cold starts",
        "wait p99 s",
        "wait max s",
        "idle avg",
        "bound avg/peak",
        "binds",
        "releases",
    ):
        table.add_column(name, justify="left" if name == "node" else "right", no_wrap=True)
    span = result.end if result.end > 0 else 1.0
    for node, s in result.nodes.items():
        table.add_row(node, f"{s['min_warm']}/{s['max_warm']}", *_cells(s, span))
    table.add_section()
    table.add_row("total", "", *_cells(result.total, span), style="bold")
    console = Console()
    if not console.is_terminal:
        console.width = 160
    console.print(table)


def _cells(s: dict[str, float | int], span: float) -> list[str]:
    starts = int(s["pod_starts"])
    cold = int(s["cold_starts"])
    rate = f"{100.0 * cold / starts:.2f}%" if starts else "-"
    return [
        f"{starts:,}",
        f"{cold:,} ({rate})",
        f"{s['wait_seconds_p99']:.2f}",
        f"{s['wait_seconds_max']:.2f}",
        f"{s['idle_slot_seconds'] / span:.2f}",
        f"{s['bound_slot_seconds'] / span:.2f}/{s['peak_bound']}",
        f"{s['bind_ops']:,}",
        f"{s['release_ops']:,}",
    ]


def backtest_totals(result: Backtest) -> str:
    """One line per set of targets: pod starts, cold starts, idle slot-hours."""
    return "".join(
        f"{name:>12}: {t['pod_starts']:,} pod starts, {t['cold_starts']:,} cold "
        f"({t['cold_start_rate']:.2%}), {t['idle_slot_hours']:,.1f} idle slot-hours\n"
        for name, t in result.totals.items()
    )
