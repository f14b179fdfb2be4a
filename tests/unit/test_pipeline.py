"""tuner.pipeline: each command as load -> analyse -> render, timed on stderr; the
history sources and their errors; main()'s one-line errors and exit codes."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pool_engine.config import Mode
from pool_engine.errors import HistoryUnavailable, InputError
from support.traces import bursty, quiet, trace_text
from tuner import pipeline, prometheus, queries
from tuner.cli import main
from tuner.output import APPLY, BACKTEST, RECOMMEND, SIMULATE, OutputFormat
from tuner.pipeline import RecommendReport, SimulationReport
from tuner.prometheus import PrometheusSource
from tuner.settings import ObjectiveSettings, ReplaySettings
from tuner.sources import PrometheusHistory, TraceHistory
from tuner.window import Window

NOW = datetime(2024, 5, 6, tzinfo=UTC)


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(trace_text(quiet("calm") + bursty("busy", 8)))
    return path


def test_recommend_loads_analyses_and_renders_once(
    trace: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[list[RecommendReport]] = []
    caplog.set_level(logging.DEBUG, logger="tuner")
    replay = ReplaySettings(min_warm=2, max_warm=3)
    reports = pipeline.recommend(TraceHistory(trace), replay, ObjectiveSettings(), 1.0, seen.append)
    assert seen == [reports]
    (report,) = reports  # one pool: the trace's rows are all route-eni
    assert report.mode is Mode.ROUTE_ENI and report.objective == "cold starts <= 1.00%"
    recs = {r.node: r for r in report.recommendations}
    assert set(recs) == {"busy", "calm"}
    assert (recs["calm"].current.min_warm, recs["calm"].current.max_warm) == (2, 3)
    messages = [r.getMessage() for r in caplog.records]
    # 1,344 rows, less calm's first start: a pod already there when the history begins
    assert messages[0].startswith("loaded 1,343 events of 2 route-eni nodes (48.3 h) in ")
    assert messages[1].startswith("analysed 2 nodes in ") and messages[1].endswith(": 2 to change")
    assert messages[2].startswith("rendered in ")
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.INFO, logging.DEBUG]


def test_simulate_warns_about_targets_of_unknown_nodes(
    trace: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    targets = tmp_path / "targets.csv"
    targets.write_text("node,min_warm,max_warm\nbusy,8,9\nghost,1,1\n")
    seen: list[SimulationReport] = []
    caplog.set_level(logging.INFO, logger="tuner")
    report = pipeline.simulate(trace, ReplaySettings(targets_file=targets), None, seen.append)
    assert seen == [report]
    assert report.result.nodes["busy"]["min_warm"] == 8
    assert report.result.nodes["calm"]["min_warm"] == 5
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"warning: 1 node(s) in {targets} are not in the trace (first: ghost)"]


def test_every_command_has_the_same_output_formats() -> None:
    """table, wide, json, yaml and csv everywhere; kubectl lines only for ``recommend``."""
    assert list(RECOMMEND) == list(OutputFormat)
    shared = [f for f in OutputFormat if f is not OutputFormat.KUBECTL]
    for renderers in (APPLY, BACKTEST, SIMULATE):
        assert list(renderers) == shared


def test_the_queries_follow_the_metrics_source() -> None:
    exporter = queries.churn_queries(queries.MetricsSource.EXPORTER, 30, "direct-eni")
    assert exporter == queries.exporter(30, "direct-eni") and exporter.stops is not None
    ksm = queries.churn_queries(queries.MetricsSource.KUBE_STATE_METRICS, 60, "direct-eni")
    assert ksm == queries.kube_state_metrics(60, "direct-eni") and ksm.stops is None
    assert ksm != queries.kube_state_metrics(60, "route-eni")  # the mode counts for both


def unreachable(**options: object) -> PrometheusHistory:
    server = PrometheusSource("http://127.0.0.1:9", retries=0, timeout=2.0, **options)  # type: ignore[arg-type]
    window = Window(NOW - timedelta(hours=1), NOW, 30)
    return PrometheusHistory(server, queries.MetricsSource.EXPORTER, window)


def test_an_unreachable_prometheus_is_history_unavailable() -> None:
    with pytest.raises(HistoryUnavailable) as caught:
        unreachable().load(Mode.ROUTE_ENI)
    assert str(caught.value).startswith("cannot read history: http://127.0.0.1:9: ")
    assert caught.value.exit_code == 3


def test_an_empty_window_is_history_unavailable() -> None:
    server = PrometheusSource("http://127.0.0.1:9")
    with pytest.raises(HistoryUnavailable, match="window is empty"):
        prometheus.load(server, queries.exporter(30), Window(NOW, NOW, 30))


def test_a_missing_token_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        unreachable(bearer_token_file=tmp_path / "token").load(Mode.ROUTE_ENI)
    assert str(caught.value) == f"{tmp_path / 'token'}: No such file or directory"
    assert caught.value.exit_code == 2


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["eni-tuner", *args])
    try:
        main()
    except SystemExit as exited:
        return int(exited.code or 0)
    return 0


def test_main_prints_our_errors_on_one_line_with_their_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = run_main(monkeypatch, "recommend", "--prometheus-url", "http://127.0.0.1:9",
                    "--retries", "0", "--start", "-1h")  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3 and err.startswith("error: cannot read history: http://127.0.0.1:9: ")
    assert len(err.strip().splitlines()) == 1
    code = run_main(monkeypatch, "simulate", str(tmp_path / "nope.csv"))
    assert (code, capsys.readouterr().err) == (2, f"error: {tmp_path / 'nope.csv'}: no such file\n")


def test_main_prints_click_errors_on_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(monkeypatch, "recommend") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "give one history source: --trace or --prometheus-url" in err
    assert "--help" in err
    assert run_main(monkeypatch, "--help") == 0
    assert "Size per-node ENI/IP warm pools" in capsys.readouterr().out
