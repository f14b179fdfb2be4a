"""`eni-tuner simulate --count-from S`: the whole trace is replayed, statistics count
from S on (docs/contracts/simulation.md). Worked out by hand on one small trace.

m = M = 1, slow release, binds 2 s, rounds at 120 s, 240 s. Whole run:
  t0 start: hit (B=1), P=1; R1 binds 1 (done t2).       t2: B=2.
  t100 two starts: the first hits (P=2), R1 binds 1; the second waits (W=1), R1 binds
  1 more (both done t102).   t102: B=4, the waiter is served after 2 s, P=3.
  t120 round: idle 1 = M, nothing.   t200 stop: P=2.   t240 round: idle 2 > M, B=3.
  t300 start: hit, P=3, R1 binds 1 (done t302, after the end).   end = 300.
  idle  = 0*2 + 1*98 + 0*2 + 1*98 + 2*40 + 1*60 = 336
  bound = 1*2 + 2*98 + 2*2 + 4*98 + 4*40 + 3*60 = 934
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pool_engine.config import Targets
from pool_engine.errors import InputError
from pool_engine.replay import NodeTargets, Run, SimulationSettings, replay
from pool_engine.simulator import simulate
from pool_engine.trace import load_trace
from tuner.cli import cli

HOUR = 3600.0
Sim = Callable[..., dict[str, Any]]
Write = Callable[[str, str], Path]

TRACE = """
time,node,event
0,a,start
100,a,start
100,a,start
200,a,stop
300,a,start
"""
PAIR = ("--min-warm", "1", "--max-warm", "1")


def _check(got: dict[str, Any], want: dict[str, float]) -> None:
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_without_count_from_the_whole_replay_counts(write: Write, simulate_json: Sim) -> None:
    doc = simulate_json(write("t.csv", TRACE), *PAIR)
    assert "count_from" not in doc  # the default document is unchanged
    _check(doc["nodes"]["a"], {"pod_starts": 4, "warm_hits": 3, "cold_starts": 1,
                               "wait_seconds_sum": 2.0, "wait_seconds_max": 2.0,
                               "idle_slot_seconds": 336.0, "bound_slot_seconds": 934.0,
                               "bind_ops": 4, "release_ops": 1, "peak_bound": 4})  # fmt: skip


def test_counting_from_the_middle_of_a_quiet_stretch(write: Write, simulate_json: Sim) -> None:
    # From 150: the start at 300 (a hit, its bind), the release at 240; B is 4 at 150.
    # idle = 1*50 + 2*40 + 1*60 = 190; bound = 4*50 + 4*40 + 3*60 = 540.
    doc = simulate_json(write("t.csv", TRACE), *PAIR, "--count-from", "150")
    assert doc["count_from"] == 150.0 and doc["end"] == 300.0
    _check(doc["nodes"]["a"], {"pod_starts": 1, "warm_hits": 1, "cold_starts": 0,
                               "wait_seconds_sum": 0.0, "wait_seconds_p99": 0.0,
                               "idle_slot_seconds": 190.0, "bound_slot_seconds": 540.0,
                               "bind_ops": 1, "release_ops": 1, "peak_bound": 4,
                               "ignored_events": 0})  # fmt: skip
    _check(doc["total"], {"pod_starts": 1, "idle_slot_seconds": 190.0})


def test_rows_at_the_count_from_instant_count(write: Write, simulate_json: Sim) -> None:
    # From 100: both starts at 100 (a hit and a cold start waiting 2 s), their two
    # binds, the start at 300 and its bind.  idle = 0*2 + 1*98 + 2*40 + 1*60 = 238;
    # bound = 2*2 + 4*98 + 4*40 + 3*60 = 736.
    doc = simulate_json(write("t.csv", TRACE), *PAIR, "--count-from", "100")
    _check(doc["nodes"]["a"], {"pod_starts": 3, "warm_hits": 2, "cold_starts": 1,
                               "wait_seconds_sum": 2.0, "wait_seconds_max": 2.0,
                               "idle_slot_seconds": 238.0, "bound_slot_seconds": 736.0,
                               "bind_ops": 3, "release_ops": 1, "peak_bound": 4})  # fmt: skip


def test_a_pod_that_started_before_count_from_adds_no_wait(write: Write) -> None:
    # From 101: the pod that started at 100 and was served at 102 is not counted: no
    # start, no wait. B is 2 at 101 and 4 from 102: peak 4. idle = 0*1 + 98 + 80 + 60.
    trace = load_trace(write("t.csv", TRACE))
    result = simulate(trace, SimulationSettings(NodeTargets(Targets(1, 1)), count_from=101.0))
    _check(result.nodes["a"], {"pod_starts": 1, "cold_starts": 0, "wait_seconds_sum": 0.0,
                               "wait_seconds_max": 0.0, "idle_slot_seconds": 238.0,
                               "bound_slot_seconds": 2 * 1 + 4 * 98 + 4 * 40 + 3 * 60,
                               "bind_ops": 1, "peak_bound": 4})  # fmt: skip
    assert result.to_json()["count_from"] == 101.0


def test_count_from_at_the_end_counts_the_last_instant_and_past_it_is_refused(
    write: Write, simulate_json: Sim
) -> None:
    trace = write("t.csv", TRACE)
    doc = simulate_json(trace, *PAIR, "--count-from", "300")
    _check(doc["nodes"]["a"], {"pod_starts": 1, "warm_hits": 1, "idle_slot_seconds": 0.0,
                               "bound_slot_seconds": 0.0, "bind_ops": 1, "release_ops": 0,
                               "peak_bound": 3})  # fmt: skip
    done = CliRunner().invoke(cli, ["simulate", str(trace), "--count-from", "301", "-o", "json"])
    assert isinstance(done.exception, InputError) and done.exception.exit_code == 2
    assert str(done.exception).endswith("t.csv: --count-from 301 is past its end (300 s)")


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(1, 5), m=st.integers(0, 4),
       band=st.integers(0, 3), quick=st.booleans())  # fmt: skip
def test_counting_from_an_hour_agrees_with_the_hourly_buckets(
    tmp_path_factory: pytest.TempPathFactory, seed: int, cut: int, m: int, band: int, quick: bool
) -> None:
    """Pod starts, cold starts, idle slot-seconds and waits counted from hour ``cut`` are
    the sums of the replay's hourly buckets from that hour on (two independent books);
    the buckets do not depend on where counting starts."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 80))
    starts = np.sort(rng.uniform(0.0, 6 * HOUR, n))
    rows = [(t, "start") for t in starts] + [(t + rng.exponential(900.0), "stop") for t in starts]
    rows = [(round(t), e) for t, e in rows if t <= 6 * HOUR]
    path = tmp_path_factory.mktemp("c") / "t.csv"
    path.write_text("time,node,event\n" + "".join(f"{t},a,{e}\n" for t, e in sorted(rows)))
    trace = load_trace(path)
    count_from = min(cut, int(trace.end // HOUR)) * HOUR  # an hour boundary within the trace
    pair = NodeTargets(Targets(m, m + band))
    counted = simulate(trace, SimulationSettings(pair, quick, count_from=count_from)).nodes["a"]
    whole = replay(trace, [Run(0, pair)], SimulationSettings(pair, quick), bucket_seconds=HOUR)
    later = whole.buckets[0, int(count_from // HOUR) :].sum(axis=0)
    assert counted["pod_starts"] == later[0] and counted["cold_starts"] == later[1]
    assert counted["idle_slot_seconds"] == pytest.approx(later[2], abs=1e-6)
    assert counted["wait_seconds_sum"] == pytest.approx(later[3], abs=1e-6)
    # and counting from any time leaves the buckets as they were
    late = SimulationSettings(pair, quick, count_from=count_from * 0.77)
    again = replay(trace, [Run(0, pair)], late, bucket_seconds=HOUR)
    np.testing.assert_allclose(again.buckets, whole.buckets, atol=1e-6)
