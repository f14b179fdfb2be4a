"""The same rows read alike from CSV and from Parquet (adversarial review, session 12):
times without an offset were UTC in a CSV but unparseable in a Parquet string column,
and in a CSV whose `t` was lower case; a Parquet file's spaced column names were missing
columns; a decimal or categorical time column was refused."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pool_engine.trace import Trace, load_trace

ROWS = [("2025-01-01 00:00:00", "a", "start"), ("2025-01-01 00:00:30", "a", "start"),
        ("2025-01-01 01:00:00", "b", "start"), ("2025-01-01 02:00:00", "a", "stop")]  # fmt: skip


def same(one: Trace, other: Trace) -> None:
    assert one.nodes == other.nodes and one.end == other.end
    assert np.array_equal(one.times, other.times) and np.array_equal(one.kinds, other.kinds)
    assert one.origin == other.origin


def csv(path: Path, rows: list[tuple[str, str, str]], header: str = "time,node,event") -> Path:
    path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows))
    return path


def parquet(path: Path, columns: dict[str, pa.Array]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def columns(rows: list[tuple[str, str, str]]) -> dict[str, pa.Array]:
    times, nodes, events = zip(*rows, strict=True)
    return {"time": pa.array(times), "node": pa.array(nodes), "event": pa.array(events)}


@pytest.mark.parametrize("sep", [" ", "T", "t"])
def test_times_without_an_offset_are_utc_in_either_file(tmp_path: Path, sep: str) -> None:
    rows = [(t.replace(" ", sep), n, e) for t, n, e in ROWS]
    utc = load_trace(csv(tmp_path / "utc.csv", [(t + "Z", n, e) for t, n, e in ROWS]))
    same(load_trace(csv(tmp_path / "t.csv", rows)), utc)
    same(load_trace(parquet(tmp_path / "t.parquet", columns(rows))), utc)


def test_spaced_column_names_are_the_columns_in_either_file(tmp_path: Path) -> None:
    rows = [(str(k * 10), n, e) for k, (_, n, e) in enumerate(ROWS)]
    plain = load_trace(csv(tmp_path / "t.csv", rows))
    same(load_trace(csv(tmp_path / "s.csv", rows, header=" time , node ,event ")), plain)
    spaced = {f" {name} ": values for name, values in columns(rows).items()}
    spaced[" time "] = pa.array([float(t) for t, _, _ in rows])
    same(load_trace(parquet(tmp_path / "s.parquet", spaced)), plain)


def test_decimal_and_categorical_times_are_times(tmp_path: Path) -> None:
    rows = [("0.5", "a", "start"), ("12.25", "a", "stop"), ("30", "b", "start")]
    plain = load_trace(csv(tmp_path / "t.csv", rows))
    decimal = columns(rows)
    decimal["time"] = pa.array([Decimal(t) for t, _, _ in rows], pa.decimal128(10, 2))
    same(load_trace(parquet(tmp_path / "d.parquet", decimal)), plain)
    categorical = columns(rows)
    categorical["time"] = pa.array([t for t, _, _ in rows]).dictionary_encode()
    same(load_trace(parquet(tmp_path / "c.parquet", categorical)), plain)


@pytest.mark.parametrize(
    ("value", "said"), [("-1", "row 2: negative time -1"), ("315360001", "row 2: time 315360001")]
)
def test_a_bad_decimal_time_is_named_by_row(tmp_path: Path, value: str, said: str) -> None:
    """Before (adversarial review, session 12): 'bad time', no row, no reason."""
    from pool_engine.errors import TraceError

    rows = [("0", "a", "start"), (value, "a", "stop")]
    decimal = columns(rows)
    decimal["time"] = pa.array([Decimal(t) for t, _, _ in rows], pa.decimal128(20, 3))
    with pytest.raises(TraceError, match=said):
        load_trace(parquet(tmp_path / "d.parquet", decimal))
