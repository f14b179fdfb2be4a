"""exporter.band: time outside [min(C, P + m), P + M] counts only beyond what the
rules allow (60 s below; above, the release rounds the excess needs plus one)."""

from __future__ import annotations

import pytest

from exporter.band import Band
from pool_engine.config import Limits, Mode, Targets
from pool_engine.pool import NodePool


def pool(low: int, high: int, *, quick: bool = False, enis: int = 3) -> NodePool:
    return NodePool("n1", Mode.ROUTE_ENI, Targets(low, high), Limits(enis, 9), quick_release=quick)


def run(band: Band, p: NodePool, states: list[tuple[float, int, int]], until: float) -> None:
    """See (time, bound, in use) states in order, then once more at ``until``."""
    for now, bound, in_use in states:
        band.see(p, bound, in_use, now)
    last = states[-1]
    band.see(p, last[1], last[2], until)


def test_at_the_edges_of_the_band_nothing_counts() -> None:
    band, p = Band(), pool(2, 5)
    run(band, p, [(0, 4 + 5, 4), (600, 4 + 2, 4)], until=3600)  # P + M, then P + m
    assert band.seconds("n1", Mode.ROUTE_ENI) == (0.0, 0.0)


def test_below_counts_after_a_minute() -> None:
    band, p = Band(), pool(3, 5)
    run(band, p, [(0, 4, 4), (600, 7, 4), (700, 5, 4)], until=730)
    assert band.seconds("n1", Mode.ROUTE_ENI) == (600 - 60 + 0.0, 0.0)  # back in at 600; 30 s


def test_below_is_against_max_attach_when_it_is_lower() -> None:
    band, p = Band(), pool(5, 10, enis=1)  # C = 9
    run(band, p, [(0, 9, 8)], until=3600)  # P + m = 13 > C: at C is in the band
    assert band.seconds("n1", Mode.ROUTE_ENI) == (0.0, 0.0)


@pytest.mark.parametrize(("quick", "allowed"), [(False, (3 + 1) * 120.0), (True, 2 * 120.0)])
def test_above_counts_after_the_rounds_the_excess_needs_plus_one(
    quick: bool, allowed: float
) -> None:
    band, p = Band(), pool(1, 2, quick=quick)
    run(band, p, [(0, 5, 0)], until=1000)  # 3 above P + M
    assert band.seconds("n1", Mode.ROUTE_ENI) == (0.0, 1000 - allowed)


def test_a_growing_excess_gets_its_rounds_from_when_it_grew() -> None:
    band, p = Band(), pool(0, 0)
    run(band, p, [(0, 1, 0), (200, 3, 0)], until=1000)  # 1 over (240 s), then 3 at 200 s
    assert band.seconds("n1", Mode.ROUTE_ENI) == (0.0, 1000 - (200 + 4 * 120))


def test_forgotten_nodes_start_afresh() -> None:
    band, p = Band(), pool(2, 2)
    run(band, p, [(0, 0, 0)], until=100)
    assert band.seconds("n1", Mode.ROUTE_ENI) == (40.0, 0.0)
    band.forget("n1")
    assert band.seconds("n1", Mode.ROUTE_ENI) is None
