"""Five small traces whose `eni-tuner simulate -o json` output was worked out by hand.

Notation: B bound, K binds in flight, P pods holding a slot, W waiting pods,
m/M min/max warm, C max slots. Binds take 2 s, rounds tick at 120 s, 240 s, ...
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Sim = Callable[..., dict[str, Any]]
Write = Callable[[str, str], Path]


def assert_stats(got: dict[str, Any], want: dict[str, Any]) -> None:
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_growth_and_slow_release(write: Write, simulate_json: Sim) -> None:
    # Defaults m=5, M=5, slow release. B starts at 5.
    # t0 start: hit, P=1; R1 wants 6 -> bind 1 (done t2).   t1 start: hit, P=2, bind 1 (t3).
    # t2 B=6, t3 B=7.  t10: five starts, idle 7-2=5 -> five hits, P=7; R1 after each -> 5 binds
    # (t12).  t11 stop: P=6.  t12: B=12.  t120 round: excess 12-(6+5)=1 -> release 1, B=11.
    # t240 round: excess 11-11=0.  t300 stop: P=5; end=300.
    # idle  = 4*1 + 3*1 + 4*1 + 5*7 + 0*1 + 1*1 + 6*108 + 5*180 = 1595
    # bound = 5*2 + 6*1 + 7*7 + 12*2... = 10 + 6 + 49 + 14 + 12*108 + 11*180 = 3355
    trace = write(
        "t1.csv",
        """
time,node,event,pod
0,a,start,p1
1,a,start,p2
10,a,start,p3
10,a,start,p4
10,a,start,p5
10,a,start,p6
10,a,start,p7
11,a,stop,p1
300,a,stop,p2
""",
    )
    out = simulate_json(trace)
    assert out["end"] == 300
    want = {
        "pod_starts": 7, "warm_hits": 7, "cold_starts": 0, "wait_seconds_sum": 0,
        "wait_seconds_max": 0, "wait_seconds_p99": 0, "idle_slot_seconds": 1595,
        "bound_slot_seconds": 3355, "bind_ops": 7, "release_ops": 1, "peak_bound": 12,
        "ignored_events": 0, "min_warm": 5, "max_warm": 5,
    }  # fmt: skip
    assert_stats(out["nodes"]["a"], want)
    want.pop("min_warm"), want.pop("max_warm")
    assert out["total"] == pytest.approx(want)


def test_on_demand_quick_release_waiter_removal_and_ignored_stop(
    write: Write, simulate_json: Sim
) -> None:
    # m=0, M=0, quick. B=0.
    # t0 start: cold, W=1, bind (t2).  t1 start: cold, W=2, bind (t3).
    # t2: B=1, pod@0 served, wait 2.  t3: B=2, pod@1 served, wait 2.  t5 stop: P=1.
    # t100 start: hit, P=2.  t110 stop: P=1.  t120 round: excess 2-1=1 -> release 1, B=1.
    # t130 stop: P=0.  t200 stop: nothing running or waiting -> ignored.
    # t240 round: excess 1 -> release, B=0.  t250 start: cold, bind (t252).
    # t251 stop: no running pod -> the newest waiter leaves (a cold start, never served).
    # t252: B=1, nobody waiting.  t260 start: hit; end=260.
    # waits served: 2, 2; p99 over [0, 0, 2, 2]: pos 0.99*3=2.97 -> 2.
    # idle  = 1*95 (5..100) + 1*10 (110..120) + 1*110 (130..240) + 1*8 (252..260) = 223
    # bound = 1*1 + 2*2 + 2*95 + 2*20 + 1*120 + 1*8 = 363
    trace = write(
        "t2.csv",
        """
time,node,event
0,a,start
1,a,start
5,a,stop
100,a,start
110,a,stop
130,a,stop
200,a,stop
250,a,start
251,a,stop
260,a,start
""",
    )
    out = simulate_json(trace, "--min-warm", "0", "--max-warm", "0", "--quick-release")
    assert_stats(
        out["nodes"]["a"],
        {
            "pod_starts": 5, "warm_hits": 2, "cold_starts": 3, "wait_seconds_sum": 4,
            "wait_seconds_max": 2, "wait_seconds_p99": 2, "idle_slot_seconds": 223,
            "bound_slot_seconds": 363, "bind_ops": 3, "release_ops": 2, "peak_bound": 2,
            "ignored_events": 1, "min_warm": 0, "max_warm": 0,
        },
    )  # fmt: skip


def test_max_slots_cap_hands_a_stopped_pods_slot_to_the_oldest_waiter(
    write: Write, simulate_json: Sim
) -> None:
    # m=1, M=2, C=2. B=min(2,1)=1.
    # t0 start: hit, P=1; R1 wants min(2, 1+1)=2 -> bind 1 (t2).
    # t0 start, t0 start: W=1, W=2; R1 wants min(2, ...)=2 = B+K -> nothing more.
    # t2: B=2, first waiter served (wait 2), W=1.  t10 stop: its slot goes straight to
    # the last waiter (wait 10).  t20 stop: P=1.  t30 stop: P=0; end=30.
    # p99 over [0, 2, 10]: pos 1.98 -> 2 + 0.98*8 = 9.84
    # idle = 1*10 (20..30) = 10;  bound = 1*2 + 2*28 = 58
    trace = write(
        "t3.csv",
        """
time,node,event
0,a,start
0,a,start
0,a,start
10,a,stop
20,a,stop
30,a,stop
""",
    )
    out = simulate_json(trace, "--min-warm", "1", "--max-warm", "2", "--max-slots", "2")
    assert_stats(
        out["nodes"]["a"],
        {
            "pod_starts": 3, "warm_hits": 1, "cold_starts": 2, "wait_seconds_sum": 12,
            "wait_seconds_max": 10, "wait_seconds_p99": 9.84, "idle_slot_seconds": 10,
            "bound_slot_seconds": 58, "bind_ops": 1, "release_ops": 0, "peak_bound": 2,
        },
    )  # fmt: skip


TWO_NODES = """
time,node,event
0,a,start
0,a,start
0,a,start
0,a,start
50,a,stop
50,a,stop
50,a,stop
50,a,stop
130,b,start
"""


@pytest.mark.parametrize(
    ("flags", "a_idle", "a_bound", "a_releases"),
    [
        # t120 round, excess 5-(0+1)=4: quick releases 4 (B=1), slow releases 1 (B=4).
        # idle  = 1*48 (2..50) + 5*70 (50..120) + B*10 (120..130)
        # bound = 1*2 + 5*118 + B*10
        (["--quick-release"], 48 + 350 + 10, 2 + 590 + 10, 4),
        ([], 48 + 350 + 40, 2 + 590 + 40, 1),
    ],
)
def test_quick_and_slow_release_and_totals(
    write: Write, simulate_json: Sim, flags: list[str], a_idle: float, a_bound: float,
    a_releases: int,
) -> None:  # fmt: skip
    # m=M=1. Node a: B=1. Four starts at t0: one hit, three wait; R1 after each asks one
    # more bind (4 binds, all done at t2, serving the three waiters with 2 s waits).
    # t50: four stops, P=0, idle 5. End is node b's row at t130 for both nodes.
    # Node b: B=1 idle until its start at t130: idle = bound = 130, one bind requested.
    # Total p99 over [0, 0, 2, 2, 2] (two hits, three 2 s waits): pos 3.96 -> 2.
    trace = write("t4.csv", TWO_NODES)
    out = simulate_json(trace, "--min-warm", "1", "--max-warm", "1", *flags)
    assert out["end"] == 130
    assert_stats(
        out["nodes"]["a"],
        {
            "pod_starts": 4, "warm_hits": 1, "cold_starts": 3, "wait_seconds_sum": 6,
            "wait_seconds_p99": 2, "idle_slot_seconds": a_idle, "bound_slot_seconds": a_bound,
            "bind_ops": 4, "release_ops": a_releases, "peak_bound": 5,
        },
    )  # fmt: skip
    assert_stats(
        out["nodes"]["b"],
        {"pod_starts": 1, "warm_hits": 1, "idle_slot_seconds": 130, "bound_slot_seconds": 130,
         "bind_ops": 1, "peak_bound": 1, "wait_seconds_p99": 0},
    )  # fmt: skip
    assert_stats(
        out["total"],
        {
            "pod_starts": 5, "warm_hits": 2, "cold_starts": 3, "wait_seconds_sum": 6,
            "wait_seconds_max": 2, "wait_seconds_p99": 2, "idle_slot_seconds": a_idle + 130,
            "bound_slot_seconds": a_bound + 130, "bind_ops": 5, "release_ops": a_releases,
            "peak_bound": 5, "ignored_events": 0,
        },
    )  # fmt: skip


def test_rfc3339_unsorted_rows_ties_in_file_order_and_targets_file(
    write: Write, simulate_json: Sim
) -> None:
    # Times relative to the earliest (10:00:00Z); 18:00:01+08:00 is 10:00:01Z -> t1.
    # Sorted: t0 start, t1 start, t5 stop, t5 start (the tie keeps file order).
    # Targets file: a has m=0, M=1. B=0.
    # t0 start: cold, bind (t2).  t1 start: cold, bind (t3).  t2: served, wait 2.
    # t3: served, wait 2.  t5 stop: P=1, idle 1.  t5 start: hit.  end=5.
    # (Had the start come before the stop, it would have been a third cold start.)
    # idle = 0;  bound = 1*1 (2..3) + 2*2 (3..5) = 5;  p99 over [0, 2, 2]: 2
    trace = write(
        "t5.csv",
        """
time,node,event,pod
2024-05-01T10:00:05Z,a,stop,p1
2024-05-01T10:00:00Z,a,start,p1
2024-05-01T10:00:05Z,a,start,p2
2024-05-01T18:00:01+08:00,a,start,p3
""",
    )
    targets = write("targets.csv", "node,min_warm,max_warm\na,0,1")
    out = simulate_json(trace, "--targets", str(targets))
    assert out["end"] == 5
    assert_stats(
        out["nodes"]["a"],
        {
            "pod_starts": 3, "warm_hits": 1, "cold_starts": 2, "wait_seconds_sum": 4,
            "wait_seconds_max": 2, "wait_seconds_p99": 2, "idle_slot_seconds": 0,
            "bound_slot_seconds": 5, "bind_ops": 2, "release_ops": 0, "peak_bound": 2,
            "min_warm": 0, "max_warm": 1,
        },
    )  # fmt: skip


def test_targets_without_max_slots_keep_the_default_max_slots(
    write: Write, simulate_json: Sim
) -> None:
    # a: m=3 from the file, C=2 from --max-slots: B starts at min(2, 3) = 2 and never
    # exceeds 2, so three starts at t0 give two hits and one pod waiting to the end.
    trace = write("t.csv", "time,node,event\n0,a,start\n0,a,start\n0,a,start\n10,a,stop\n")
    targets = write("targets.csv", "node,min_warm,max_warm,max_slots\na,3,3,\n")
    out = simulate_json(trace, "--targets", str(targets), "--max-slots", "2")
    a = out["nodes"]["a"]
    assert (a["min_warm"], a["peak_bound"], a["warm_hits"], a["cold_starts"]) == (3, 2, 2, 1)
    assert a["wait_seconds_max"] == 10  # the stop at t10 hands its slot to the waiter
