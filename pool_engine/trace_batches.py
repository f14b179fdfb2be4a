"""The rows of a trace file as arrow record batches (CSV or Parquet; the columns
checked), which pool each row belongs to (the optional ``mode`` column), and a fast
scan for what arrow reads more leniently than the trace contract (docs/contracts/trace.md).
"""

from __future__ import annotations

import csv
import mmap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pool_engine.errors import TraceError
from pool_engine.events import COLUMNS

if TYPE_CHECKING:  # pyarrow loads where a table is read or written, not on import
    import pyarrow as pa


class UnknownMode(Exception):
    """A ``mode`` value that is neither route-eni nor direct-eni."""


MODE_COLUMN = "mode"
"""The optional column naming a row's pool."""
MODES = ("route-eni", "direct-eni")
"""Its values; empty means the first."""


def mode_mask(batch: pa.RecordBatch, mode: str) -> np.ndarray:
    """Which rows of ``batch`` belong to ``mode``'s pool."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if MODE_COLUMN not in batch.schema.names:
        return np.full(batch.num_rows, mode == MODES[0])
    column = pc.cast(batch.column(MODE_COLUMN), pa.string())
    values = pc.fill_null(pc.utf8_trim_whitespace(column), "")
    known = pc.is_in(values, value_set=pa.array(["", *MODES]))
    if not pc.all(known).as_py():
        bad = pc.filter(values, pc.invert(known))[0].as_py()
        raise UnknownMode(f"unknown mode {bad!r} (expected route-eni or direct-eni)")
    wanted = pc.equal(values, mode)
    if mode == MODES[0]:
        wanted = pc.or_(wanted, pc.equal(values, ""))
    return np.asarray(wanted.to_numpy(zero_copy_only=False), dtype=bool)


def csv_batches(path: Path, name: str, times_only: bool = False) -> Iterator[pa.RecordBatch]:
    """The rows (with ``times_only``, the times alone, as the file's text)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    # utf-8-sig: a byte-order mark (spreadsheet exports) is not part of the first name
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
        try:
            header = next(csv.reader(f), None)
        except csv.Error as error:  # a name above the csv module's limit (128 KiB)
            raise TraceError(name, 1, f"unreadable CSV: {error}") from None
    if header is None:
        raise TraceError(name, 1, "empty file, expected header time,node,event")
    header = [h.strip() for h in header]
    for col in COLUMNS:
        if col not in header:
            raise TraceError(name, 1, f"missing column {col!r} (header is {','.join(header)})")
    for col in (*COLUMNS, MODE_COLUMN):
        if header.count(col) > 1:
            raise TraceError(name, 1, f"column {col!r} appears twice")
    columns = list(COLUMNS) + ([MODE_COLUMN] if MODE_COLUMN in header else [])
    types = {name: pa.dictionary(pa.int32(), pa.string()) for name in columns[1:]}
    if times_only:
        columns, types = ["time"], {"time": pa.string()}
    convert = pacsv.ConvertOptions(
        include_columns=columns, column_types=types, strings_can_be_null=False
    )
    # The header as read above (names stripped of spaces) replaces the file's own.
    read = pacsv.ReadOptions(block_size=8 << 20, column_names=header, skip_rows=1)
    reader = pacsv.open_csv(path, read_options=read, convert_options=convert)
    yield from reader


def parquet_batches(path: Path, name: str) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path)
    except pa.ArrowException as exc:
        raise TraceError(name, None, f"not a readable Parquet file: {exc}") from None
    written = handle.schema_arrow.names
    names = [n.strip() for n in written]  # as a CSV header's: " time " is time
    for col in (*COLUMNS, MODE_COLUMN):
        if names.count(col) > 1:
            raise TraceError(name, None, f"column {col!r} appears twice")
    for col in COLUMNS:
        if col not in names:
            raise TraceError(name, None, f"missing column {col!r}")
    wanted = list(COLUMNS) + ([MODE_COLUMN] if MODE_COLUMN in names else [])
    columns = [written[names.index(col)] for col in wanted]
    for batch in handle.iter_batches(batch_size=1 << 20, columns=columns):
        yield batch if columns == wanted else batch.rename_columns(wanted)


class IntegerTimes:
    """The batches passed through, noting whether arrow read their times as integers
    (only then can a '0x10' have been read as 16: as a float it is no number)."""

    def __init__(self, batches: Iterator[pa.RecordBatch]) -> None:
        self._batches = batches
        self.seen = False

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        for batch in self._batches:
            self.seen = self.seen or pa.types.is_integer(batch.schema.field("time").type)
            yield batch


def maybe_hex(path: Path, name: str) -> bool:
    """Whether a time of the CSV holds a '0x' (the slow pass then says where): a fast
    scan of the whole file, then, where it finds one, of the times alone (a '0x' in a
    node's name or another column sent a 300 MB file through the slow pass: 58 s)."""
    import pyarrow.compute as pc

    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        if view.find(b"0x") < 0 and view.find(b"0X") < 0:
            return False
    for batch in csv_batches(path, name, times_only=True):
        if pc.any(pc.match_substring(batch.column("time"), "0x", ignore_case=True)).as_py():
            return True
    return False
