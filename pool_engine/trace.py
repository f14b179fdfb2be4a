"""Churn traces (SPEC section 3): load, validate and group by node.

A trace is CSV with header ``time,node,event`` (extra columns ignored) or Parquet
with the same columns. ``time`` is seconds from trace start or RFC 3339 (then time
0 is the earliest event); ``event`` is ``start`` or ``stop``. Rows may be unsorted;
ties keep file order.

The fast path reads with pyarrow (multi-threaded, dictionary-encoded) and groups by
node with a compiled counting sort. When it sees a problem, a slow line-by-line
pass finds the exact line to name in the error.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from numba import njit

from pool_engine.errors import TraceError
from pool_engine.kernel import START, STOP

COLUMNS = ("time", "node", "event")
EVENTS = {"start": START, "stop": STOP}
_DICT = pa.dictionary(pa.int32(), pa.string())


@dataclass(frozen=True)
class Trace:
    """Trace rows grouped by node; within a node sorted by time, ties in file order."""

    nodes: list[str]
    """Node names; node k's rows are ``offsets[k]:offsets[k + 1]``."""
    times: np.ndarray
    """float64 seconds from trace start."""
    kinds: np.ndarray
    """int8, :data:`START` or :data:`STOP`."""
    offsets: np.ndarray
    """int64, ``len(nodes) + 1`` boundaries into ``times``/``kinds``."""
    end: float
    """The last event time of the whole trace (0 for an empty trace)."""
    origin: datetime | None = None
    """Wall-clock time of time 0 for RFC 3339 traces."""

    @property
    def events(self) -> int:
        return int(self.times.shape[0])

    def node_rows(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.offsets[k], self.offsets[k + 1]
        return self.times[lo:hi], self.kinds[lo:hi]


def load_trace(path: str | Path) -> Trace:
    """Read a CSV or Parquet trace; raise :class:`TraceError` naming file, line and problem."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise TraceError(name, None, "no such file")
    with path.open("rb") as f:
        magic = f.read(4)
    locate: Callable[[Path, pa.Table | None], TraceError | None]
    if magic == b"PAR1" or path.suffix in (".parquet", ".pq"):
        table = _read_parquet(path)
        locate = _locate_in_table
    else:
        table = _read_csv(path)
        locate = _locate_in_csv
    try:
        return _from_table(table)
    except _Bad as bad:
        raise locate(path, table) or TraceError(name, None, str(bad)) from None


def from_rows(times: list[float], nodes: list[str], events: list[str]) -> Trace:
    """Build a trace from Python lists (tests, generators)."""
    table = pa.table(
        {
            "time": pa.array(times, pa.float64()),
            "node": pa.array(nodes, pa.string()).dictionary_encode(),
            "event": pa.array(events, pa.string()).dictionary_encode(),
        }
    )
    try:
        return _from_table(table)
    except _Bad as bad:
        raise _locate_in_table(Path("<rows>"), table) or TraceError(
            "<rows>", None, str(bad)
        ) from None


class _Bad(Exception):
    """The fast path saw a problem; the slow path names its line."""


def _read_csv(path: Path) -> pa.Table | None:
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        header = next(csv.reader(f), None)
    if header is None:
        raise TraceError(str(path), 1, "empty file, expected header time,node,event")
    header = [h.strip() for h in header]
    for col in COLUMNS:
        if col not in header:
            raise TraceError(str(path), 1, f"missing column {col!r} (header is {','.join(header)})")
    convert = pacsv.ConvertOptions(
        include_columns=list(COLUMNS),
        column_types={"node": _DICT, "event": _DICT},
        strings_can_be_null=False,
    )
    try:
        return pacsv.read_csv(
            path, read_options=pacsv.ReadOptions(block_size=16 << 20), convert_options=convert
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None  # the slow pass finds and names the line


def _read_parquet(path: Path) -> pa.Table:
    try:
        schema = pq.read_schema(path)
    except pa.ArrowException as exc:
        raise TraceError(str(path), None, f"not a readable Parquet file: {exc}") from None
    for col in COLUMNS:
        if col not in schema.names:
            raise TraceError(str(path), None, f"missing column {col!r}")
    return pq.read_table(path, columns=list(COLUMNS))


def _from_table(table: pa.Table | None) -> Trace:
    if table is None:
        raise _Bad("unreadable")
    times, origin = _seconds(table.column("time"))
    node_codes, nodes = _codes(table.column("node"))
    event_codes, events = _codes(table.column("event"))
    if any(e not in EVENTS for e in events):
        raise _Bad("unknown event")
    if any(n == "" for n in nodes):
        raise _Bad("empty node")
    if times.size and (np.isnan(times).any() or times.min() < 0.0):
        raise _Bad("bad time")
    kinds = np.array([EVENTS[e] for e in events], dtype=np.int8)[event_codes]
    perm, offsets = _group(node_codes, len(nodes), times)
    end = float(times.max()) if times.size else 0.0
    return Trace(nodes, times[perm], kinds[perm], offsets, end, origin)


def _seconds(column: pa.ChunkedArray) -> tuple[np.ndarray, datetime | None]:
    if column.null_count:
        raise _Bad("missing time")
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return column.to_numpy().astype(np.float64, copy=False), None
    if pa.types.is_timestamp(kind):
        ns = pc.cast(column, pa.timestamp("ns", tz=kind.tz)).cast(pa.int64()).to_numpy()
        if ns.size == 0:
            return ns.astype(np.float64), None
        first = int(ns.min())
        origin = datetime.fromtimestamp(first / 1e9).astimezone()
        return (ns - first).astype(np.float64) / 1e9, origin
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _parse_text_times(column.to_pylist())
    raise _Bad(f"time column has type {kind}")


def _parse_text_times(values: list[str]) -> tuple[np.ndarray, datetime | None]:
    """Times arrow did not recognise: all numbers, or all RFC 3339 (e.g. with a space)."""
    parsed = [_parse_time(v) for v in values]
    if any(p is None for p in parsed):
        raise _Bad("unparseable time")
    if all(isinstance(p, float) for p in parsed):
        return np.array(parsed, dtype=np.float64), None
    if all(isinstance(p, datetime) for p in parsed):
        stamps = np.array([p.timestamp() for p in parsed], dtype=np.float64)  # type: ignore[union-attr]
        first = stamps.min()
        return stamps - first, datetime.fromtimestamp(first).astimezone()
    raise _Bad("mixed time formats")


def _parse_time(text: str) -> float | datetime | None:
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


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column.cast(pa.string()))
    column = column.unify_dictionaries() if column.num_chunks > 1 else column
    if column.num_chunks == 0:
        return np.zeros(0, dtype=np.int32), []
    values = column.chunk(0).dictionary.to_pylist()
    codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in column.chunks])
    return codes.astype(np.int32, copy=False), [str(v) for v in values]


@njit(cache=True)
def _counting_sort(
    codes: np.ndarray, n_groups: int, order: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(n_groups + 1, dtype=np.int64)
    for c in codes:
        offsets[c + 1] += 1
    for k in range(n_groups):
        offsets[k + 1] += offsets[k]
    fill = offsets[:-1].copy()
    perm = np.empty(codes.shape[0], dtype=np.int64)
    for j in order:
        c = codes[j]
        perm[fill[c]] = j
        fill[c] += 1
    return perm, offsets


@njit(cache=True)
def _is_sorted(values: np.ndarray) -> bool:
    for j in range(1, values.shape[0]):
        if values[j] < values[j - 1]:
            return False
    return True


def _group(codes: np.ndarray, n_groups: int, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if _is_sorted(times):
        order = np.arange(times.shape[0], dtype=np.int64)
    else:
        order = np.argsort(times, kind="stable")
    return _counting_sort(codes, n_groups, order)


# --- the slow pass: find the first bad row and say what is wrong with it --------------


def _check_row(time: object, node: object, event: object) -> str | None:
    if time is None or (isinstance(time, str) and not time.strip()):
        return "missing time"
    if isinstance(time, str):
        parsed = _parse_time(time)
        if parsed is None:
            return f"unparseable time {time!r} (expected seconds or RFC 3339 with offset)"
        if isinstance(parsed, float) and parsed < 0:
            return f"negative time {time!r}"
    elif isinstance(time, int | float) and (not math.isfinite(time) or time < 0):
        return f"bad time {time!r}"
    if node is None or str(node) == "":
        return "empty node name"
    if event not in EVENTS:
        return f"unknown event {event!r} (expected start or stop)"
    return None


def _locate_in_csv(path: Path, _table: pa.Table | None) -> TraceError | None:
    kinds: set[type] = set()
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        at = [header.index(c) for c in COLUMNS]
        for row in reader:
            if not row:
                continue
            if len(row) < len(header):
                return TraceError(
                    str(path), reader.line_num, f"expected {len(header)} fields, got {len(row)}"
                )
            values = [row[j] for j in at]
            problem = _check_row(*values)
            if problem:
                return TraceError(str(path), reader.line_num, problem)
            kinds.add(type(_parse_time(values[0])))
            if len(kinds) > 1:
                return TraceError(str(path), reader.line_num, "time mixes seconds and RFC 3339")
    return None


def _locate_in_table(path: Path, table: pa.Table | None) -> TraceError | None:
    if table is None:
        return None
    for j, (time, node, event) in enumerate(_rows(table)):
        problem = _check_row(time, node, event)
        if problem:
            return TraceError(str(path), j + 1, problem, unit="row ")
    return None


def _rows(table: pa.Table) -> Iterator[tuple[object, object, object]]:
    for batch in table.to_batches():
        cols = [batch.column(c).to_pylist() for c in COLUMNS]
        yield from zip(*cols, strict=True)
