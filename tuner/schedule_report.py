"""What ``apply --schedule`` and ``switch`` print: a table, or the record as a document.

``switch``'s record has, per node and mode with a schedule annotation: the block in
force (for a node it wrote or left as it was), the pair before and after, and the
outcome (``changed: block 02:00-06:00``, ``unchanged: block ...``, ``skipped: <why>``,
``would-change: ...`` in a dry run, ``failed: <why>``). ``apply --schedule``'s has the
blocks before and after (:meth:`tuner.stored_schedules.ScheduleChange.as_dict`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from pool_engine.config import Targets
from tuner.stored_schedules import ScheduleChange, describe
from tuner.switcher import Switch


def switches_as_dicts(switches: Sequence[Switch]) -> list[dict[str, Any]]:
    return [
        {
            "node": s.change.node,
            "mode": s.mode.value,
            "outcome": s.change.outcome,
            "before": _pair_dict(s.change.before),
            "after": _pair_dict(s.change.after),
            "retries": s.change.retries,
        }
        for s in switches
    ]


def print_switches(switches: Sequence[Switch], when: str, dry_run: bool) -> None:
    title = f"Schedule switches at {when}" + (" (dry run: nothing written)" if dry_run else "")
    table = Table(title=title, title_justify="left")
    for name in ("node", "mode", "before", "after", "outcome"):
        table.add_column(name, no_wrap=name != "outcome")
    for s in switches:
        c = s.change
        table.add_row(c.node, s.mode.value, _pair(c.before), _pair(c.after), c.outcome)
    _print(table)


def schedules_as_dicts(changes: Sequence[ScheduleChange]) -> list[dict[str, Any]]:
    return [c.as_dict() for c in changes]


def print_schedules(changes: Sequence[ScheduleChange], dry_run: bool) -> None:
    title = "NEC schedules" + (" (dry run: nothing written)" if dry_run else "")
    table = Table(title=title, title_justify="left")
    for name in ("node", "before", "after", "outcome"):
        table.add_column(name)
    for c in changes:
        table.add_row(c.node, describe(c.before), describe(c.after), c.outcome)
    _print(table)


def _print(table: Table) -> None:
    console = Console()
    if not console.is_terminal:
        console.width = 160
    console.print(table)


def _pair(targets: Targets | None) -> str:
    return "-" if targets is None else f"{targets.min_warm}/{targets.max_warm}"


def _pair_dict(targets: Targets | None) -> dict[str, int] | None:
    return None if targets is None else {"min_warm": targets.min_warm, "max_warm": targets.max_warm}
