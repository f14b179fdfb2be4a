"""`eni-tuner` on a history that holds nothing to analyse: one line on stderr, the exit
code of docs/contracts/cli.md, nothing on stdout (never an empty table and exit 0)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import run_tuner
from support.prom import prometheus

pytestmark = pytest.mark.prometheus


@pytest.fixture(scope="module")
def empty_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus that scraped nothing: no exporter, no kube-state-metrics."""
    with prometheus(tmp_path_factory.mktemp("prometheus")) as url:
        yield url


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.stdout == ""
    assert done.stderr.startswith("error: ") and len(done.stderr.splitlines()) == 1, done.stderr
    return done.stderr


@pytest.mark.parametrize("command", ["recommend", "backtest"])
@pytest.mark.parametrize("source", ["exporter", "kube-state-metrics"])
def test_no_churn_in_the_window_is_exit_3(empty_prometheus: str, command: str, source: str) -> None:
    done = run_tuner(command, "--prometheus-url", empty_prometheus, "--source", source,
                 "--start", "-2h", "-o", "json")  # fmt: skip
    assert done.returncode == 3
    assert empty_prometheus in one_line(done)
    if command == "recommend":  # without --mode it looked at both pools (session 9)
        assert one_line(done).rstrip().endswith("(of either pool)")


def test_an_empty_window_is_exit_3(empty_prometheus: str) -> None:
    done = run_tuner(
        "recommend", "--prometheus-url", empty_prometheus, "--start", "-1h", "--end", "-2h"
    )
    assert done.returncode == 3
    assert "(--end is not after --start)" in one_line(done)


@pytest.mark.parametrize("flags", [["--start", "-2h", "--end", "now"], ["--start", "-2h"]])
def test_a_window_with_a_trace_is_exit_2_not_ignored(tmp_path: Path, flags: list[str]) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("time,node,event\n0,a,start\n3600,a,stop\n")
    done = run_tuner("recommend", "--trace", str(trace), *flags)
    assert done.returncode == 2
    given = "/".join(f for f in flags if f.startswith("--"))
    one_line(done)
    verb = "apply" if "--end" in flags else "applies"
    assert done.stderr.startswith(f"error: {given} {verb} to Prometheus; a trace is read whole")


@pytest.mark.parametrize("command", ["recommend", "backtest"])
def test_a_header_only_trace_is_exit_2(tmp_path: Path, command: str) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("time,node,event\n")
    done = run_tuner(command, "--trace", str(trace))
    assert done.returncode == 2
    assert str(trace) in one_line(done)
