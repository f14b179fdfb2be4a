"""Per-node target overrides for the simulator: CSV ``node,min_warm,max_warm[,max_slots]``.

Every count is a decimal integer (ASCII digits, an optional sign) from 0 to
:data:`MAX_COUNT` (docs/contracts/trace.md, "Limits").
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from pool_engine.config import Targets
from pool_engine.errors import TargetsError
from pool_engine.simulator import NodeTargets

REQUIRED = ("node", "min_warm", "max_warm")
MAX_COUNT = 2**31 - 1
"""The largest count a targets file may give: no node binds two billion slots."""
_INTEGER = re.compile(r"[+-]?[0-9]+")


def load_overrides(path: str | Path) -> dict[str, NodeTargets]:
    """Read a targets file; raise :class:`TargetsError` naming the line and problem."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TargetsError(name, None, exc.strerror or "cannot open") from None
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        for col in REQUIRED:
            if col not in header:
                raise TargetsError(
                    name, 1, f"missing column {col!r} (need node,min_warm,max_warm[,max_slots])"
                )
        targets: dict[str, NodeTargets] = {}
        for row in reader:
            line = reader.line_num
            node = (row.get("node") or "").strip()
            if not node:
                raise TargetsError(name, line, "empty node name")
            if node in targets:
                raise TargetsError(name, line, f"node {node!r} listed twice")
            low = _count(row.get("min_warm"), "min_warm", name, line)
            high = _count(row.get("max_warm"), "max_warm", name, line)
            if low > high:
                raise TargetsError(name, line, f"min_warm {low} > max_warm {high}")
            slots_text = (row.get("max_slots") or "").strip()
            slots = _count(slots_text, "max_slots", name, line) if slots_text else None
            targets[node] = NodeTargets(Targets(low, high), slots)
    return targets


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
