"""`eni-tuner backtest`: totals that agree with the analysis, and the PNG/HTML report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from support.traces import bursty, quiet, trace_text
from tuner.cli import cli


def test_backtest_totals_and_reports(write: Callable[[str, str], Path], tmp_path: Path) -> None:
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
    assert "data:image/png;base64," in html and "<td>recommended</td>" in html


def test_backtest_with_given_targets(write: Callable[[str, str], Path]) -> None:
    trace = write("t.csv", trace_text(bursty("busy", 8)))
    targets = write("rec.csv", "node,min_warm,max_warm\nbusy,1,1\n")
    result = CliRunner().invoke(cli, ["backtest", "--trace", str(trace), "--recommended",
                                      str(targets), "-o", "json"])  # fmt: skip
    totals = json.loads(result.stdout)
    assert totals["recommended"]["cold_starts"] > totals["current"]["cold_starts"]
