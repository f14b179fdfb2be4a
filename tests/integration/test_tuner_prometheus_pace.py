"""`eni-tuner recommend --prometheus-url` against a simulated cluster that runs faster than
the clock (`eni-exporter simulate --speed 60`, the README's demo): its engine's bind
latency and release interval are its own seconds, 60 of which pass per second of the
samples' timestamps, so the tuner replays them at 1/60 (`eni_pool_simulation_speed`).

Session 11 (an adversarial review, the README followed against a live exporter and
Prometheus): the tuner replayed 2 s binds and 120 s release rounds on the wall-clock
history, and its "before" figures disagreed with what the exporter itself had measured
(idle 11.0 against `avg_over_time(eni_pool_warm_slots[8m])` 6.1 on one node, cold
starts 0 % against 4.6 %); given `--release-interval 2 --bind-latency 0.05` by hand they
came close. Real Prometheus, backfilled series: two servers with the same churn, one
with the speed gauge and one without.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from support.prom import recommend_run, served_backfill, write_bind_latencies

pytestmark = pytest.mark.prometheus
STEP = 60
DAY = 86400
SPEED = 60.0


def _history(path: Path, t0: int, speed: float | None, other: float | None = None) -> None:
    """One route-eni node at 3/7: 4 pods at once every 10 minutes, stopping 5 minutes
    later (a busier pair of nodes beside it); binds measured between 2.5 and 5 s."""
    last = DAY // STEP
    with path.open("w") as out:
        for family, which in (("eni_pool_pod_starts", 0), ("eni_pool_pod_stops", 1)):
            out.write(f"# TYPE {family} counter\n")
            for node, size in (("a", 4), ("b", 9)):
                for k in range(last + 1):
                    count = size * ((k + (9 if which == 0 else 4)) // 10)
                    out.write(f'{family}_total{{node="{node}",mode="route-eni"}} {count} '
                              f"{t0 + k * STEP}\n")  # fmt: skip
        for family, value in (("eni_pool_min_warm_target", 3), ("eni_pool_max_warm_target", 7)):
            out.write(f"# TYPE {family} gauge\n")
            for node in ("a", "b"):
                for k in range(0, last + 1, 4):
                    out.write(f'{family}{{node="{node}",mode="route-eni"}} {value} '
                              f"{t0 + k * STEP}\n")  # fmt: skip
        write_bind_latencies(out, t0, STEP, last)
        if speed is not None:
            out.write("# TYPE eni_pool_simulation_speed gauge\n")
            for k in range(0, last + 1, 4):
                out.write(f'eni_pool_simulation_speed{{instance="x"}} {speed} {t0 + k * STEP}\n')
                if other is not None:  # a second exporter, at another speed
                    out.write(f'eni_pool_simulation_speed{{instance="y"}} {other} '
                              f"{t0 + k * STEP}\n")  # fmt: skip
        out.write("# EOF\n")


fast = served_backfill("pace", lambda path, t0: _history(path, t0, SPEED))
plain = served_backfill("plain", lambda path, t0: _history(path, t0, None))


def _recommend(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
               served: tuple[str, int], *args: str) -> tuple[dict[str, Any], str]:  # fmt: skip
    url, t0 = served
    start = datetime.fromtimestamp(t0, UTC).isoformat()
    end = datetime.fromtimestamp(t0 + DAY, UTC).isoformat()
    return recommend_run(monkeypatch, capsys, "--prometheus-url", url, "--start", start,
                         "--end", end, "--step", str(STEP), "--mode", "route-eni",
                         *args)  # fmt: skip


def test_a_sped_up_cluster_is_replayed_at_its_own_pace(
    fast: tuple[str, int], plain: tuple[str, int], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    recs, err = _recommend(monkeypatch, capsys, fast)
    by_hand, _ = _recommend(monkeypatch, capsys, plain, "--bind-latency", str(3.75 / SPEED),
                            "--release-interval", str(120.0 / SPEED))  # fmt: skip
    unscaled, _ = _recommend(monkeypatch, capsys, plain)
    assert "within a 0.0625 s bind" in recs["a"]["reason"]  # the median 3.75 s / 60
    assert "60x" in err and "0.0625 s" in err and "2 s" in err, err
    for node in ("a", "b"):
        assert recs[node]["expected_before"] == by_hand[node]["expected_before"]
        assert (recs[node]["min_warm"], recs[node]["max_warm"]) == (
            by_hand[node]["min_warm"], by_hand[node]["max_warm"])  # fmt: skip
    assert recs["a"]["expected_before"] != unscaled["a"]["expected_before"]


stopped = served_backfill("stopped", lambda path, t0: _history(path, t0, 0.0))


def test_a_speed_that_is_no_speed_is_said_and_the_history_replayed_as_it_is(
    stopped: tuple[str, int], plain: tuple[str, int], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    recs, err = _recommend(monkeypatch, capsys, stopped)
    unscaled, _ = _recommend(monkeypatch, capsys, plain)
    assert "eni_pool_simulation_speed 0 is no speed" in err, err
    assert recs["a"]["expected_before"] == unscaled["a"]["expected_before"]


mixed = served_backfill("mixed", lambda path, t0: _history(path, t0, SPEED, 3600.0))


def test_exporters_at_different_speeds_are_said_and_the_fastest_is_taken(
    mixed: tuple[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    recs, err = _recommend(monkeypatch, capsys, mixed)
    assert "exporters of simulated clusters at 60x to 3600x" in err, err
    assert "within a 0.00104 s bind" in recs["a"]["reason"]  # 3.75 s / 3600
