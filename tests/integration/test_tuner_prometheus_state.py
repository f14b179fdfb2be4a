"""`eni-tuner recommend --prometheus-url` reads each node's own history span, the
targets, max-attach and bind latency its exporter published, and survives values that
are no counts (NaN, +-Inf, 1e300), on the real Prometheus with backfilled series.

One day at 60 s steps: node `a` the whole day with targets 3/7 and max-attach 6; node
`late` from midday; node `d` a direct-eni pool at 1/1; node `bad`, whose counters
jump to +Inf and 1e300 and whose pod gauge is NaN. Bind latencies (the cloud API
histogram) sit between 2.5 and 5 s.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from support.prom import recommend_run, served_backfill, write_bind_latencies
from tuner.cli import main

pytestmark = pytest.mark.prometheus
STEP = 60
DAY = 86400
LATE = DAY // 2


def bursts(k: int) -> tuple[int, int]:
    """Cumulative (starts, stops) after step k: 4 starts at once every 10 minutes,
    stopping 5 minutes later."""
    return 4 * ((k + 9) // 10), 4 * ((k + 4) // 10)


def write_openmetrics(path: Path, t0: int) -> None:
    last = DAY // STEP
    nodes = {"a": ("route-eni", 0), "late": ("route-eni", LATE // STEP),
             "d": ("direct-eni", 0), "bad": ("route-eni", 0)}  # fmt: skip
    targets = {"a": (3, 7, 6), "late": (3, 7, 6), "d": (1, 1, 9), "bad": (3, 7, 6)}
    with path.open("w") as out:
        for family, which in (("eni_pool_pod_starts", 0), ("eni_pool_pod_stops", 1)):
            out.write(f"# TYPE {family} counter\n")
            for node, (mode, first) in nodes.items():
                for k in range(first, last + 1):
                    value: str = str(bursts(k - first)[which])
                    if node == "bad" and which == 0 and k in (300, 301):
                        value = "+Inf"
                    if node == "bad" and which == 0 and k == 600:
                        value = "1e300"
                    out.write(f'{family}_total{{node="{node}",mode="{mode}"}} {value} '
                              f"{t0 + k * STEP}\n")  # fmt: skip
        gauges = (("eni_pool_min_warm_target", 0), ("eni_pool_max_warm_target", 1),
                  ("eni_pool_max_attach_slots", 2))  # fmt: skip
        for family, j in gauges:
            out.write(f"# TYPE {family} gauge\n")
            for node, (mode, first) in nodes.items():
                for k in range(first, last + 1, 4):
                    out.write(f'{family}{{node="{node}",mode="{mode}"}} {targets[node][j]} '
                              f"{t0 + k * STEP}\n")  # fmt: skip
        for family in ("eni_pool_in_use_slots", "eni_pool_waiting_pods"):
            out.write(f"# TYPE {family} gauge\n")
            for node, (mode, first) in nodes.items():
                value = "NaN" if node == "bad" and family == "eni_pool_in_use_slots" else "0"
                out.write(f'{family}{{node="{node}",mode="{mode}"}} {value} {t0 + first * STEP}\n')
        write_bind_latencies(out, t0, STEP, last)
        out.write("# EOF\n")


served = served_backfill("state", write_openmetrics)


def recommend(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str,
              t0: int, *args: str, days: int = 1) -> tuple[dict[str, Any], str]:  # fmt: skip
    start = datetime.fromtimestamp(t0, UTC).isoformat()
    end = datetime.fromtimestamp(t0 + days * DAY, UTC).isoformat()
    return recommend_run(monkeypatch, capsys, "--prometheus-url", url, "--start", start,
                         "--end", end, "--step", str(STEP), *args)  # fmt: skip


def test_each_node_has_its_own_history_and_its_published_targets(
    served: tuple[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, t0 = served
    recs, err = recommend(monkeypatch, capsys, url, t0, "--mode", "route-eni", days=2)
    assert set(recs) == {"a", "late", "bad"}
    # first samples are found on the subquery grid (2 days / 250), which is aligned to the
    # clock, not to the data: up to two steps late; and the figure is rounded to 0.1 h
    late = 2 * (2 * DAY / 250 / 3600) + 0.05
    assert 24.0 - late <= recs["a"]["history_hours"] <= 24.0
    assert 12.0 - late <= recs["late"]["history_hours"] <= 12.0
    for rec in recs.values():
        assert rec["current"] == {"min_warm": 3, "max_warm": 7}
        assert rec["history_hours"] <= 24.0
    # the figure is rounded to 0.1 h and found on the subquery grid, which moves with the clock
    held = re.search(
        r"the window asks for 48\.0 h of history; the data holds at most ([0-9.]+) h", err
    )
    assert held is not None, err
    assert 24.0 - late <= float(held.group(1)) <= 24.0
    assert err.count("the window asks for") == 1


def test_never_above_the_published_max_attach_and_the_measured_latency(
    served: tuple[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, t0 = served
    recs, _ = recommend(monkeypatch, capsys, url, t0, "--min-history", "0",
                        "--max-cold-start-rate", "0.1%")  # fmt: skip
    for rec in recs.values():
        assert rec["max_warm"] <= 6
    assert recs["a"]["status"] in ("recommended", "unchanged")
    assert "within a 3.75 s bind" in recs["a"]["reason"]  # the histogram's median


def test_direct_eni_nodes_have_their_defaults_and_an_eni_attach(
    served: tuple[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, t0 = served
    recs, _ = recommend(monkeypatch, capsys, url, t0, "--mode", "direct-eni")
    assert set(recs) == {"d"}
    assert recs["d"]["current"] == {"min_warm": 1, "max_warm": 1}
    assert "within a 20 s bind" in recs["d"]["reason"]


def test_without_mode_every_pool_with_churn_is_recommended(
    served: tuple[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As from a trace (session 9): route-eni's nodes, then direct-eni's, each as its
    --mode gives them."""
    url, t0 = served
    both, err = recommend(monkeypatch, capsys, url, t0)
    route, _ = recommend(monkeypatch, capsys, url, t0, "--mode", "route-eni")
    direct, _ = recommend(monkeypatch, capsys, url, t0, "--mode", "direct-eni")
    assert list(both) == [*route, *direct] and set(direct) == {"d"}
    assert both == {**route, **direct}
    assert {r["mode"] for r in route.values()} == {"route-eni"}
    assert both["d"]["mode"] == "direct-eni" and both["d"]["current"] == {"min_warm": 1,
                                                                          "max_warm": 1}  # fmt: skip
    assert "route-eni nodes" in err and "direct-eni nodes" in err


def test_values_that_are_no_counts_are_dropped_and_counted(
    served: tuple[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, t0 = served
    recs, err = recommend(monkeypatch, capsys, url, t0)
    lines = [line for line in err.splitlines() if "dropped" in line]
    assert len(lines) == 1 and "that are no counts (NaN, +-Inf, negative or absurd)" in lines[0]
    assert recs["bad"]["pod_starts"] < 1000  # neither +Inf nor 1e300 became pod starts


def test_a_node_whose_data_falls_between_the_subquery_points_is_not_given_the_window(
    served: tuple[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A window of 400 days puts the first/last-sample subqueries 1.6 days apart, so a
    day of data is missed between two of them; the node was then given the whole window
    as its history (9,600 h), past --min-history and apply's guard (adversarial review,
    session 5). Its span now comes from what the range queries saw of it."""
    url, t0 = served
    start = datetime.fromtimestamp(t0 - 399 * DAY, UTC).isoformat()
    end = datetime.fromtimestamp(t0 + DAY, UTC).isoformat()
    monkeypatch.setattr(sys, "argv", ["eni-tuner", "recommend", "--prometheus-url", url,
                                      "--start", start, "--end", end, "--step", "600",
                                      "--mode", "route-eni", "-o", "json"])  # fmt: skip
    try:
        main()
    except SystemExit as exited:
        assert exited.code in (0, None)
    recs = {r["node"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(recs) == {"a", "late", "bad"}
    for rec in recs.values():
        assert rec["history_hours"] <= 24.1, rec
    assert recs["late"]["history_hours"] <= 12.1
