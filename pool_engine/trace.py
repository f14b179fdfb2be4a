"""Churn traces (docs/contracts/trace.md): load, validate and group by node.

A trace is CSV with header ``time,node,event`` (extra columns ignored) or Parquet with
the same columns. An optional ``mode`` column (``route-eni`` or ``direct-eni``; empty
or absent: ``route-eni``) says which pool a row belongs to; analysis reads one mode's
rows (``load_trace(path, mode)``), ``simulate`` all of them. ``time`` is seconds from
trace start or RFC 3339 (then time 0 is the earliest event); ``event`` is ``start`` or
``stop``. Rows may be unsorted; ties keep file order. A file's times are finite and at
most :data:`pool_engine.tracecheck.MAX_SECONDS` from time 0, and it has at least one
row (docs/contracts/trace.md, "Limits").

The fast path reads with pyarrow (multi-threaded, dictionary-encoded; the encoding
is :mod:`pool_engine.events`) and groups by node with a compiled counting sort. When
it sees a problem, the slow line-by-line pass of :mod:`pool_engine.tracecheck` finds
the exact line to name in the error.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pool_engine.errors import TraceError
from pool_engine.events import Codes, Unencodable, values_of
from pool_engine.filekind import HEAD, PARQUET_SUFFIXES, foreign_kind
from pool_engine.trace_batches import (
    MODES,
    IntegerTimes,
    UnknownMode,
    csv_batches,
    maybe_hex,
    mode_mask,
    parquet_batches,
)
from pool_engine.tracecheck import (
    EARLIEST,
    LATEST,
    MAX_SECONDS,
    check_row,
    in_range,
    locate_in_batches,
    locate_in_csv,
    parse_time,
)

if TYPE_CHECKING:  # pyarrow loads where a table is read or written, not on import
    import pyarrow as pa

_NS = 10**9
_EARLIEST_NS = round(EARLIEST.timestamp()) * _NS
_LATEST_NS = round(LATEST.timestamp()) * _NS


@dataclass(frozen=True)
class Trace:
    """Trace rows grouped by node; within a node sorted by time, ties in file order."""

    nodes: list[str]
    """Node names; node k's rows are ``offsets[k]:offsets[k + 1]``."""
    times: np.ndarray
    """float64 seconds from trace start."""
    kinds: np.ndarray
    """int8, :data:`pool_engine.events.START` or :data:`pool_engine.events.STOP`."""
    offsets: np.ndarray
    """int64, ``len(nodes) + 1`` boundaries into ``times``/``kinds``."""
    end: float
    """The last event time of the whole trace (0 for an empty trace)."""
    origin: datetime | None = None
    """Wall-clock time of time 0 for RFC 3339 traces."""
    first: float | None = None
    """The smallest time of the file's rows, of every mode (None: of these rows)."""
    other_mode_nodes: int = 0
    """Nodes of the file left out for having rows of the other mode only."""
    other_mode_rows: int = 0
    """Rows of the file left out for being of the other mode."""

    @property
    def events(self) -> int:
        return int(self.times.shape[0])

    def day_offset(self) -> float:
        """Seconds past 00:00 UTC of time 0: the UTC time of day of the earliest event
        for RFC 3339 traces, 0 for numeric ones (time 0 is 00:00 UTC;
        docs/contracts/schedules.md)."""
        if self.origin is None:
            return 0.0
        utc = self.origin.astimezone(UTC)  # by fields: a float epoch would blur the fraction
        return utc.hour * 3600.0 + utc.minute * 60.0 + utc.second + utc.microsecond / 1e6

    def node_rows(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.offsets[k], self.offsets[k + 1]
        return self.times[lo:hi], self.kinds[lo:hi]


def load_trace(path: str | Path, mode: str | None = None) -> Trace:
    """Read a CSV or Parquet trace; raise :class:`TraceError` naming file, line and problem.

    Times must lie within :data:`pool_engine.tracecheck.MAX_SECONDS` of time 0; a file
    with no rows is refused. With ``mode``, only that pool's rows are kept (the trace's
    end and first instant stay those of the whole file); the result may be empty."""
    with closing(load_traces(path, [mode])) as traces:
        return next(traces)


def load_traces(path: str | Path, modes: Sequence[str | None]) -> Generator[Trace]:
    """:func:`load_trace` of each of ``modes`` in turn, each read when asked for. A pipe
    is read once, whatever the modes: its copy stays until the last is read or the
    iterator is closed."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise TraceError(name, None, "no such file")
    try:
        if path.is_file():
            for mode in modes:
                yield _load(path, name, mode)
            return
        # A pipe or a device (<(zcat t.csv.gz), /dev/stdin, /dev/null) reads only once,
        # and reading a trace opens it more than once: take a copy first, once its first
        # bytes are known to be a trace's (/dev/zero would never end).
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / path.name
            with path.open("rb") as source, copy.open("wb") as target:
                head = source.read(HEAD)
                _refuse_foreign(head, path, name)
                target.write(head)
                shutil.copyfileobj(source, target)
            for mode in modes:
                yield _load(copy, name, mode)
    except OSError as exc:  # a directory, a read error (EIO): the system's reason
        raise TraceError(name, None, exc.strerror or "cannot read") from None


def _load(path: Path, name: str, mode: str | None) -> Trace:
    """:func:`load_trace` of a regular file; errors name it ``name``."""
    import pyarrow as pa

    with path.open("rb") as f:
        head = f.read(HEAD)
    parquet = _parquet(head, path)
    _refuse_foreign(head, path, name)
    integers = None if parquet else IntegerTimes(csv_batches(path, name))
    try:
        batches = parquet_batches(path, name) if integers is None else iter(integers)
        trace = _build(batches, MAX_SECONDS, mode)
    except UnknownMode as bad:
        raise TraceError(name, None, str(bad)) from None
    except (Unencodable, pa.ArrowException, UnicodeDecodeError) as bad:
        if parquet:
            located = locate_in_batches(name, parquet_batches(path, name))
        else:
            located = locate_in_csv(path, name)
        raise located or TraceError(name, None, _first_line(bad)) from None
    if integers is not None and integers.seen and maybe_hex(path, name):  # 0x10 read as 16
        located = locate_in_csv(path, name)
        if located is not None:
            raise located
    if not trace.events and (mode is None or trace.first is None):
        rows = "no rows" if parquet else "a header but no rows"
        raise TraceError(name, None, f"no events (the file has {rows})")
    return trace


def _parquet(head: bytes, path: Path) -> bool:
    return head[:4] == b"PAR1" or path.suffix in PARQUET_SUFFIXES


def _refuse_foreign(head: bytes, path: Path, name: str) -> None:
    """Refuse a CSV trace whose first bytes say it is no text (compressed, binary)."""
    kind = None if _parquet(head, path) else foreign_kind(head)
    if kind is not None:
        raise TraceError(name, None, kind)


def from_rows(times: list[float], nodes: list[str], events: list[str]) -> Trace:
    """Build a trace from Python lists (tests, generators). Times must be finite and
    not negative; unlike a file's, they may exceed ten years, and there may be none."""
    import pyarrow as pa

    batch = pa.record_batch(
        {
            "time": pa.array(times, pa.float64()),
            "node": pa.array(nodes, pa.string()).dictionary_encode(),
            "event": pa.array(events, pa.string()).dictionary_encode(),
        }
    )
    try:
        return _build(iter([batch]), math.inf)
    except Unencodable:
        rows = zip(times, nodes, events, strict=True)
        for j, row in enumerate(rows):
            problem = check_row(*row, limit=math.inf)
            if problem:
                raise TraceError("<rows>", j + 1, problem, unit="row ") from None
        raise


def _build(batches: Iterator[pa.RecordBatch], limit: float, mode: str | None = None) -> Trace:
    """The trace of ``batches``; every time must be finite and within ``limit`` s of
    time 0, or :class:`Unencodable` is raised (vectorised: one min and one max). With
    ``mode``, only that pool's rows are kept."""
    nodes, events = Codes(), Codes.events()
    times: list[np.ndarray] = []
    stamps: list[np.ndarray] = []
    node_codes: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    for batch in batches:
        mask = mode_mask(batch, mode or MODES[0])  # refuses an unknown mode, any mode
        if mode is not None:
            masks.append(mask)
        seconds, ns = _time_values(batch.column("time"))
        if seconds is not None:
            times.append(seconds)
        if ns is not None:
            stamps.append(ns)
        node_codes.append(nodes.encode(batch.column("node")))
        kinds.append(events.encode(batch.column("event")).astype(np.int8))
    if times and stamps:
        raise Unencodable("time mixes seconds and RFC 3339")
    origin = None
    if stamps:
        ns_all = np.concatenate(stamps)
        first, last = int(ns_all.min()), int(ns_all.max())
        if first < _EARLIEST_NS or last >= _LATEST_NS or last - first > limit * _NS:
            raise Unencodable("time out of range")
        origin = datetime.fromtimestamp(first / 1e9).astimezone()
        all_times = (ns_all - first).astype(np.float64) / 1e9
        del ns_all
    else:
        all_times = np.concatenate(times) if times else np.zeros(0)
    del times, stamps
    if all_times.size:
        lowest, highest = all_times.min(), all_times.max()  # NaN if any is NaN
        if not (lowest >= 0.0 and highest <= limit and highest < math.inf):
            raise Unencodable("bad time")
    codes = np.concatenate(node_codes) if node_codes else np.zeros(0, np.int32)
    del node_codes
    all_kinds = np.concatenate(kinds) if kinds else np.zeros(0, np.int8)
    del kinds
    names = nodes.names()
    end = float(all_times.max()) if all_times.size else 0.0
    first_time, left_out, other_rows = None, 0, 0
    if mode is not None:
        first_time = float(all_times.min()) if all_times.size else None
        keep = np.concatenate(masks) if masks else np.zeros(0, dtype=bool)
        other_rows = int(keep.size - np.count_nonzero(keep))
        if other_rows:  # drop the other pool's rows, and nodes left without any
            codes, all_times, all_kinds = codes[keep], all_times[keep], all_kinds[keep]
            used = np.bincount(codes, minlength=len(names)) > 0
            left_out = int((~used).sum())
            renumber = np.cumsum(used, dtype=np.int32) - 1
            names = [name for name, u in zip(names, used, strict=True) if u]
            codes = renumber[codes]
        del keep, masks
    from pool_engine.grouping import group_rows  # numba: loaded when a trace is built

    perm, offsets = group_rows(codes, len(names), all_times)
    del codes
    return Trace(names, all_times[perm], all_kinds[perm], offsets, end, origin, first_time,
                 left_out, other_rows)  # fmt: skip


def _time_values(column: pa.Array) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(seconds, None) for numeric times, (None, epoch ns) for timestamps."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.null_count:
        raise Unencodable("missing time")
    kind = column.type
    if pa.types.is_dictionary(kind):  # a categorical column (pandas): its values
        return _time_values(column.dictionary_decode())
    if pa.types.is_decimal(kind):  # as a CSV's decimal times are read: float seconds
        try:
            return _time_values(pc.cast(column, pa.float64()))
        except pa.ArrowInvalid:
            raise Unencodable("time out of range") from None
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return values_of(column).astype(np.float64, copy=False), None
    if pa.types.is_timestamp(kind):
        ns = pc.cast(column, pa.timestamp("ns", tz=kind.tz)).cast(pa.int64())
        return None, ns.to_numpy(zero_copy_only=False)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _parse_text_times(column.to_pylist())
    raise Unencodable(f"time column has type {kind}")


def _parse_text_times(values: list[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Times arrow did not recognise: all numbers, or all RFC 3339 (e.g. with a space)."""
    parsed = [parse_time(v) for v in values]
    if any(p is None for p in parsed):
        raise Unencodable("unparseable time")
    if all(isinstance(p, float) for p in parsed):
        return np.array(parsed, dtype=np.float64), None
    if all(isinstance(p, datetime) for p in parsed):
        stamps = [p for p in parsed if isinstance(p, datetime)]
        if not all(in_range(p) for p in stamps):
            raise Unencodable("time out of range")
        ns = [round(p.timestamp() * 1e9) for p in stamps]
        return None, np.array(ns, dtype=np.int64)
    raise Unencodable("time mixes seconds and RFC 3339")


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
