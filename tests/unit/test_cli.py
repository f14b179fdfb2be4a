"""`eni-tuner simulate` as a user sees it: the table, the timeline file, the JSON."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from support.cli import run_tuner
from tuner.cli import cli

TRACE = """
time,node,event
0,a,start
1,a,start
300,b,start
"""


def test_table_output_lists_every_node_and_the_total(write: Callable[[str, str], Path]) -> None:
    result = CliRunner().invoke(cli, ["simulate", str(write("t.csv", TRACE))])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[1].split()[:3] == ["NODE", "MIN/MAX", "POD"]
    assert [line.split()[0] for line in lines[2:]] == ["a", "b", "total"]
    assert "slow release every 120 s" in result.stdout


def test_timeline_file_has_the_spec_header_and_one_row_per_change(
    write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    timeline = tmp_path / "timeline.csv"
    result = CliRunner().invoke(
        cli, ["simulate", str(write("t.csv", TRACE)), "--timeline", str(timeline), "-o", "json"]
    )
    assert result.exit_code == 0
    rows = list(csv.reader(timeline.read_text().splitlines()))
    assert rows[0] == ["time", "node", "bound", "in_use", "waiting", "idle"]
    # a: t0 start (5,1,0,4), t1 start (5,2,0,3), binds done t2 (6,..), t3 (7,..): B = P + M,
    # nothing to release.  b: idle 5 from t0, one pod at t300.
    assert rows[1:] == [
        ["0", "a", "5", "1", "0", "4"],
        ["0", "b", "5", "0", "0", "5"],
        ["1", "a", "5", "2", "0", "3"],
        ["2", "a", "6", "2", "0", "4"],
        ["3", "a", "7", "2", "0", "5"],
        ["300", "b", "5", "1", "0", "4"],
    ]


def test_help_teaches() -> None:
    result = CliRunner().invoke(cli, ["simulate", "--help"])
    assert result.exit_code == 0
    for option in ("--min-warm", "--max-warm", "--targets", "--quick-release", "--max-slots",
                   "--bind-latency", "--release-interval", "--timeline", "Examples"):  # fmt: skip
        assert option in result.stdout


def test_no_command_prints_the_help_not_a_one_line_error() -> None:
    """`eni-tuner` / `eni-exporter` alone printed the whole help squeezed into one
    `error: Usage: ...` line; now the help as --help lays it out, on stderr, exit 2."""
    import subprocess

    for program in ("eni-tuner", "eni-exporter"):
        done = subprocess.run([program], capture_output=True, text=True, check=False)
        assert done.returncode == 2, (program, done.stderr)
        assert done.stderr.startswith(f"Usage: {program} [OPTIONS] COMMAND"), done.stderr
        assert len(done.stderr.splitlines()) > 5 and "error:" not in done.stderr


@pytest.mark.parametrize(
    ("where", "line"),
    [
        (
            "missing/timeline.csv",
            "error: Invalid value for '--timeline': {path}: no such directory",
        ),
        ("", "error: Invalid value for '--timeline': '.' is a directory"),
        ("/dev/full", "error: /dev/full: No space left on device"),
        # session 9: it wrote a file named '-' (stdout carries the report)
        ("-", "error: Invalid value for '--timeline': '-': stdout carries the report"),
    ],
    ids=["no-directory", "empty", "disk-full", "dash"],
)
def test_a_timeline_file_that_cannot_be_written_is_one_line(
    write: Callable[[str, str], Path], tmp_path: Path, where: str, line: str
) -> None:
    """Found by an adversarial review (session 8): a FileNotFoundError, IsADirectoryError or
    'No space left on device' traceback from pyarrow, exit 1, after the replay."""
    if where == "/dev/full" and not Path(where).exists():
        pytest.skip("needs /dev/full")
    path = str(tmp_path / where) if where.startswith("missing") else where
    done = run_tuner("simulate", str(write("t.csv", TRACE)), "--timeline", path, "-o", "json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines()[-1].startswith(line.format(path=path))
    assert "Traceback" not in done.stderr
