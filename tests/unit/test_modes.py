"""The trace's `mode` column and direct-eni analysis: the pool's own rows, its TKE
defaults (1/1); from a trace every pool binds in `simulate`'s 2 s (from Prometheus without
a measured latency: an ENI attach, 20 s). Without --mode, `recommend --trace` analyses
every pool the trace has rows of."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pool_engine.trace import load_trace
from support.traces import bursty, quiet
from tuner.cli import cli, main


def with_modes(tmp_path: Path) -> Path:
    """Node 'calm' on route-eni (mode left empty: the default), node 'eni' on direct-eni:
    every hour, 4 pods 5 s apart (one per 2 s bind, 4 per 20 s attach)."""
    rows = [(t, n, e, "") for t, n, e in quiet("calm")]
    for h in range(48):
        for j in range(4):
            t = 3600.0 * h + 100.0 + 5.0 * j
            rows += [(t, "eni", "start", "direct-eni"), (t + 900.0, "eni", "stop", "direct-eni")]
    rows.sort(key=lambda r: r[0])
    path = tmp_path / "modes.csv"
    path.write_text("time,node,event,mode\n" + "".join(f"{t:.3f},{n},{e},{m}\n"
                                                       for t, n, e, m in rows))  # fmt: skip
    return path


def recommend(*args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["recommend", *args, "-o", "json"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    document: list[dict[str, Any]] = json.loads(result.stdout)
    return document


def test_each_mode_analyses_its_own_rows(tmp_path: Path) -> None:
    trace = with_modes(tmp_path)
    (route,) = recommend("--trace", str(trace), "--mode", "route-eni")
    assert route["node"] == "calm" and route["current"] == {"min_warm": 5, "max_warm": 5}
    assert route["mode"] == "route-eni"
    (direct,) = recommend("--trace", str(trace), "--mode", "direct-eni")
    assert direct["node"] == "eni" and direct["mode"] == "direct-eni"
    assert direct["current"] == {"min_warm": 1, "max_warm": 1}  # TKE's direct-eni default
    assert direct["lead_time_demand_p99"] == 1.0  # a trace binds in simulate's 2 s
    assert "within a 2 s bind" in direct["reason"]
    (attach,) = recommend("--trace", str(trace), "--mode", "direct-eni", "--bind-latency", "20")
    assert attach["lead_time_demand_p99"] == 4.0  # 4 starts within a 20 s ENI attach


def test_without_mode_every_pool_of_the_trace_is_analysed(tmp_path: Path) -> None:
    trace = with_modes(tmp_path)
    both = recommend("--trace", str(trace))
    one_by_one = [*recommend("--trace", str(trace), "--mode", "route-eni"),
                  *recommend("--trace", str(trace), "--mode", "direct-eni")]  # fmt: skip
    assert [(r["node"], r["mode"]) for r in both] == [("calm", "route-eni"), ("eni", "direct-eni")]
    assert both == one_by_one
    result = CliRunner().invoke(cli, ["recommend", "--trace", str(trace), "-o", "csv"])
    header, *rows = result.stdout.splitlines()
    assert header.startswith("node,") and header.endswith(",mode")
    assert [(r.split(",")[0], r.split(",")[-1]) for r in rows] == [("calm", "route-eni"),
                                                                   ("eni", "direct-eni")]  # fmt: skip


def test_the_whole_file_sets_the_end_and_the_first_instant(tmp_path: Path) -> None:
    trace = load_trace(with_modes(tmp_path), "direct-eni")
    everything = load_trace(with_modes(tmp_path))
    assert trace.nodes == ["eni"] and trace.end == everything.end
    assert trace.first == 17.0  # calm's first start: the file's first instant
    assert load_trace(with_modes(tmp_path)).first is None


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["eni-tuner", *args])
    try:
        main()
    except SystemExit as exited:
        return int(exited.code or 0)
    return 0


def test_a_trace_without_rows_of_the_mode_is_history_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("time,node,event\n" + "".join(f"{t},{n},{e}\n" for t, n, e in bursty("a", 3)))
    code = run_main(monkeypatch, "recommend", "--trace", str(trace), "--mode", "direct-eni")
    err = capsys.readouterr().err
    assert (code, err) == (3, f"error: cannot read history: {trace}: no direct-eni rows "
                              "(its rows are route-eni: --mode route-eni)\n")  # fmt: skip


def test_an_unknown_mode_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("time,node,event,mode\n1,a,start,direct\n")
    code = run_main(monkeypatch, "recommend", "--trace", str(trace))
    err = capsys.readouterr().err
    assert (code, err) == (
        2, f"error: {trace}: unknown mode 'direct' (expected route-eni or direct-eni)\n")  # fmt: skip


def test_simulate_replays_every_row(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["simulate", str(with_modes(tmp_path)), "-o", "json"])
    assert result.exit_code == 0
    assert set(json.loads(result.stdout)["nodes"]) == {"calm", "eni"}
