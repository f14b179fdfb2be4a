"""The tuner's replays and `backtest` take scheduled targets through unchanged
(docs/contracts/schedules.md), and a scheduled pool's idle time before a node's
first row is the replay's own."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pool_engine.config import Targets
from pool_engine.overrides import load_overrides
from pool_engine.replay import NodeTargets, Run, SimulationSettings, idle_while_empty, replay
from pool_engine.trace import from_rows
from pool_engine.warm_schedule import WarmSchedule
from support.traces import bursty, quiet, trace_text
from tuner.backtest import run as backtest
from tuner.cli import cli
from tuner.history import load_history

Write = Callable[[str, str], Path]
NIGHT = "node,min_warm,max_warm,from_hour,to_hour\nbusy,8,8,0,12\nbusy,0,1,12,24\n"


@settings(max_examples=100, deadline=None)
@given(
    hours=st.lists(st.sampled_from([Targets(0, 0), Targets(2, 4), Targets(5, 5)]), min_size=24, max_size=24),
    first=st.floats(1.0, 3 * 86400.0, allow_nan=False),
    quick=st.booleans(),
)  # fmt: skip
def test_idle_while_empty_is_the_replay_up_to_the_first_row(
    hours: list[Targets], first: float, quick: bool
) -> None:
    """A node whose only row (an ignored stop) is at ``first`` is idle exactly that."""
    schedule = WarmSchedule(tuple(hours))
    trace = from_rows([first], ["n"], ["stop"])
    sim = SimulationSettings(quick_release=quick)
    runs = [Run(0, NodeTargets.scheduled(schedule, 3)), Run(0, NodeTargets(Targets(2, 4)))]
    want = replay(trace, runs, sim).per_run.idle_slot_seconds
    got = idle_while_empty(runs, sim, np.array([first, first]), trace.day_offset())
    assert list(got) == pytest.approx(list(want), abs=1e-6)


def test_backtest_replays_a_schedule_as_given(write: Write) -> None:
    trace = write("t.csv", trace_text(quiet("calm") + bursty("busy", 8)))
    history = load_history(trace)
    sim = SimulationSettings()
    night = load_overrides(write("night.csv", NIGHT))
    assert night["busy"].schedule is not None
    default = NodeTargets(Targets(5, 5))
    result = backtest(history, sim, {}, night, default)
    k = history.nodes.index("busy")
    stats = replay(history.trace, [Run(k, night["busy"], int(history.existing[k]))], sim)
    calm = replay(
        history.trace, [Run(history.nodes.index("calm"), default, 0)], sim
    ).per_run.cold_starts[0]
    assert result.totals["recommended"]["cold_starts"] == stats.per_run.cold_starts[0] + calm
    # the schedule matters: hour 0's pair all day would do otherwise
    static = backtest(history, sim, {}, {"busy": NodeTargets(Targets(8, 8))}, default)
    assert static.totals["recommended"]["cold_starts"] < result.totals["recommended"]["cold_starts"]
    assert (
        static.totals["recommended"]["idle_slot_hours"]
        > result.totals["recommended"]["idle_slot_hours"]
    )


def test_recommend_and_backtest_read_scheduled_current_targets(write: Write) -> None:
    trace = write("t.csv", trace_text(quiet("calm") + bursty("busy", 8)))
    current = write("night.csv", NIGHT)
    runner = CliRunner()
    args = ["--trace", str(trace), "--targets", str(current), "-o", "json"]
    done = runner.invoke(cli, ["backtest", *args])
    assert done.exit_code == 0, done.output
    totals = json.loads(done.stdout)
    recs = json.loads(runner.invoke(cli, ["recommend", *args]).stdout)
    busy = next(r for r in recs if r["node"] == "busy")
    assert busy["current"] == {"min_warm": 8, "max_warm": 8}  # hour 0's pair
    assert totals["current"]["cold_starts"] == sum(
        r["expected_before"]["cold_starts"] for r in recs
    )
    idle = sum(r["expected_before"]["idle_slot_seconds"] for r in recs) / 3600
    assert totals["current"]["idle_slot_hours"] == pytest.approx(idle, abs=1e-3)
