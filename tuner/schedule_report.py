"""What ``apply --schedule`` and ``switch`` print: a table, or the record as a document.

``switch``'s record has, per node and mode with a schedule annotation: the block in
force (for a node it wrote or left as it was), the pair before and after, and the
outcome (``changed: block 02:00-06:00``, ``unchanged: block ...``, ``skipped: <why>``,
``would-change: ...`` in a dry run, ``failed: <why>``). ``apply --schedule``'s has the
blocks before and after (:meth:`tuner.stored_schedules.ScheduleChange.as_dict`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from pool_engine.config import Mode, Targets
from tuner.columns import Column, Columns, CsvRows, print_lines, stdout_console
from tuner.stored_schedules import ScheduleChange, describe
from tuner.switcher import Switch

SWITCH_CSV = ("node", "mode", "outcome", "before_min_warm", "before_max_warm",
              "after_min_warm", "after_max_warm", "retries")  # fmt: skip
SCHEDULE_CSV = ("node", "mode", "outcome", "before", "after")


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


def print_switches(
    switches: Sequence[Switch], when: str, dry_run: bool, wide: bool = False
) -> None:
    """``switch -o table`` (``wide``: with the retries of each write)."""
    names = ["node", "mode", "before", "after", "outcome"] + (["retries"] if wide else [])
    table = Columns([Column(n, right=n == "retries") for n in names])
    for s in switches:
        c = s.change
        cells = [c.node, s.mode.value, _pair(c.before), _pair(c.after), c.outcome]
        table.add(*cells, *([str(c.retries)] if wide else []))
    title = f"Schedule switches at {when}" + (" (dry run: nothing written)" if dry_run else "")
    print_lines(stdout_console(), [title, *table.lines()])


def switches_to_csv(switches: Sequence[Switch]) -> str:
    """``switch -o csv``: one row per node and mode; an empty cell where there was no pair."""
    out = io.StringIO()
    writer = CsvRows(out)
    writer.writerow(SWITCH_CSV)
    for s in switches:
        c, b, a = s.change, s.change.before, s.change.after
        writer.writerow([
            c.node, s.mode.value, c.outcome, b.min_warm if b else "", b.max_warm if b else "",
            a.min_warm if a else "", a.max_warm if a else "", c.retries,
        ])  # fmt: skip
    return out.getvalue()


def schedules_as_dicts(changes: Sequence[ScheduleChange]) -> list[dict[str, Any]]:
    return [c.as_dict() for c in changes]


def print_schedules(changes: Sequence[ScheduleChange], dry_run: bool) -> None:
    """``apply --schedule -o table`` (and ``wide``: the blocks are the whole record)."""
    table = Columns([Column(n) for n in ("node", "mode", "before", "after", "outcome")])
    for c in changes:
        table.add(c.node, _mode(c.mode), describe(c.before), describe(c.after), c.outcome)
    title = "NEC schedules" + (" (dry run: nothing written)" if dry_run else "")
    print_lines(stdout_console(), [title, *table.lines()])


def schedules_to_csv(changes: Sequence[ScheduleChange]) -> str:
    """``apply --schedule -o csv``: one row per node, the blocks as the table shows them."""
    out = io.StringIO()
    writer = CsvRows(out)
    writer.writerow(SCHEDULE_CSV)
    for c in changes:
        writer.writerow([c.node, "" if c.mode is None else c.mode.value, c.outcome,
                         describe(c.before), describe(c.after)])  # fmt: skip
    return out.getvalue()


def _mode(mode: Mode | None) -> str:
    return "-" if mode is None else mode.value


def _pair(targets: Targets | None) -> str:
    return "-" if targets is None else f"{targets.min_warm}/{targets.max_warm}"


def _pair_dict(targets: Targets | None) -> dict[str, int] | None:
    return None if targets is None else {"min_warm": targets.min_warm, "max_warm": targets.max_warm}
