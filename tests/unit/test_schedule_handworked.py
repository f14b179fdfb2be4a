"""Time-of-day schedules worked out by hand (docs/contracts/schedules.md), through
`eni-tuner simulate --targets FILE -o json`, and the targets file's refusals.

Notation as in test_handworked.py: B bound, K binds in flight, P pods holding a slot,
m/M min/max warm. Binds take 2 s, rounds tick at 120 s, 240 s, ... (so every hour
boundary of a numeric trace is a tick), slow release unless said otherwise.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pool_engine.config import Targets
from pool_engine.errors import TargetsError
from pool_engine.overrides import load_overrides
from pool_engine.replay import NodeTargets, SimulationSettings
from pool_engine.simulator import simulate
from pool_engine.trace import load_trace
from pool_engine.warm_schedule import WarmSchedule
from support.engine_replay import replay_node

Sim = Callable[..., dict[str, Any]]
Write = Callable[[str, str], Path]
HEADER = "node,min_warm,max_warm,max_slots,from_hour,to_hour\n"


def assert_stats(got: dict[str, Any], want: dict[str, Any]) -> None:
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_rows_then_the_change_then_the_periodic_round(write: Write, simulate_json: Sim) -> None:
    # 4/4 in hour 0, 0/0 from 01:00. B starts at 4.
    # t10 start: hit, P=1, R1 wants 5 -> bind (t12).  t12 B=5.  t20 stop: P=0.
    # t120 round: excess 5-4=1 -> release, B=4.  Nothing more until 3600.
    # t3600: the row first, under the old targets: start, hit, P=1, R1 wants 1+4=5 ->
    # bind (t3602), K=1.  Then the change (R7): m=0 M=0, R1 nothing; its round:
    # excess 4+1-1=4, slow -> release 1, B=3.  Then the tick's own round (3600 = 30 x
    # 120): excess 3 -> release 1, B=2.  Two slots at one instant.
    # t3602 B=3.  t3720 round: release 1, B=2.  t3840: release 1, B=1.  t4000 stop; end.
    # idle  = 4*10 + 3*2 + 4*8 + 5*100 + 4*3480 + 1*2 + 2*118 + 1*120 + 0*160 = 14856
    # bound = 4*10 + 4*2 + 5*8 + 5*100 + 4*3480 + 2*2 + 3*118 + 2*120 + 1*160 = 15266
    trace = write("t.csv", "time,node,event\n10,a,start\n20,a,stop\n3600,a,start\n4000,a,stop")
    targets = write("targets.csv", HEADER + "a,4,4,,0,1\na,0,0,,1,24")
    out = simulate_json(trace, "--targets", str(targets))
    want = {
        "pod_starts": 2, "warm_hits": 2, "cold_starts": 0, "bind_ops": 2, "release_ops": 5,
        "peak_bound": 5, "idle_slot_seconds": 14856, "bound_slot_seconds": 15266,
        "min_warm": 4, "max_warm": 4,
    }  # fmt: skip
    assert_stats(out["nodes"]["a"], want)
    # The live engine, following the same schedule, agrees.
    ref = replay_node(
        [(10.0, "start"), (20.0, "stop"), (3600.0, "start"), (4000.0, "stop")], 4000.0,
        min_warm=0, max_warm=0, schedule=load_overrides(targets)["a"].schedule,
    )  # fmt: skip
    assert (ref.release_ops, ref.bind_ops, ref.idle_slot_seconds) == (5, 2, 14856)


def test_quick_release_at_a_change_and_a_boundary_without_rows(
    write: Write, simulate_json: Sim
) -> None:
    # 0/0 until 01:00, 3/3 from 01:00 to 02:00, 0/0 after; quick release. B starts at 0.
    # t10 start: cold, bind (t12), served at t12 with wait 2.  t3600 (no row there): the
    # change, R1 wants 1+3=4 -> bind 3 (t3602), B=1 K=3; its round: excess 0.
    # t3602 B=4.  t5000 stop: P=0.  t5040 round: excess 4-3=1 -> release 1, B=3.
    # t7200 change to 0/0: its round releases min(3, 3)=3; the tick's round has nothing
    # left.  t7300 start: cold, bind (t7302), wait 2.  t7400 (node b's row) is the end.
    # idle = 3*1398 (3602..5000) + 4*40 (..5040) + 3*2160 (..7200) = 10834
    trace = write("t.csv", "time,node,event\n10,a,start\n5000,a,stop\n7300,a,start\n7400,b,stop")
    targets = write("targets.csv", HEADER + "a,0,0,,2,1\na,3,3,,1,2")
    out = simulate_json(trace, "--targets", str(targets), "--quick-release")
    want = {
        "pod_starts": 2, "warm_hits": 0, "cold_starts": 2, "wait_seconds_sum": 4,
        "bind_ops": 5, "release_ops": 4, "peak_bound": 4, "idle_slot_seconds": 10834,
        "min_warm": 0, "max_warm": 0,
    }  # fmt: skip
    assert_stats(out["nodes"]["a"], want)


def test_the_pool_starts_with_the_hour_of_time_0_of_an_rfc3339_trace(write: Write) -> None:
    # Time 0 is 05:30 UTC (the earliest row, written in +02:00): hour 5 -> 2/2, not
    # hour 0's 0/0. The boundary at 06:00 UTC is t=1800: the change to 0/0 releases
    # one slot (slow), and 1800 = 15 x 120 is a tick: one more. B: 2 -> 0 at 1800.
    trace = write(
        "t.csv",
        "time,node,event\n2026-03-02T07:30:00+02:00,a,start\n2026-03-02T07:30:00+02:00,a,stop\n"
        "2026-03-02T06:40:00Z,a,start",
    )
    loaded = load_trace(trace)
    assert loaded.day_offset() == 5.5 * 3600
    hours = WarmSchedule(tuple(Targets(2, 2) if h == 5 else Targets(0, 0) for h in range(24)))
    result = simulate(loaded, SimulationSettings(), {"a": NodeTargets.scheduled(hours)})
    got = result.nodes["a"]
    # B=2 from 0; start+stop at 0 (R1 after the start binds 1, done t2, B=3); t120
    # round: excess 3-2 -> release, B=2; at 1800: two releases, B=0.  t4200 start:
    # cold, bind, served at 4202; end 4200 -> the pod is still waiting.
    assert (got["min_warm"], got["max_warm"]) == (0, 0)  # hour 0's pair is reported
    assert got["release_ops"] == 3 and got["bind_ops"] == 2 and got["cold_starts"] == 1
    assert got["idle_slot_seconds"] == pytest.approx(2 * 2 + 3 * 118 + 2 * 1680)


def test_a_block_wrapping_past_midnight(write: Write, simulate_json: Sim) -> None:
    # 22,2 -> hours 22, 23, 0, 1 at 3/3; 1/1 the rest. Numeric time 0 is 00:00 UTC:
    # B starts at 3; at 7200 (02:00) the change releases one (slow) and the tick one
    # more: B=1. Nothing else happens up to the end at 7300.
    # idle = 3*7200 + 1*100 = 21700
    trace = write("t.csv", "time,node,event\n7300,a,start\n7300,a,stop")
    targets = write("targets.csv", HEADER + "a,3,3,,22,2\na,1,1,,2,22")
    got = simulate_json(trace, "--targets", str(targets))["nodes"]["a"]
    assert_stats(got, {"min_warm": 3, "max_warm": 3, "release_ops": 2, "idle_slot_seconds": 21700})


@pytest.mark.parametrize(
    ("rows", "line", "problem"),
    [
        ("a,1,1,,3,3", 2, "node 'a': from_hour equals to_hour (3): an empty block"),
        ("a,1,1,,0,12\na,2,2,,13,24", 3, "node 'a': hours not covered: 12-13"),
        ("a,1,1,,0,13\na,2,2,,12,24", 3, "node 'a': hour 12 is covered twice (also by line 2)"),
        ("a,1,1,,0,12\na,2,2,,,", 3, "node 'a': rows with and without from_hour,to_hour are mixed (line 2 has hours)"),
        ("a,1,1,,,\na,2,2,,0,24", 3, "node 'a': rows with and without from_hour,to_hour are mixed (line 2 has none)"),
        ("a,1,1,5,0,12\na,2,2,6,12,24", 3, "node 'a': max_slots 6 differs from line 2's 5 (one max_slots per node)"),
        ("a,1,1,5,0,12\na,2,2,,12,24", 3, "node 'a': max_slots (none) differs from line 2's 5 (one max_slots per node)"),
        ("b,1,1,,0,24\na,1,1,,0,25", 3, "node 'a': to_hour 25 is not 1-24"),
        ("a,1,1,,24,3\na,1,1,,3,24", 2, "node 'a': from_hour 24 is not 0-23"),
        ("a,1,1,,0,", 2, "node 'a': from_hour and to_hour go together: one is empty"),
        ("a,1,1,,x,3", 2, "node 'a': from_hour 'x' is not an integer"),
        ("a,1,1,,,\na,1,1,,,", 3, "node 'a' listed twice"),
    ],
)  # fmt: skip
def test_targets_file_errors_name_the_node_and_line(
    write: Write, rows: str, line: int, problem: str
) -> None:
    path = write("t.csv", HEADER + rows)
    with pytest.raises(TargetsError) as caught:
        load_overrides(path)
    assert str(caught.value) == f"{path}:{line}: {problem}"


def test_a_targets_file_error_is_one_line_exit_2(write: Write) -> None:
    trace = write("t.csv", "time,node,event\n0,a,start")
    targets = write("targets.csv", HEADER + "a,1,1,,0,12\na,2,2,,13,24")
    done = subprocess.run(
        [sys.executable, "-c", "from tuner.cli import main; main()", "simulate", str(trace),
         "--targets", str(targets)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {targets}:3: node 'a': hours not covered: 12-13"
    ]


def test_a_one_block_schedule_is_the_plain_pair(write: Write) -> None:
    path = write("t.csv", HEADER + "a,1,2,7,0,24")
    assert load_overrides(path)["a"] == NodeTargets(Targets(1, 2), 7)
    header_only_hours = write("u.csv", "node,min_warm,max_warm,from_hour\na,1,1,0")
    with pytest.raises(TargetsError, match="from_hour and to_hour go together"):
        load_overrides(header_only_hours)
