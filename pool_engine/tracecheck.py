"""The slow pass over a trace the fast path refused: the first bad row and what is
wrong with it, for a one-line ``file:line: problem`` error (docs/contracts/trace.md).

It also holds what both passes share: the one reading of a time value (seconds, or
RFC 3339 with an offset) and the limits a trace file's times must keep.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from pool_engine.errors import TraceError
from pool_engine.events import CODES, COLUMNS

if TYPE_CHECKING:  # pyarrow loads where a table is read or written, not on import
    import pyarrow as pa

YEAR = 365 * 86400.0
"""Seconds in a year of 365 days."""
MAX_SECONDS = 10 * YEAR
"""The largest time of a trace file, in seconds from time 0: ten years. Beyond it a
trace is a typo (``1e308``) rather than history, and the replay's integrals (slots
times seconds) stay far from float overflow below it."""
_DECIMAL = re.compile(r"[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?|inf|infinity|nan)", re.I)
"""Seconds as written: a decimal number, or one that is not finite (refused by name)."""
_INTEGER = re.compile(r"[+-]?[0-9]+")
"""An integer as written on the command line."""
_LEAP_SECOND = re.compile(
    r"(?P<head>\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d):60(?P<tail>(\.\d+)?([Zz]|[+-]\d\d:\d\d)?)"
)
"""An RFC 3339 time at second 60 (a leap second)."""
_STAMP = re.compile(r"\d{4}-\d\d-\d\d([Tt ]\d\d(:\d\d(:\d\d(\.\d+)?)?)?([Zz]|[+-]\d\d(:?\d\d)?)?)?")
"""The extended form of ISO 8601 that RFC 3339 profiles, as pyarrow's reader of a
trace's time column takes it too (seconds or minutes may be left out, an offset may be
``+hhmm`` or ``+hh``; a date alone or no offset where ``--start`` takes them): not the
rest that ``fromisoformat`` reads, week dates and the basic form (``20250106T023000Z``),
which pyarrow reads as text."""
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
"""A byte that is not UTF-8, as ``errors="surrogateescape"`` reads it."""
EARLIEST = datetime(1678, 1, 1, tzinfo=UTC)
"""The earliest RFC 3339 time: timestamps are held as int64 nanoseconds since 1970."""
LATEST = datetime(2262, 1, 1, tzinfo=UTC)
"""The first RFC 3339 time past the range (exclusive)."""


def decimal(text: str) -> float | None:
    """The number ``text`` writes in ASCII decimal (possibly not finite: ``inf``,
    ``nan``), surrounding blanks aside; None for anything else (``float()`` alone would
    read ``1_000`` and other scripts' digits)."""
    text = text.strip()
    return float(text) if _DECIMAL.fullmatch(text) else None


def is_integer(text: str) -> bool:
    """Whether ``text`` writes an integer in ASCII digits with an optional sign,
    surrounding blanks aside (``int()`` alone would read ``1_000``, other scripts'
    digits, and raise on ``²``, a digit to ``str.isdigit``)."""
    return _INTEGER.fullmatch(text.strip()) is not None


def parse_time(text: str) -> float | datetime | None:
    """Seconds (possibly not finite), or an RFC 3339 time (UTC without an offset, as
    arrow reads such a column of a CSV); None when it is neither. Seconds are ASCII
    decimal (:func:`decimal`)."""
    seconds = decimal(text)
    if seconds is not None:
        return seconds
    stamp = read_stamp(text.strip())
    if stamp is None or stamp.tzinfo is not None:
        return stamp
    return stamp.replace(tzinfo=UTC)


def read_stamp(text: str) -> datetime | None:
    """An RFC 3339 time (naive without an offset), ``t`` and ``z`` in either case; a
    leap second (second 60, which Python has not) is the next second's instant. None
    when it is not one. Traces and ``--start``/``--end`` read times with it."""
    if not _STAMP.fullmatch(text):
        return None
    leap = _LEAP_SECOND.fullmatch(text)
    if leap:
        before = read_stamp(f"{leap['head']}:59{leap['tail']}")
        try:
            return None if before is None else before + timedelta(seconds=1)
        except OverflowError:  # 9999-12-31T23:59:60Z
            return None
    if text[10:11] == "t":
        text = f"{text[:10]}T{text[11:]}"
    if text.endswith("z"):
        text = f"{text[:-1]}Z"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def in_range(stamp: datetime) -> bool:
    """Whether ``stamp`` (naive: UTC) lies in [:data:`EARLIEST`, :data:`LATEST`)."""
    aware = stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)
    return EARLIEST <= aware < LATEST


def check_row(
    time: object, node: object, event: object, *, limit: float = MAX_SECONDS
) -> str | None:
    """What is wrong with one row, or None; a time in seconds must be at most ``limit``."""
    problem = _time_problem(time, limit)
    if problem:
        return problem
    if node is None or str(node) == "":
        return "empty node name"
    if event not in CODES:
        return f"unknown event {event!r} (expected start or stop)"
    return None


def _time_problem(time: object, limit: float) -> str | None:
    if time is None or (isinstance(time, str) and not time.strip()):
        return "missing time"
    value: object = time
    if isinstance(time, str):
        value = parse_time(time)
        if value is None:
            return f"unparseable time {time!r} (expected seconds or RFC 3339)"
    if isinstance(value, Decimal):  # a Parquet decimal column, read as float seconds
        value = time = float(value)
    shown = repr(time.isoformat()) if isinstance(time, datetime) else repr(time)
    if isinstance(value, datetime):
        return None if in_range(value) else f"time {shown} is out of range (years 1678 to 2261)"
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return f"time {shown} is not a finite number"
        if value < 0:
            return f"negative time {shown}"
        if value > limit:
            return f"time {shown} is above the limit of {limit:.0f} s ({limit / YEAR:g} years)"
    return None


class _Span:
    """The earliest and latest RFC 3339 times read so far, and where they were."""

    def __init__(self, unit: str) -> None:
        self._unit = unit
        self._earliest: tuple[datetime, int] | None = None
        self._latest: tuple[datetime, int] | None = None

    def add(self, stamp: datetime, at: int, shown: str) -> str | None:
        """Take one row's time; what is wrong when the span now exceeds the limit."""
        stamp = stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)
        if self._earliest is None or self._latest is None:
            self._earliest = self._latest = (stamp, at)
            return None
        if stamp < self._earliest[0]:
            self._earliest = (stamp, at)
            other, side = self._latest, "before"
        elif stamp > self._latest[0]:
            self._latest = (stamp, at)
            other, side = self._earliest, "after"
        else:
            return None
        gap = abs((stamp - other[0]).total_seconds())
        if gap <= MAX_SECONDS:
            return None
        return (
            f"time {shown} is {gap:,.0f} s {side} {self._unit}{other[1]}'s time; a trace "
            f"spans at most {MAX_SECONDS:,.0f} s ({MAX_SECONDS / YEAR:g} years)"
        )


def locate_in_csv(path: Path, name: str) -> TraceError | None:
    """The first bad line of a CSV trace, or None when every line reads; errors name the
    file ``name``."""
    kinds: set[type] = set()
    span = _Span("line ")
    # surrogateescape: a byte that is not UTF-8 stays visible, to name its line
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        at = [header.index(c) for c in COLUMNS]
        try:
            for row in reader:
                if not row:
                    continue
                line = reader.line_num
                if any(_NOT_UTF8.search(field) for field in row):
                    return TraceError(name, line, "not UTF-8 text")
                if len(row) != len(header):
                    return TraceError(name, line, f"expected {len(header)} fields, got {len(row)}")
                values = [row[j] for j in at]
                problem = check_row(*values)
                parsed = parse_time(values[0])
                kinds.add(type(parsed))
                if not problem and len(kinds) > 1:
                    problem = "time mixes seconds and RFC 3339"
                if not problem and isinstance(parsed, datetime):
                    problem = span.add(parsed, line, repr(values[0]))
                if problem:
                    return TraceError(name, line, problem)
        except csv.Error as error:  # a field above the csv module's limit (128 KiB)
            return TraceError(name, reader.line_num, f"unreadable CSV: {error}")
    return None


def locate_in_batches(name: str, batches: Iterable[pa.RecordBatch]) -> TraceError | None:
    """The first bad row of a columnar trace (Parquet), counted from 1, or None."""
    row = 0
    span = _Span("row ")
    for batch in batches:
        cols = [batch.column(c).to_pylist() for c in COLUMNS]
        for values in zip(*cols, strict=True):
            row += 1
            problem = check_row(*values)
            time = values[0]
            stamp = parse_time(time) if isinstance(time, str) else time
            if not problem and isinstance(stamp, datetime):
                shown = repr(time.isoformat() if isinstance(time, datetime) else time)
                problem = span.add(stamp, row, shown)
            if problem:
                return TraceError(name, row, problem, unit="row ")
    return None
