"""Where a counter went back, its level is read at that instant for the nodes that went
back alone (adversarial review, session 8): the level query answers every node, and a
long-running exporter's counter (over 50 pods a second of a step, 3,000 at 60 s steps,
since it started) was taken for a count and dropped, so one exporter restart anywhere
printed "dropped N values ... (NaN, +-Inf, negative or absurd)" for every other busy
node, at every instant where a counter went back. Six hours at 60 s steps: node
``busy``'s exporter has counted 10,000 pods before the window, node ``reset``'s restarts
at RESET; both see 4 pods start every 10 minutes and stop 5 minutes later.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from support.prom import served_backfill, write_pool_gauges

pytestmark = pytest.mark.prometheus
STEP = 60
STEPS = 6 * 3600 // STEP
RESET = STEPS // 2 + 1
"""A step with starts: the restarted counters already hold 4 when first scraped."""
BEFORE = 10_000
"""Pods ``busy``'s exporter counted before the window."""


def counts(k: int) -> tuple[int, int]:
    """Cumulative (starts, stops) after step k."""
    return 4 * ((k + 9) // 10), 4 * ((k + 4) // 10)


def write_openmetrics(path: Path, t0: int) -> None:
    with path.open("w") as out:
        for family, which in (("eni_pool_pod_starts", 0), ("eni_pool_pod_stops", 1)):
            out.write(f"# TYPE {family} counter\n")
            for node in ("busy", "reset"):
                for k in range(STEPS + 1):
                    value = counts(k)[which] + (BEFORE if node == "busy" else 0)
                    if node == "reset" and k >= RESET:  # a new process counts from 0
                        value = counts(k)[which] - counts(RESET - 1)[which]
                    labels = f'node="{node}",mode="route-eni",job="eni-exporter"'
                    out.write(f"{family}_total{{{labels}}} {value} {t0 + k * STEP}\n")
        labels = [
            f'node="{node}",mode="route-eni",job="eni-exporter"' for node in ("busy", "reset")
        ]
        write_pool_gauges(out, labels, t0, STEP, STEPS)
        out.write("# EOF\n")


served = served_backfill("levels", write_openmetrics)


def test_a_restart_drops_no_level_of_another_node(
    served: tuple[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tuner.cli import main

    url, t0 = served
    start = datetime.fromtimestamp(t0, UTC).isoformat()
    end = datetime.fromtimestamp(t0 + STEPS * STEP, UTC).isoformat()
    monkeypatch.setattr(sys, "argv", ["eni-tuner", "recommend", "--prometheus-url", url,
                                      "--start", start, "--end", end, "--step", str(STEP),
                                      "-o", "json"])  # fmt: skip
    try:
        main()
    except SystemExit as exited:
        assert exited.code in (0, None)
    captured = capsys.readouterr()
    assert "dropped" not in captured.err
    recs = {r["node"]: r for r in json.loads(captured.out)}
    expected = counts(STEPS)[0] - counts(0)[0]
    assert recs["busy"]["pod_starts"] == recs["reset"]["pod_starts"] == expected
