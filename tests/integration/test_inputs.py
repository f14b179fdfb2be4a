"""Bad traces and targets files: one line naming file, line and problem; exit code 2."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pool_engine.errors import TraceError
from pool_engine.trace import from_rows, load_trace
from support.cli import TUNER, run_tuner
from tuner.cli import cli

Write = Callable[[str, str], Path]


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        ("time,node,event\n1,a,start\n2,a,strat\n", 3, "unknown event 'strat'"),
        ("time,node,event\n1,a,start\nsoon,a,stop\n", 3, "unparseable time 'soon'"),
        ("time,node\n1,a\n", 1, "missing column 'event'"),
        ("time,node,event\n1,a,start\n-4,a,stop\n", 3, "negative time"),
        ("time,node,event\n1,a,start\n2,,stop\n", 3, "empty node name"),
        ("time,node,event\n1,a,start\n,a,stop\n", 3, "missing time"),
        ("time,node,event\n1,a,start\n2024-01-01T00:00:00Z,a,stop\n", 3, "mixes seconds"),
        ("time,node,event\n1,a,start\n2,a\n", 3, "expected 3 fields, got 2"),
        ("time,node,event\n1,a,start\ninf,a,stop\n", 3, "time 'inf' is not a finite number"),
        ("time,node,event\n1,a,start\n1e308,a,stop\n", 3, "time '1e308' is above the limit"),
        # adversarial review, session 6: read as no mode column (all route-eni); Parquet
        # refused it
        (
            "time,node,event,mode,mode\n1,a,start,direct-eni,direct-eni\n",
            1,
            "column 'mode' appears twice",
        ),
    ],
)
def test_bad_trace_fails_with_one_line(
    write: Write, body: str, line: int, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write("bad.csv", body)
    with pytest.raises(TraceError) as caught:
        load_trace(trace)
    assert caught.value.line == line
    assert problem in str(caught.value)
    assert str(caught.value).startswith(f"{trace}:{line}: ")


def test_bad_trace_exit_code_and_single_stderr_line(write: Write) -> None:
    trace = write("bad.csv", "time,node,event\n0,a,start\n7,a,launch\n")
    done = run_tuner("simulate", str(trace), "-o", "json")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines == [f"error: {trace}:3: unknown event 'launch' (expected start or stop)"]


def test_a_bad_row_deep_in_a_big_trace_is_found(tmp_path: Path) -> None:
    trace = tmp_path / "big.csv"
    rows = [f"{t},n{t % 7},start" for t in range(300_000)]
    rows[250_000] = "250000,n1,stopp"
    trace.write_text("time,node,event\n" + "\n".join(rows) + "\n")
    with pytest.raises(TraceError, match=r":250002: unknown event 'stopp'"):
        load_trace(trace)


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        ("node,min_warm,max_warm\na,3,2\n", 2, "node 'a': min_warm 3 > max_warm 2"),
        (
            "node,min_warm,max_warm,max_slots\na,1,2,5\nb,1,2,-1\n",
            3,
            "node 'b': max_slots -1 is negative",
        ),
        ("node,min_warm,max_warm\na,one,2\n", 2, "node 'a': min_warm 'one' is not an integer"),
        ("node,min_warm\na,1\n", 1, "missing column 'max_warm'"),
        ("node,min_warm,max_warm\na,1,2\na,1,3\n", 3, "node 'a' listed twice"),
        (
            "node,min_warm,max_warm\na,1,99999999999999999999\n",
            2,
            "node 'a': max_warm 99999999999999999999 is above",
        ),
        # found by an adversarial review (session 5): the last column won, an extra field
        # was dropped
        ("node,min_warm,max_warm,min_warm\na,1,1,3\n", 1, "column 'min_warm' appears twice"),
        (
            "node,min_warm,max_warm,from_hour,to_hour\na,1,1,0,24,5\n",
            2,
            "6 fields, the header has 5",
        ),
    ],
)
@pytest.mark.parametrize(
    "command",
    [("simulate", "{trace}", "--targets"), ("recommend", "--trace", "{trace}", "--targets"),
     ("recommend", "--schedule", "--trace", "{trace}", "--targets"),
     ("backtest", "--trace", "{trace}", "--targets"),
     ("backtest", "--trace", "{trace}", "--recommended")],
)  # fmt: skip
def test_bad_targets_file(
    write: Write, body: str, line: int, problem: str, command: tuple[str, ...]
) -> None:
    """One line on stderr, before anything else (recommend and backtest printed the
    trace's 'loaded ...' first)."""
    trace = write("ok.csv", "time,node,event\n0,a,start\n7200,a,stop\n")
    targets = write("targets.csv", body)
    done = run_tuner(*(a.format(trace=trace) for a in command), str(targets), "-o", "json")
    assert done.returncode == 2
    assert done.stderr.strip().startswith(f"error: {targets}:{line}: {problem}")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--min-warm", "6", "--max-warm", "5"],
        ["--min-warm", "-1"],
        ["--max-slots", "-3"],
        ["--bind-latency", "0"],
        ["--release-interval", "-120"],
    ],
)
def test_bad_options_exit_2(write: Write, args: list[str]) -> None:
    trace = write("ok.csv", "time,node,event\n0,a,start\n")
    result = CliRunner().invoke(cli, ["simulate", str(trace), *args])
    assert result.exit_code == 2


def test_missing_trace_file(tmp_path: Path) -> None:
    done = run_tuner("simulate", str(tmp_path / "nope.csv"))
    assert done.returncode == 2
    assert "nope.csv: no such file" in done.stderr


def test_parquet_trace_equals_csv(write: Write, tmp_path: Path) -> None:
    csv_trace = load_trace(write("t.csv", "time,node,event\n3,b,start\n0,a,start\n3,a,stop\n"))
    table = pa.table(
        {"time": [3.0, 0.0, 3.0], "node": ["b", "a", "a"], "event": ["start", "start", "stop"]}
    )
    pq.write_table(table, tmp_path / "t.parquet")
    parquet_trace = load_trace(tmp_path / "t.parquet")
    assert parquet_trace.nodes == csv_trace.nodes == ["b", "a"]
    assert parquet_trace.times.tolist() == csv_trace.times.tolist() == [3.0, 0.0, 3.0]
    assert parquet_trace.kinds.tolist() == csv_trace.kinds.tolist()


def test_bad_parquet_row_is_named(tmp_path: Path) -> None:
    table = pa.table({"time": [1.0, 2.0], "node": ["a", "a"], "event": ["start", "halt"]})
    pq.write_table(table, tmp_path / "bad.parquet")
    with pytest.raises(TraceError, match=r"bad.parquet:row 2: unknown event 'halt'"):
        load_trace(tmp_path / "bad.parquet")


def test_unsorted_rows_group_by_node_and_keep_ties_in_file_order() -> None:
    trace = from_rows(
        [5.0, 1.0, 5.0, 0.0, 5.0],
        ["a", "b", "a", "a", "b"],
        ["stop", "start", "start", "start", "stop"],
    )
    assert trace.nodes == ["a", "b"]
    a_times, a_kinds = trace.node_rows(0)
    assert a_times.tolist() == [0.0, 5.0, 5.0]
    assert a_kinds.tolist() == [0, 1, 0]  # start, then the tie in file order: stop, start
    assert trace.end == 5.0


def test_rfc3339_with_space_separator_is_accepted(write: Write) -> None:
    trace = load_trace(
        write(
            "t.csv",
            "time,node,event\n2024-01-01 00:00:10+00:00,a,stop\n2024-01-01 00:00:00+00:00,a,start\n",
        )
    )
    assert trace.times.tolist() == [0.0, 10.0]
    assert trace.origin is not None


@pytest.mark.parametrize(
    ("first", "seconds"),
    [("2024-01-01t00:00:00z", 10.0), ("2023-12-31T23:59:60Z", 10.0),
     ("2023-12-31T23:59:60.5+00:00", 9.5)],
    ids=["lower-case", "leap-second", "leap-second-fraction"],
)  # fmt: skip
def test_rfc3339_in_lower_case_and_at_a_leap_second_is_accepted(
    write: Write, first: str, seconds: float
) -> None:
    """RFC 3339 allows 't' and 'z' in lower case, and second 60; --start/--end read both,
    a trace refused them as unparseable (adversarial review, session 6). A leap second is
    the next second's instant, as for --start."""
    trace = load_trace(write("t.csv", f"time,node,event\n{first},a,start\n"
                                      "2024-01-01T00:00:10Z,a,stop\n"))  # fmt: skip
    assert trace.times.tolist() == [0.0, seconds]


def test_json_output_is_the_document_alone(write: Write) -> None:
    trace = write("ok.csv", "time,node,event\n0,a,start\n")
    done = run_tuner("simulate", str(trace), "-o", "json")
    assert done.returncode == 0
    assert done.stdout.lstrip().startswith("{") and done.stdout.rstrip().endswith("}")
    assert "loaded" in done.stderr


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (["--min-warm", "99999999999999999999"], "--min-warm"),
        (["--max-warm", "99999999999999999999"], "--max-warm"),
        (["--max-slots", "2147483648"], "--max-slots"),
        (["--bind-latency", "inf"], "--bind-latency"),
        (["--bind-latency", "nan"], "--bind-latency"),
        (["--release-interval", "1e308"], "--release-interval"),
    ],
)
def test_out_of_range_flags_are_refused_in_one_line(
    write: Write, flags: list[str], problem: str
) -> None:
    """Numbers past what any pool or clock holds are typos, not settings: exit 2, no
    traceback (a 20-digit --min-warm used to end in OverflowError, exit 1; inf and nan
    latencies used to be accepted)."""
    trace = write("t.csv", "time,node,event\n0,a,start\n5,a,stop\n")
    done = run_tuner("simulate", str(trace), *flags, "-o", "json")
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert problem in done.stderr


def test_a_parquet_trace_with_a_column_twice_is_one_line(tmp_path: Path) -> None:
    """As in CSV; before, pyarrow's KeyError ended in a 34-line traceback, exit 1."""
    table = pa.table([pa.array([0.0, 5.0]), pa.array(["a", "a"]), pa.array(["start", "stop"]),
                      pa.array(["b", "b"])], names=["time", "node", "event", "node"])  # fmt: skip
    path = tmp_path / "dup.parquet"
    pq.write_table(table, path)
    done = run_tuner("simulate", str(path), "-o", "json")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"error: {path}: column 'node' appears twice"


@pytest.mark.parametrize("schedule", [[], ["--schedule"]])
def test_a_targets_file_on_a_pipe_is_read_once(schedule: list[str]) -> None:
    """`recommend --targets <(...)`: the file is read once. Session 11 (an adversarial
    review): it was read to check it and again to use it, so a pipe's second read found
    nothing ("missing column 'node'"), after the history had loaded."""
    sample = Path(__file__).parents[2] / "docs" / "examples" / "churn-sample.csv"
    targets = "node,min_warm,max_warm\nnode-0,3,3\n"
    done = subprocess.run(
        [*TUNER, "recommend", "--trace", str(sample), "--targets", "/dev/stdin", *schedule,
         "-o", "json"],
        input=targets, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    node = next(r for r in json.loads(done.stdout) if r["node"] == "node-0")
    assert node["current"] == {"min_warm": 3, "max_warm": 3}
