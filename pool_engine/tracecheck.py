"""The slow pass over a trace the fast path refused: the first bad row and what is
wrong with it, for a one-line ``file:line: problem`` error (docs/contracts/trace.md).

It also holds the one reading of a time value (seconds, or RFC 3339 with an offset)
that both passes share.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from pool_engine.errors import TraceError
from pool_engine.events import CODES, COLUMNS


def parse_time(text: str) -> float | datetime | None:
    """Seconds, or an RFC 3339 time with an offset; None when it is neither."""
    text = text.strip()
    try:
        value = float(text)
        return value if math.isfinite(value) else None
    except ValueError:
        pass
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None


def check_row(time: object, node: object, event: object) -> str | None:
    """What is wrong with one row, or None."""
    if time is None or (isinstance(time, str) and not time.strip()):
        return "missing time"
    if isinstance(time, str):
        parsed = parse_time(time)
        if parsed is None:
            return f"unparseable time {time!r} (expected seconds or RFC 3339 with offset)"
        if isinstance(parsed, float) and parsed < 0:
            return f"negative time {time!r}"
    elif isinstance(time, int | float) and (not math.isfinite(time) or time < 0):
        return f"bad time {time!r}"
    if node is None or str(node) == "":
        return "empty node name"
    if event not in CODES:
        return f"unknown event {event!r} (expected start or stop)"
    return None


def locate_in_csv(path: Path) -> TraceError | None:
    """The first bad line of a CSV trace, or None when every line reads."""
    kinds: set[type] = set()
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        at = [header.index(c) for c in COLUMNS]
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                fields = f"expected {len(header)} fields, got {len(row)}"
                return TraceError(str(path), reader.line_num, fields)
            values = [row[j] for j in at]
            problem = check_row(*values)
            if problem:
                return TraceError(str(path), reader.line_num, problem)
            kinds.add(type(parse_time(values[0])))
            if len(kinds) > 1:
                return TraceError(str(path), reader.line_num, "time mixes seconds and RFC 3339")
    return None


def locate_in_batches(name: str, batches: Iterable[pa.RecordBatch]) -> TraceError | None:
    """The first bad row of a columnar trace (Parquet), counted from 1, or None."""
    row = 0
    for batch in batches:
        cols = [batch.column(c).to_pylist() for c in COLUMNS]
        for values in zip(*cols, strict=True):
            row += 1
            problem = check_row(*values)
            if problem:
                return TraceError(name, row, problem, unit="row ")
    return None
