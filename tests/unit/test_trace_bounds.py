"""Trace bounds (docs/contracts/trace.md, "Limits"): every time finite, at most 10
years from time 0; a file with no rows refused; header names may carry spaces."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pool_engine.errors import TraceError
from pool_engine.trace import from_rows, load_trace
from pool_engine.tracecheck import MAX_SECONDS
from support.cli import run_tuner

Write = Callable[[str, str], Path]
HEADER = "time,node,event\n"


def refusal(path: Path) -> TraceError:
    with pytest.raises(TraceError) as caught:
        load_trace(path)
    return caught.value


def test_the_limit_is_ten_years() -> None:
    assert MAX_SECONDS == 10 * 365 * 86400 == 315_360_000


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("inf", "time 'inf' is not a finite number"),
        ("-inf", "time '-inf' is not a finite number"),
        ("nan", "time 'nan' is not a finite number"),
        ("Infinity", "time 'Infinity' is not a finite number"),
        ("1e308", "time '1e308' is above the limit of 315360000 s (10 years)"),
        ("315360000.5", "time '315360000.5' is above the limit"),
        ("99999999999999999999999", "is above the limit"),
        ("-1", "negative time '-1'"),
    ],
)
def test_a_time_out_of_bounds_is_named_by_line(write: Write, value: str, problem: str) -> None:
    path = write("t.csv", f"{HEADER}0,a,start\n{value},a,stop\n5,a,start\n")
    error = refusal(path)
    assert (error.line, str(error)) == (3, f"{path}:3: {error.problem}")
    assert problem in error.problem


def test_the_limit_itself_is_accepted(write: Write) -> None:
    trace = load_trace(write("t.csv", f"{HEADER}0,a,start\n315360000,a,stop\n"))
    assert trace.end == MAX_SECONDS


@pytest.mark.parametrize("value", ["inf", "1e308"])
@pytest.mark.parametrize("command", ["simulate", "recommend", "backtest"])
def test_every_command_refuses_an_endless_trace_at_once(
    write: Write, command: str, value: str
) -> None:
    path = write("t.csv", f"{HEADER}0,a,start\n{value},a,stop\n")
    args = [command, str(path)] if command == "simulate" else [command, "--trace", str(path)]
    done = run_tuner(*args, "-o", "json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: {path}:3: time '{value}'")


def test_json_at_the_limit_is_strict_json(write: Write) -> None:
    path = write("t.csv", f"{HEADER}0,a,start\n{MAX_SECONDS:.0f},a,stop\n")
    done = run_tuner("simulate", str(path), "--min-warm", "0", "--max-warm", "9", "-o", "json")
    assert done.returncode == 0, done.stderr

    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} in the JSON output")

    document = json.loads(done.stdout, parse_constant=no_constants)
    assert document["end"] == MAX_SECONDS


@pytest.mark.parametrize(
    ("rows", "line", "problem"),
    [
        (
            ["2000-01-01T00:00:00Z,a,start", "2010-01-01T00:00:00Z,a,stop"],
            3,
            "time '2010-01-01T00:00:00Z' is 315,619,200 s after line 2's time",
        ),
        (
            ["2024-01-01T00:00:00Z,a,start", "2024-06-01T00:00:00Z,a,stop",
             "0001-01-01T00:00:00Z,a,start"],
            4,
            "time '0001-01-01T00:00:00Z' is out of range (years 1678 to 2261)",
        ),
        (
            ["2024-01-01 00:00:00+00:00,a,start", "9999-01-01 00:00:00+00:00,a,stop"],
            3,
            "time '9999-01-01 00:00:00+00:00' is out of range",
        ),
    ],
)  # fmt: skip
def test_rfc3339_times_span_at_most_the_limit(
    write: Write, rows: list[str], line: int, problem: str
) -> None:
    error = refusal(write("t.csv", HEADER + "\n".join(rows) + "\n"))
    assert error.line == line
    assert problem in error.problem


def test_rfc3339_times_within_the_limit_are_accepted(write: Write) -> None:
    rows = "2020-01-01T00:00:00Z,a,start\n2029-12-29T00:00:00Z,a,stop\n"
    trace = load_trace(write("t.csv", HEADER + rows))
    assert trace.end <= MAX_SECONDS


@pytest.mark.parametrize(
    ("column", "row", "problem"),
    [
        (pa.array([0.0, float("inf"), 1.0]), 2, "time inf is not a finite number"),
        (pa.array([0.0, 1.0, float("nan")]), 3, "time nan is not a finite number"),
        (pa.array([0.0, 1e308, 1.0]), 2, "time 1e+308 is above the limit of 315360000 s"),
        (pa.array([0, 2**63 - 1, 1], pa.int64()), 2, "is above the limit"),
        (pa.array([0, 2**64 - 1, 1], pa.uint64()), 2, "is above the limit"),
        (
            pa.array([datetime(2020, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC),
                      datetime(2020, 1, 2, tzinfo=UTC)], pa.timestamp("s", tz="UTC")),
            2,
            "after row 1's time",
        ),
        (
            pa.array([datetime(2020, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC),
                      datetime(2020, 1, 2, tzinfo=UTC)], pa.timestamp("s", tz="UTC")),
            2,
            "is out of range (years 1678 to 2261)",
        ),
    ],
)  # fmt: skip
def test_a_parquet_time_out_of_bounds_is_named_by_row(
    tmp_path: Path, column: pa.Array, row: int, problem: str
) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"time": column, "node": ["a"] * 3, "event": ["start"] * 3}), path)
    error = refusal(path)
    assert str(error).startswith(f"{path}:row {row}: ")
    assert problem in error.problem


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_rows_from_code_refuse_non_finite_times(value: float) -> None:
    with pytest.raises(TraceError, match=r"^<rows>:row 2: time \S+ is not a finite number"):
        from_rows([0.0, value], ["a", "a"], ["start", "stop"])


def test_rows_from_code_may_span_longer_than_a_file() -> None:
    thirty_years = 30 * 365 * 86400.0
    trace = from_rows([0.0, thirty_years], ["a", "a"], ["start", "stop"])
    assert trace.end == thirty_years


@pytest.mark.parametrize("body", [HEADER, "time,node,event,pod\n\n\n"])
def test_a_csv_without_rows_is_refused(write: Write, tmp_path: Path, body: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(body)
    assert str(refusal(path)) == f"{path}: no events (the file has a header but no rows)"


def test_a_parquet_without_rows_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    empty = pa.table({"time": pa.array([], pa.float64()), "node": pa.array([], pa.string()),
                      "event": pa.array([], pa.string())})  # fmt: skip
    pq.write_table(empty, path)
    assert "no events" in str(refusal(path))


@pytest.mark.parametrize("command", ["simulate", "recommend", "backtest"])
def test_every_command_refuses_a_header_only_trace(tmp_path: Path, command: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER)
    args = [command, str(path)] if command == "simulate" else [command, "--trace", str(path)]
    done = run_tuner(*args, "-o", "json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {path}: no events (the file has a header but no rows)"
    )


def test_header_names_may_have_spaces_around_them(write: Write) -> None:
    plain = load_trace(write("a.csv", f"{HEADER}3,b,start\n0,a,start\n3,a,stop\n"))
    spaced = load_trace(write("b.csv", " time , node,event ,pod\n3,b,start,x\n0,a,start,y\n3,a,stop,y\n"))  # fmt: skip
    assert spaced.nodes == plain.nodes
    assert spaced.times.tolist() == plain.times.tolist()
    assert spaced.kinds.tolist() == plain.kinds.tolist()


def test_a_bad_row_under_a_spaced_header_is_named(write: Write) -> None:
    path = write("t.csv", "time, node, event\n0,a,start\n1,a,launch\n")
    assert str(refusal(path)) == f"{path}:3: unknown event 'launch' (expected start or stop)"


def test_a_column_named_twice_is_refused(write: Write) -> None:
    path = write("t.csv", "time,node,event,node \n0,a,start,b\n")
    assert str(refusal(path)) == f"{path}:1: column 'node' appears twice"


def test_a_byte_order_mark_is_not_part_of_the_header(tmp_path: Path) -> None:
    """Spreadsheets save CSV with a UTF-8 BOM; the first column is still `time`, in the
    trace and in a targets file."""
    from pool_engine.overrides import load_overrides

    trace = tmp_path / "bom.csv"
    trace.write_bytes(b"\xef\xbb\xbftime,node,event\n0,a,start\n10,a,stop\n")
    loaded = load_trace(trace)
    assert loaded.nodes == ["a"] and loaded.end == 10.0
    targets = tmp_path / "targets.csv"
    targets.write_bytes(b"\xef\xbb\xbfnode,min_warm,max_warm\na,1,2\n")
    assert load_overrides(targets)["a"].targets.max_warm == 2
