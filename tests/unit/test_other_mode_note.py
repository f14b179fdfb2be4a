"""A trace with rows of both modes: `recommend --mode` analyses that pool and says how
many nodes it left out for having the other mode's rows only, and how to get theirs (one
stderr line; nothing on stdout changes); without --mode it analyses both, no note."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tuner.cli import cli

ROWS = """time,node,event,mode
0,a,start,route-eni
30,a,start,route-eni
60,a,stop,route-eni
10,b,start,direct-eni
40,b,stop,direct-eni
20,c,start,direct-eni
"""


def run(tmp_path: Path, *args: str) -> tuple[list[str], str]:
    trace = tmp_path / "both.csv"
    trace.write_text(ROWS)
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(trace), *args, "-o", "json"])
    assert result.exit_code == 0, result.output
    return [r["node"] for r in json.loads(result.stdout)], result.stderr


def test_the_nodes_of_the_other_mode_are_counted_on_stderr(tmp_path: Path) -> None:
    nodes, err = run(tmp_path, "--mode", "route-eni")
    assert nodes == ["a"]
    assert "note: 2 node(s) have direct-eni rows only" in err and "--mode direct-eni" in err
    nodes, err = run(tmp_path, "--mode", "direct-eni")
    assert nodes == ["b", "c"]
    assert "note: 1 node(s) have route-eni rows only" in err and "--mode route-eni" in err


def test_without_mode_both_pools_and_no_note(tmp_path: Path) -> None:
    nodes, err = run(tmp_path)
    assert nodes == ["a", "b", "c"] and "note:" not in err
    assert "of 1 route-eni nodes" in err and "of 2 direct-eni nodes" in err


def test_a_trace_of_direct_eni_rows_only_is_analysed_without_mode(tmp_path: Path) -> None:
    trace = tmp_path / "direct.csv"
    trace.write_text("time,node,event,mode\n0,b,start,direct-eni\n30,b,start,direct-eni\n")
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(trace), "-o", "json"])
    assert result.exit_code == 0, result.output
    assert [(r["node"], r["mode"]) for r in json.loads(result.stdout)] == [("b", "direct-eni")]


def test_a_trace_of_one_mode_has_no_note(tmp_path: Path) -> None:
    trace = tmp_path / "route.csv"
    trace.write_text("time,node,event\n0,a,start\n30,a,start\n")
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(trace), "-o", "json"])
    assert result.exit_code == 0 and "note:" not in result.stderr
