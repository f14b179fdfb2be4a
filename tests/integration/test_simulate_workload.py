"""`eni-exporter simulate --workload`: the daily routines in the recorded trace, and the
steady workload as the default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pool_engine.daily_load import RngOfDay, routines
from pool_engine.events import START
from pool_engine.trace import Trace, load_trace
from pool_engine.workload import WorkloadSpec, node_sizes

EXPORTER = [sys.executable, "-c", "from exporter.cli import main; main()"]


def test_workload_daily_records_each_nodes_job_at_its_hour_and_steady_is_the_default(
    tmp_path: Path,
) -> None:
    """--workload daily adds the nodes' daily routines to the recorded churn: a job's
    pods start on its node at its UTC time on each of the two days, on top of the
    steady churn, which the routines leave as it was; without --workload the trace is
    the steady one, row for row."""
    traces = {}
    for name, extra in (("daily", ["--workload", "daily"]), ("steady", ["--workload", "steady"]),
                        ("default", [])):  # fmt: skip
        traces[name] = tmp_path / f"{name}.csv"
        done = subprocess.run(
            [*EXPORTER, "simulate", "--nodes", "6", "--seed", "4", "--speed", "max",
             "--duration", "172800", *extra, "--record", str(traces[name]), "--listen", "none"],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert traces["default"].read_bytes() == traces["steady"].read_bytes()
    daily, steady = load_trace(traces["daily"]), load_trace(traces["steady"])
    assert traces["daily"].read_text().splitlines()[0] == "time,node,event,pod,mode"
    drawn = routines(4, node_sizes(WorkloadSpec(nodes=6, seed=4)))
    checked = 0
    for k, routine in enumerate(drawn):
        for job in routine.jobs:
            if f"node-{k:04d}" not in daily.nodes:
                continue
            for day in (0, 1):
                lo = day * 86400 + job.at
                hi = lo + job.jitter + 10.0
                got = _starts_between(daily, f"node-{k:04d}", lo, hi)
                background = _starts_between(steady, f"node-{k:04d}", lo, hi)
                ours = routine.pods(RngOfDay(4, k), 0.0, 172800.0).starts
                assert got == background + int(((ours >= lo) & (ours <= hi)).sum())
                assert got >= background + job.pods
                checked += 1
    assert checked >= 2


def _starts_between(trace: Trace, node: str, lo: float, hi: float) -> int:
    times, kinds = trace.node_rows(trace.nodes.index(node))
    return int(((times >= lo) & (times <= hi) & (kinds == START)).sum())
