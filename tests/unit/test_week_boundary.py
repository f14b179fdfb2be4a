"""The simulated cluster draws its churn a chunk at a time (a week), and the chunks must
not show in what it records. Before, each chunk ended with every running pod stopped
and the next began with its deployments' replicas started at one instant: on the flat
two-week trace of 50 nodes (seed 1), 721 stops and 196 starts at t = 604,800 s, a
redeploy-everything spike at the very middle that the schedule protocol splits on. Now
the pods running at a chunk's end run on into the next one, which starts none of them
again. The recorded traces here are three days of a small cluster drawn a day at a
time (short to run); the churn model's own weeks are chained over three weeks."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from exporter.simcluster import ClusterSettings, SimulatedCluster
from pool_engine.events import START, STOP
from pool_engine.podtable import PodTable
from pool_engine.workload import DAY, NodeChurn, Workload, generate, generate_chunk

HOUR = 3600.0
WEEK = 7 * DAY
CHUNK_DAYS = 1.0
DAYS = 3.0
BOUNDARIES = (DAY, 2 * DAY)


def record(tmp: Path, seed: int, days: float = DAYS) -> Path:
    """``days`` of a small flat cluster, its churn drawn a day at a time."""
    path = tmp / f"seed-{seed}.csv"
    settings = ClusterSettings(nodes=6, seed=seed, chunk_days=CHUNK_DAYS, workload=Workload.FLAT)
    cluster = SimulatedCluster(settings, record=path)
    cluster.advance(days * DAY)
    cluster.close()
    return path


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record(tmp_path_factory.mktemp("weeks"), seed=1)


def rows(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """time, event and pod of every row."""
    with path.open(newline="", encoding="utf-8") as f:
        body = list(csv.DictReader(f))
    times = np.array([float(r["time"]) for r in body])
    return times, np.array([r["event"] for r in body]), np.array([r["pod"] for r in body])


def around(times: np.ndarray, at: float, half: float) -> int:
    return int(((times >= at - half) & (times <= at + half)).sum())


@pytest.mark.parametrize("event", ["start", "stop"])
@pytest.mark.parametrize("half", [0.5, 5.0])
def test_a_chunk_boundary_is_an_hour_like_any_other(trace: Path, event: str, half: float) -> None:
    """Starts (stops) within ``half`` seconds of a boundary are of the order of those
    around every other full hour (cron fan-outs come on the hour)."""
    times, events, _ = rows(trace)
    t = times[events == event]
    hours = [h for h in np.arange(HOUR, DAYS * DAY, HOUR) if h not in BOUNDARIES]
    usual = np.array([around(t, h, half) for h in hours])
    ceiling = 2 * np.percentile(usual, 90) + 5
    at_boundaries = [around(t, b, half) for b in BOUNDARIES]
    assert max(at_boundaries) <= ceiling, (at_boundaries, ceiling, int(usual.max()))


def test_pods_run_on_across_a_chunk_boundary(trace: Path) -> None:
    """Of the pods running a second before a boundary, nearly all still run a second
    after it (a service lives 25 minutes at the median; deployments' replicas for days)."""
    times, events, pods = rows(trace)
    start = dict(zip(pods[events == "start"], times[events == "start"], strict=True))
    stop = dict(zip(pods[events == "stop"], times[events == "stop"], strict=True))
    for b in BOUNDARIES:
        before = [p for p, t in start.items() if t < b - 1 and stop.get(p, np.inf) > b - 1]
        after = [p for p in before if stop.get(p, np.inf) > b + 1]
        assert len(before) > 30
        assert len(after) >= 0.9 * len(before), (b, len(before), len(after))


def test_a_seed_gives_one_trace_across_chunks(trace: Path, tmp_path: Path) -> None:
    assert record(tmp_path, seed=1).read_bytes() == trace.read_bytes()
    other = record(tmp_path, seed=2, days=1.25).read_bytes()
    assert other != trace.read_bytes()[: len(other)]


def weeks(workload: Workload, n: int = 3) -> list[list[NodeChurn]]:
    """The simulated cluster's first ``n`` weeks of churn, each from the week before's
    carry, in the history's time."""
    cluster = SimulatedCluster(ClusterSettings(nodes=12, seed=5, workload=workload))
    out, carry = [], None
    for chunk in range(n):
        churn, carry = generate_chunk(cluster.week_spec(chunk), carry)
        offset = chunk * WEEK
        out.append([replace(c, times=c.times + offset) for c in churn])
    return out


@pytest.mark.parametrize("workload", list(Workload))
def test_weekly_chunks_of_churn_read_as_one_history(workload: Workload) -> None:
    """Per node, over three weeks: each pod starts once and stops at most once, after
    its start; pods started in one week stop in the next, and the deployments' replicas
    are not started again at a week's start."""
    chunks = weeks(workload)
    for k in range(12):
        times = np.concatenate([week[k].times for week in chunks])
        kinds = np.concatenate([week[k].kinds for week in chunks])
        pods = np.concatenate([week[k].pods for week in chunks])
        started, stopped = pods[kinds == START], pods[kinds == STOP]
        assert np.unique(started).size == started.size and np.isin(stopped, started).all()
        assert np.unique(stopped).size == stopped.size
        began = dict(zip(started.tolist(), times[kinds == START].tolist(), strict=True))
        ended = zip(stopped.tolist(), times[kinds == STOP].tolist(), strict=True)
        assert all(began[pod] <= t for pod, t in ended)
        for boundary in (WEEK, 2 * WEEK):  # the old code started every replica there
            assert int((times == boundary).sum()) <= 1, (k, boundary)
    carried = 0
    for chunk, week in enumerate(chunks[1:], start=1):
        began = {p for c in chunks[chunk - 1] for p in c.pods[c.kinds == START].tolist()}
        carried += sum(int(np.isin(c.pods[c.kinds == STOP], list(began)).sum()) for c in week)
    assert carried > 100


def test_a_routines_pods_keep_their_own_stops_across_weeks() -> None:
    """Three weeks drawn a week at a time hold each routine pod as one three-week draw
    does, stops included (they used to be cut at the week's end)."""
    chunks = weeks(Workload.DAILY)
    cluster = SimulatedCluster(ClusterSettings(nodes=12, seed=5, workload=Workload.DAILY))
    whole = generate(replace(cluster.week_spec(0), days=21.0))
    checked = 0
    for k, one in enumerate(whole):
        for kind in (START, STOP):
            ours = np.concatenate(
                [w[k].times[(w[k].kinds == kind) & w[k].routine_rows()] for w in chunks]
            )
            theirs = one.times[(one.kinds == kind) & one.routine_rows()]
            assert ours.size == theirs.size
            np.testing.assert_allclose(np.sort(ours), np.sort(theirs), atol=2e-3)
            checked += ours.size
    assert checked > 1000


def test_a_chunk_leaves_the_next_its_running_pods_and_those_still_to_start() -> None:
    inf = np.inf
    table = PodTable(
        starts=np.array([-inf, 10.0, 50.0, 90.0, 120.0]),
        stops=np.array([20.0, 130.0, inf, 95.0, 200.0]),
        ids=np.array([7, -1, -1, -1, -1]),
        requests=np.array([100, 200, 300, 400, 500]),
        routine=np.array([False, True, False, False, False]),
        slots=np.array([-1, -1, 0, -1, -1]),
    )
    table, next_pod = table.numbered(100.0, first=40)
    assert table.ids.tolist() == [7, 40, 41, 42, -1] and next_pod == 43
    times, kinds, pods, requests, routine = table.rows(100.0)
    assert times.tolist() == [10.0, 20.0, 50.0, 90.0, 95.0]
    assert kinds.tolist() == [START, STOP, START, START, STOP]
    assert pods.tolist() == [40, 7, 41, 42, 42]
    assert requests.tolist() == [200, 100, 300, 400, 400] and routine.tolist()[0]
    left = table.after(100.0)  # the chunk after: ids, stops and requests kept
    assert left.starts.tolist() == [-inf, -inf, 20.0] and left.stops.tolist() == [30.0, inf, 100.0]
    assert left.ids.tolist() == [40, 41, -1] and left.requests.tolist() == [200, 300, 500]
    assert left.replicas().tolist() == [1] and left.routine.tolist() == [True, False, False]
