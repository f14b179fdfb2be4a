"""`eni-tuner backtest`: totals that agree with the analysis, hourly series that add up
to the totals, the headline and the per-node rows from the same numbers, the panels
chosen for a reason, and under an hour of history a one-line refusal (exit 3)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pool_engine.config import Targets
from pool_engine.errors import HistoryUnavailable
from pool_engine.replay import NodeTargets, SimulationSettings
from pool_engine.trace import from_rows
from support.traces import bursty, quiet, trace_text
from tuner import backtest
from tuner.backtest_result import Why
from tuner.cli import cli
from tuner.history import from_trace, load_history

Write = Callable[[str, str], Path]
DEFAULT = NodeTargets(Targets(5, 5))


def pair(m: int, big_m: int) -> NodeTargets:
    return NodeTargets(Targets(m, big_m))


def test_backtest_totals_and_reports(write: Write, tmp_path: Path) -> None:
    trace = write("t.csv", trace_text(quiet("calm") + bursty("busy", 8)))
    png, page = tmp_path / "b.png", tmp_path / "b.html"
    runner = CliRunner()
    result = runner.invoke(cli, ["backtest", "--trace", str(trace), "--png", str(png),
                                 "--html", str(page), "-o", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)
    recs = json.loads(runner.invoke(cli, ["recommend", "--trace", str(trace), "-o", "json"]).stdout)
    for name, key in (("current", "expected_before"), ("recommended", "expected_after")):
        assert totals[name]["cold_starts"] == sum(r[key]["cold_starts"] for r in recs)
        idle = sum(r[key]["idle_slot_seconds"] for r in recs) / 3600
        assert abs(totals[name]["idle_slot_hours"] - idle) < 1e-3
    assert totals["recommended"]["cold_start_rate"] <= 0.01 < totals["current"]["cold_start_rate"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = page.read_text()
    assert "data:image/png;base64," in html
    for rec in recs:  # the table's status column is the recommendation's
        assert f"<td>{rec['node']}</td>" in html and f"<td>{rec['status']}</td>" in html


def test_backtest_with_given_targets(write: Write) -> None:
    trace = write("t.csv", trace_text(bursty("busy", 8)))
    targets = write("rec.csv", "node,min_warm,max_warm\nbusy,1,1\n")
    result = CliRunner().invoke(cli, ["backtest", "--trace", str(trace), "--recommended",
                                      str(targets), "-o", "json"])  # fmt: skip
    totals = json.loads(result.stdout)
    assert totals["recommended"]["cold_starts"] > totals["current"]["cold_starts"]


def test_the_table_output_leads_with_the_headline(write: Write) -> None:
    trace = write("t.csv", trace_text(quiet("calm") + bursty("busy", 8)))
    targets = write("rec.csv", "node,min_warm,max_warm\ncalm,1,2\n")
    result = CliRunner().invoke(cli, ["backtest", "--trace", str(trace), "--recommended",
                                      str(targets)])  # fmt: skip
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Recommended targets save ") and "idle slot-hours" in lines[0]
    assert lines[1].startswith("cold starts 144 -> 144 (rate ")


def test_wide_adds_a_row_per_node_with_each_set_of_targets(write: Write) -> None:
    """-o wide printed exactly what -o table did."""
    trace = write("t.csv", trace_text(quiet("calm") + bursty("busy", 8)))
    targets = write("rec.csv", "node,min_warm,max_warm\ncalm,1,2\n")
    args = ["backtest", "--trace", str(trace), "--recommended", str(targets)]
    table = CliRunner().invoke(cli, [*args, "-o", "table"]).stdout
    wide = CliRunner().invoke(cli, [*args, "-o", "wide"]).stdout
    assert wide.startswith(table) and wide != table
    rows = {line.split()[0]: line.split() for line in wide.splitlines()[-2:]}
    assert rows["calm"][1] == "5/5" and rows["calm"][4] == "1/2" and rows["calm"][-1] == "changed"
    assert rows["busy"][1] == rows["busy"][4] == "5/5" and rows["busy"][-1] == "unchanged"


def test_headline_and_rows_are_the_totals(write: Write) -> None:
    history = load_history(write("t.csv", trace_text(quiet("calm") + bursty("busy", 8))))
    result = backtest.run(history, SimulationSettings(), {}, {"calm": pair(1, 2),
                          "busy": pair(2, 3)}, DEFAULT)  # fmt: skip
    (head,) = result.headlines()
    before, after = result.totals["current"], result.totals["recommended"]
    assert head.idle_saved() == before["idle_slot_hours"] - after["idle_slot_hours"]
    assert head.idle_saved_share() == head.idle_saved() / before["idle_slot_hours"]
    assert (head.before.cold_starts, head.after.cold_starts) == (
        before["cold_starts"],
        after["cold_starts"],
    )
    assert f"{head.idle_saved():,.1f} of {before['idle_slot_hours']:,.1f}" in head.idle_text()
    assert f"{head.idle_saved_share():.1%}" in head.idle_text()
    assert f"{before['cold_starts']:,} -> {after['cold_starts']:,}" in head.cold_text()
    assert f"{before['cold_start_rate']:.2%} -> {after['cold_start_rate']:.2%}" in head.cold_text()
    assert sorted(r.node for r in result.nodes) == sorted(history.nodes)
    for s, name in enumerate(result.names):
        assert (
            sum(r.outcomes[s].cold_starts for r in result.nodes)
            == result.totals[name]["cold_starts"]
        )
    saved = [r.idle_saved() for r in result.nodes]
    assert saved == sorted(saved, reverse=True)  # the table starts with the biggest saving


def test_panels_are_the_biggest_savings_then_more_cold_starts(write: Write) -> None:
    rows = quiet("a") + quiet("b") + quiet("c") + bursty("d", 6) + bursty("e", 3)
    history = load_history(write("t.csv", trace_text(rows)))
    tested = {"a": pair(1, 1), "b": pair(2, 2), "c": pair(3, 3), "d": pair(4, 4), "e": pair(6, 6)}
    result = backtest.run(history, SimulationSettings(), {}, tested, DEFAULT, worst=2)
    saved = {r.node: r.idle_saved() for r in result.nodes}
    assert saved["a"] > saved["b"] > max(saved["c"], saved["d"]) > 0 > saved["e"]
    assert [r.node for r in result.nodes if r.cold_added() > 0] == ["d"]
    chosen = [(p.row.node, p.why) for p in result.panels]
    assert chosen == [("a", Why.SAVES), ("b", Why.SAVES), ("d", Why.COLDER), ("e", Why.COSTLIER)]
    assert result.panels[3].title().startswith("e  [adds the most idle]\ncurrent 5/5 -> "
                                               "recommended 6/6: adds ")  # fmt: skip
    titles = [p.title() for p in result.panels]
    assert titles[0].startswith("a  [saves the most idle]\ncurrent 5/5 -> recommended 1/1: ")
    assert titles[2].startswith("d  [cold starts grow]\ncurrent 5/5 -> recommended 4/4: ")
    d = result.panels[2].row
    assert titles[2].endswith(f"cold starts {d.outcomes[0].cold_starts:,} -> "
                              f"{d.outcomes[1].cold_starts:,}")  # fmt: skip
    # a node drawn for its saving says so when its cold starts grow as well
    both = backtest.run(history, SimulationSettings(), {}, {"d": pair(0, 1)}, DEFAULT, worst=1)
    assert both.panels[0].title().startswith("d  [saves the most idle; cold starts grow]\n")


def test_no_panel_when_nothing_changes(write: Write) -> None:
    history = load_history(write("t.csv", trace_text(quiet("a"))))
    result = backtest.run(history, SimulationSettings(), {}, {}, DEFAULT)
    assert result.panels == ()
    assert [r.status for r in result.nodes] == ["unchanged"]
    assert result.headlines()[0].idle_saved() == 0.0


nodes = st.sampled_from(["a", "b", "c"])
rows = st.lists(
    st.tuples(st.floats(0, 4 * 3600.0, allow_nan=False).map(lambda t: round(t, 1)), nodes,
              st.sampled_from(["start", "start", "stop"])),
    min_size=1, max_size=80,
)  # fmt: skip
pairs = st.tuples(st.integers(0, 4), st.integers(0, 4)).map(lambda p: pair(min(p), max(p)))


@settings(max_examples=40, deadline=None)
@given(raw=rows, tested=st.dictionaries(nodes, pairs))
# a cold start at exactly the end, on a whole hour, belongs to the last hour
@example(raw=[(0.0, "a", "start"), (3600.0, "a", "start")], tested={"a": pair(0, 0)})
@example(raw=[(0.0, "a", "start")], tested={})  # no hour at all
def test_hourly_series_add_up_to_the_totals(
    raw: list[tuple[float, str, str]], tested: dict[str, NodeTargets]
) -> None:
    raw = sorted(raw, key=lambda r: r[0])
    trace = from_rows([r[0] for r in raw], [r[1] for r in raw], [r[2] for r in raw])
    result = backtest.run(from_trace(trace), SimulationSettings(), {}, tested, DEFAULT, worst=3)
    width = np.diff(result.edges)
    # the history begins at its first row (a numeric trace is re-based there)
    assert result.edges[0] == 0 and result.hours == (trace.end - min(trace.times)) / 3600
    assert np.all(width > 0) and np.all(width <= 1)
    for series, outcome in zip(result.cluster, result.outcomes, strict=True):
        assert np.all(series.idle >= 0) and np.all(series.cold >= 0)
        assert abs(float(series.idle @ width) - outcome.idle_slot_hours) < 1e-6
        assert series.cold.sum() == outcome.cold_starts
    for panel in result.panels:
        for series, outcome in zip(panel.series, panel.row.outcomes, strict=True):
            assert abs(float(series.idle @ width) - outcome.idle_slot_hours) < 1e-6


def test_under_an_hour_of_history_is_refused(write: Write, tmp_path: Path) -> None:
    trace = write("t.csv", "time,node,event\n0,a,start\n3000,a,stop\n")
    png = tmp_path / "b.png"
    done = subprocess.run(
        [sys.executable, "-c", "from tuner.cli import main; main()", "backtest", "--trace",
         str(trace), "--png", str(png), "-o", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3
    assert done.stdout == "" and not png.exists()
    assert done.stderr.strip().splitlines()[-1] == (
        "error: cannot backtest: the history spans 50 min; a backtest needs at least 1 h"
    )


def test_an_output_file_in_no_directory_is_refused_before_any_work(
    write: Write, tmp_path: Path
) -> None:
    """--png/--html into a directory that does not exist: one line, exit 2, before the
    history is read (it was a FileNotFoundError traceback, exit 1, after the replays)."""
    trace = write("t.csv", trace_text(bursty("a", 10)))
    for flag in ("--png", "--html"):
        done = subprocess.run(
            [sys.executable, "-c", "from tuner.cli import main; main()", "backtest", "--trace",
             str(trace), flag, str(tmp_path / "missing" / "report"), "-o", "json"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert "no such directory" in line and "Traceback" not in done.stderr


def test_an_hour_is_an_hour_of_data_not_of_the_window() -> None:
    """From Prometheus a window may begin long before the data: 7 minutes of data in a
    2 h window passed the 1 h check (adversarial review, session 5)."""
    history = from_trace(from_rows([0.0, 7200.0], ["a", "a"], ["start", "stop"]))
    backtest.require_an_hour(history)  # two hours of its own
    late = dataclasses.replace(history, first=np.array([7200.0 - 420.0]))
    with pytest.raises(HistoryUnavailable, match="the history spans 7 min"):
        backtest.require_an_hour(late)
