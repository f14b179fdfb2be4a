"""A recorded cluster without daily structure (`eni-exporter simulate --workload flat`):
`recommend --schedule` must not trade cold starts for idle on any node. An outside check
saw three of its seven nodes scheduled, each with more cold starts than its all-day pair
(0.39% -> 0.64%, 0.47% -> 0.92%, 0.46% -> 0.74%)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_flat_churn_is_never_scheduled_at_the_price_of_cold_starts(tmp_path: Path) -> None:
    trace = tmp_path / "flat.csv"
    subprocess.run(
        [sys.executable, "-c", "from exporter.cli import main; main()", "simulate",
         "--workload", "flat", "--nodes", "8", "--speed", "max", "--duration", "604800",
         "--record", str(trace), "--listen", "none"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", "from tuner.cli import main; main()", "recommend", "--trace",
         str(trace), "--schedule", "-o", "json"],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    nodes = json.loads(done.stdout)
    assert nodes
    for node in nodes:
        forecast = node["forecast"]
        assert forecast["schedule"]["cold_starts"] <= forecast["all_day"]["cold_starts"], node
