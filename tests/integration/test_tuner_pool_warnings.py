"""`eni-tuner recommend --prometheus-url` without --mode reads each pool on its own (since
5457bce): the warnings about a pool's series name the pool, so that the two of each
(a window longer than the data; values that are no counts, dropped) can be told apart.
Found by an adversarial review of 5457bce: each was printed twice in the same words, the
route-eni pool's before its "loaded ... route-eni nodes" line and the direct-eni pool's
right after route-eni's analysis, where it read as route-eni's.

Real Prometheus, backfilled: one day at 60 s steps of node `r` (route-eni) and node `d`
(direct-eni), 4 pod starts every 10 minutes stopping 5 minutes later; each pool's start
counter is +Inf at two steps (r) or one (d)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from support.prom import recommend_run, served_backfill

pytestmark = pytest.mark.prometheus
STEP = 60
DAY = 86400
NODES = {"r": ("route-eni", (300, 301)), "d": ("direct-eni", (600,))}
"""Node: its pool and the steps where its start counter is +Inf."""


def write_openmetrics(path: Path, t0: int) -> None:
    last = DAY // STEP
    with path.open("w") as out:
        for family, lag in (("eni_pool_pod_starts", 9), ("eni_pool_pod_stops", 4)):
            out.write(f"# TYPE {family} counter\n")
            for node, (mode, bad) in NODES.items():
                for k in range(last + 1):
                    bad_here = family.endswith("starts") and k in bad
                    value = "+Inf" if bad_here else 4 * ((k + lag) // 10)
                    out.write(f'{family}_total{{node="{node}",mode="{mode}"}} {value} '
                              f"{t0 + k * STEP}\n")  # fmt: skip
        for family, value in (("eni_pool_min_warm_target", 1), ("eni_pool_max_warm_target", 1),
                              ("eni_pool_max_attach_slots", 9), ("eni_pool_in_use_slots", 0),
                              ("eni_pool_waiting_pods", 0)):  # fmt: skip
            out.write(f"# TYPE {family} gauge\n")
            for node, (mode, _) in NODES.items():
                for k in range(0, last + 1, 4):
                    out.write(f'{family}{{node="{node}",mode="{mode}"}} {value} '
                              f"{t0 + k * STEP}\n")  # fmt: skip
        out.write("# EOF\n")


served = served_backfill("pool-warnings", write_openmetrics)


def warnings(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str,
             t0: int, *args: str) -> list[str]:  # fmt: skip
    """stderr's warning lines of `recommend` over two days (the data holds one)."""
    start = datetime.fromtimestamp(t0, UTC).isoformat()
    end = datetime.fromtimestamp(t0 + 2 * DAY, UTC).isoformat()
    _, err = recommend_run(monkeypatch, capsys, "--prometheus-url", url, "--start", start,
                           "--end", end, "--step", str(STEP), *args)  # fmt: skip
    return [line for line in err.splitlines() if line.startswith("warning:")]


def test_without_mode_each_pools_warnings_name_the_pool(
    served: tuple[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, t0 = served
    lines = warnings(monkeypatch, capsys, url, t0)
    window = [line for line in lines if "the window asks for 48.0 h" in line]
    dropped = [line for line in lines if line.startswith("warning: dropped ")]
    assert len(window) == 2 and len(dropped) == 2, lines
    assert window[0].endswith("of any route-eni node")
    assert window[1].endswith("of any direct-eni node")
    assert dropped[0].endswith("in the route-eni series")
    assert dropped[1].endswith("in the direct-eni series")
    assert len(set(lines)) == len(lines)  # none twice in the same words


def test_with_mode_the_one_pools_warnings_name_it(
    served: tuple[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, t0 = served
    lines = warnings(monkeypatch, capsys, url, t0, "--mode", "direct-eni")
    assert len(lines) == 2, lines
    assert all("direct-eni" in line and "route-eni" not in line for line in lines)
