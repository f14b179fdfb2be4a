"""Per-node target overrides for the simulator: CSV ``node,min_warm,max_warm[,max_slots]``,
optionally with ``from_hour,to_hour`` (a schedule by UTC hour of day).

Every count is a decimal integer (ASCII digits, an optional sign) from 0 to
:data:`MAX_COUNT` (docs/contracts/trace.md, "Limits"). A node's rows are one row
without hours or rows that all have hours, covering each of the 24 hours exactly once
with one ``max_slots`` (docs/contracts/schedules.md); every refusal names the file,
the line and, for a schedule, the node.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pool_engine.config import Targets
from pool_engine.errors import TargetsError
from pool_engine.filekind import HEAD, foreign_kind
from pool_engine.replay import NodeTargets
from pool_engine.warm_schedule import Block, ScheduleProblem, WarmSchedule

REQUIRED = ("node", "min_warm", "max_warm")
HOUR_COLUMNS = ("from_hour", "to_hour")
MAX_COUNT = 2**31 - 1
"""The largest count a targets file may give: no node binds two billion slots."""
_INTEGER = re.compile(r"[+-]?[0-9]+")
_BLOCK = re.compile(r"block (\d+)")
T = TypeVar("T")


@dataclass(frozen=True)
class _Row:
    line: int
    targets: Targets
    slots: int | None
    hours: tuple[int, int] | None


def load_overrides(path: str | Path) -> dict[str, NodeTargets]:
    """Read a targets file; raise :class:`TargetsError` naming the line and problem."""
    name = str(path)
    try:
        with Path(path).open("rb") as source:
            head = source.read(HEAD)  # known before the rest: /dev/zero would never end
            kind = foreign_kind(head)
            if kind is not None:
                raise TargetsError(name, None, kind)
            data = head + source.read()
    except OSError as exc:
        raise TargetsError(name, None, exc.strerror or "cannot open") from None
    try:
        text = data.decode("utf-8-sig")  # a BOM is no part of the header
    except UnicodeDecodeError as bad:
        problem = f"not UTF-8 text (byte {data[bad.start]:#04x} at offset {bad.start})"
        raise TargetsError(name, None, problem) from None
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in _read(reader, name, lambda: reader.fieldnames) or []]
        reader.fieldnames = header
        for col in header:
            if col and header.count(col) > 1:  # which would hold? (blank ones are no columns)
                raise TargetsError(name, 1, f"column {col!r} appears twice")
        for col in REQUIRED:
            if col not in header:
                raise TargetsError(
                    name, 1, f"missing column {col!r} (need node,min_warm,max_warm[,max_slots])"
                )
        present = [col for col in HOUR_COLUMNS if col in header]
        if len(present) == 1:
            raise TargetsError(name, 1, "from_hour and to_hour go together: one without the other")
        rows: dict[str, list[_Row]] = {}
        while (raw := _read(reader, name, lambda: next(reader, None))) is not None:
            line = reader.line_num
            extra = raw.get(None)  # type: ignore[call-overload]  # DictReader's restkey
            if extra and any(v.strip() for v in extra):  # short rows and trailing commas pass
                fields = len(header) + len(extra)
                raise TargetsError(name, line, f"{fields} fields, the header has {len(header)}")
            node = (raw.get("node") or "").strip()
            if not node:
                raise TargetsError(name, line, "empty node name")
            try:
                row = _row(raw, name, line)
            except TargetsError as error:  # name the node too: a file holds many
                raise TargetsError(name, line, f"node {node!r}: {error.problem}") from None
            _check_with_earlier(node, row, rows.setdefault(node, []), name)
            rows[node].append(row)
    return {node: _node_targets(node, mine, name) for node, mine in rows.items()}


def _read(reader: csv.DictReader[str], name: str, read: Callable[[], T]) -> T:
    """``read()`` of the reader; a line the csv module cannot read (a field above its
    128 KiB limit) is refused naming the line."""
    try:
        return read()
    except csv.Error as error:
        raise TargetsError(name, reader.reader.line_num, f"unreadable CSV: {error}") from None


def _row(raw: dict[str, str | None], name: str, line: int) -> _Row:
    low = _count(raw.get("min_warm"), "min_warm", name, line)
    high = _count(raw.get("max_warm"), "max_warm", name, line)
    if low > high:
        raise TargetsError(name, line, f"min_warm {low} > max_warm {high}")
    slots_text = (raw.get("max_slots") or "").strip()
    slots = _count(slots_text, "max_slots", name, line) if slots_text else None
    given = [(raw.get(col) or "").strip() for col in HOUR_COLUMNS]
    if not any(given):
        return _Row(line, Targets(low, high), slots, None)
    if not all(given):
        raise TargetsError(name, line, "from_hour and to_hour go together: one is empty")
    start, stop = (
        _count(text, col, name, line) for text, col in zip(given, HOUR_COLUMNS, strict=True)
    )
    return _Row(line, Targets(low, high), slots, (start, stop))


def _check_with_earlier(node: str, row: _Row, earlier: list[_Row], name: str) -> None:
    """A node's rows: one without hours, or all with hours and one max_slots."""
    if not earlier:
        return
    first = earlier[0]
    if first.hours is None and row.hours is None:
        raise TargetsError(name, row.line, f"node {node!r} listed twice")
    if first.hours is None or row.hours is None:
        raise TargetsError(
            name,
            row.line,
            f"node {node!r}: rows with and without from_hour,to_hour are mixed "
            f"(line {first.line} has {'none' if first.hours is None else 'hours'})",
        )
    if row.slots != first.slots:
        raise TargetsError(
            name,
            row.line,
            f"node {node!r}: max_slots {_slots(row.slots)} differs from line "
            f"{first.line}'s {_slots(first.slots)} (one max_slots per node)",
        )


def _node_targets(node: str, rows: list[_Row], name: str) -> NodeTargets:
    first = rows[0]
    if first.hours is None:
        return NodeTargets(first.targets, first.slots)
    blocks = [Block(*row.hours, row.targets) for row in rows if row.hours is not None]
    try:
        schedule = WarmSchedule.from_blocks(blocks)
    except ScheduleProblem as problem:
        at = rows[problem.index] if problem.index is not None else rows[-1]
        text = _BLOCK.sub(lambda m: f"line {rows[int(m[1]) - 1].line}", problem.problem)
        raise TargetsError(name, at.line, f"node {node!r}: {text}") from None
    return NodeTargets.scheduled(schedule, first.slots)


def _slots(slots: int | None) -> str:
    return "(none)" if slots is None else str(slots)


def _count(text: str | None, column: str, name: str, line: int) -> int:
    value = (text or "").strip()
    if not _INTEGER.fullmatch(value):
        raise TargetsError(name, line, f"{column} {value!r} is not an integer")
    if len(value.lstrip("+-").lstrip("0")) > len(str(MAX_COUNT)):
        size = "negative" if value.startswith("-") else f"above {MAX_COUNT}"
        raise TargetsError(name, line, f"{column} {value} is {size}")
    number = int(value)
    if number < 0:
        raise TargetsError(name, line, f"{column} {number} is negative")
    if number > MAX_COUNT:
        raise TargetsError(name, line, f"{column} {number} is above {MAX_COUNT}")
    return number
